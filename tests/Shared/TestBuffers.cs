// Seeded random buffers shared by the kernel test projects.
namespace MLNetGpt.Testing;

public static class TestBuffers
{
    /// <summary>n floats uniform in [-scale, scale), from <paramref name="seed"/>.</summary>
    public static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    /// <summary>n ints uniform in [0, max), from <paramref name="seed"/>.</summary>
    public static int[] RandomInts(int n, int seed, int max)
    {
        var rng = new Random(seed);
        var a = new int[n];
        for (int i = 0; i < n; i++) a[i] = rng.Next(max);
        return a;
    }
}
