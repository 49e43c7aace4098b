// One CudaBackend on ILGPU's CPU accelerator for the whole test assembly (creating one compiles every kernel), and helpers.
// The backend is not thread-safe, so this assembly's tests run one at a time.
[assembly: Microsoft.VisualStudio.TestTools.UnitTesting.DoNotParallelize]

namespace MLNetGpt.Tensors.Cuda.Tests;

[TestClass]
public static class Gpu
{
    private static CudaBackend? s_backend;

    /// <summary>The shared backend on the CPU accelerator.</summary>
    public static CudaBackend Backend => s_backend ??= CudaBackend.CreateOnCpuAccelerator();

    [AssemblyCleanup]
    public static void Cleanup() => s_backend?.Dispose();

    public static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    public static int[] RandomInts(int n, int seed, int max)
    {
        var rng = new Random(seed);
        var a = new int[n];
        for (int i = 0; i < n; i++) a[i] = rng.Next(max);
        return a;
    }

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tol, string what) =>
        MLNetGpt.Testing.FloatAssert.Close(expected, actual, tol, what);

    public static void AssertBitwise(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what) =>
        MLNetGpt.Testing.FloatAssert.Bitwise(expected, actual, what);
}
