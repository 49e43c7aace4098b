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

    public static float[] Random(int n, int seed, float scale = 1f) => MLNetGpt.Testing.TestBuffers.Random(n, seed, scale);

    public static int[] RandomInts(int n, int seed, int max) => MLNetGpt.Testing.TestBuffers.RandomInts(n, seed, max);

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tol, string what) =>
        MLNetGpt.Testing.FloatAssert.Close(expected, actual, tol, what);

    public static void AssertBitwise(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what) =>
        MLNetGpt.Testing.FloatAssert.Bitwise(expected, actual, what);
}
