// Helpers for kernel tests: seeded random buffers, finite-difference gradient checks and magnitude-scaled comparisons.
namespace MLNetGpt.Tensors.Tests;

internal static class TestUtil
{
    public static float[] Random(int n, int seed, float scale = 1f) => MLNetGpt.Testing.TestBuffers.Random(n, seed, scale);

    public static int[] RandomInts(int n, int seed, int max) => MLNetGpt.Testing.TestBuffers.RandomInts(n, seed, max);

    /// <summary>Σ a·g in double: the scalar "loss" whose gradient with respect to a is g.</summary>
    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> g)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * g[i];
        return s;
    }

    /// <summary>
    /// Central differences of <paramref name="loss"/> with respect to every element of <paramref name="x"/> (at most
    /// <paramref name="maxChecks"/> spread over the buffer), compared with <paramref name="analytic"/> with a tolerance scaled by
    /// the largest analytic gradient.
    /// </summary>
    public static void CheckGradient(string name, float[] x, float[] analytic, Func<double> loss, float h = 1e-2f, double rtol = 1e-2, int maxChecks = 400)
    {
        double scale = 1e-3;
        foreach (float g in analytic) scale = Math.Max(scale, Math.Abs(g));
        int step = Math.Max(1, x.Length / maxChecks);
        for (int i = 0; i < x.Length; i += step)
        {
            float orig = x[i];
            x[i] = orig + h; double lp = loss();
            x[i] = orig - h; double lm = loss();
            x[i] = orig;
            double numeric = (lp - lm) / ((double)(orig + h) - (orig - h));
            double err = Math.Abs(numeric - analytic[i]);
            if (err > rtol * scale + rtol * Math.Abs(analytic[i]))
                Assert.Fail($"{name}[{i}]: analytic {analytic[i]} vs numeric {numeric} (scale {scale}).");
        }
    }

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tol, string what) =>
        MLNetGpt.Testing.FloatAssert.Close(expected, actual, tol, what);

    public static void AssertBitwise(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what) =>
        MLNetGpt.Testing.FloatAssert.Bitwise(expected, actual, what);
}
