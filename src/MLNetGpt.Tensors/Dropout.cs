// Counter-based dropout mask: keep(seed, i) is a pure hash, so masks are reproducible, thread-count independent and need no storage.
namespace MLNetGpt.Tensors;

/// <summary>The dropout mask shared by every backend.</summary>
public static class Dropout
{
    /// <summary>
    /// True when element <paramref name="index"/> is kept for dropout probability <paramref name="p"/> under <paramref name="seed"/>.
    /// SplitMix64 finalizer over (seed, index); the top 24 bits give a uniform u in [0,1) and the element is kept when u ≥ p.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool Keep(ulong seed, long index, float p)
    {
        ulong z = seed + 0x9E3779B97F4A7C15UL * (ulong)(index + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        float u = (z >> 40) * (1.0f / (1 << 24));
        return u >= p;
    }
}
