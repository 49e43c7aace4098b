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

    /// <summary>
    /// Asserts |expected - actual| ≤ tol·max(1, max|expected|) element by element: a relative tolerance on the buffer's scale.
    /// Kernels that sum in another order than the reference differ by a few float roundings (≈1e-7 relative each).
    /// </summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tol, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, what + " length");
        double scale = 1;
        foreach (float e in expected) scale = Math.Max(scale, Math.Abs(e));
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs((double)expected[i] - actual[i]);
            if (!(err <= tol * scale))
                Assert.Fail($"{what}[{i}]: expected {expected[i]}, got {actual[i]} (err {err:G3}, scale {scale:G3}).");
        }
    }

    public static void AssertBitwise(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, what + " length");
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}[{i}]: {expected[i]} vs {actual[i]} differ bitwise.");
    }
}
