// Comparisons of float buffers shared by the kernel test projects (CPU and GPU backends against the reference).
namespace MLNetGpt.Testing;

public static class FloatAssert
{
    /// <summary>
    /// Asserts |expected - actual| ≤ tol·max(1, max|expected|) for every element (scaled by the buffer's magnitude: kernels
    /// that sum in another order than the reference differ by a few float roundings, ≈1e-7 relative each).
    /// </summary>
    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tol, string what)
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

    /// <summary>Asserts that every element has the same bits.</summary>
    public static void Bitwise(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.AreEqual(expected.Length, actual.Length, what + " length");
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}[{i}]: {expected[i]} vs {actual[i]} differ bitwise.");
    }
}
