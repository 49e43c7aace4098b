// A tiny seeded random generator whose whole state is one ulong, so checkpoints can save and restore it exactly.
namespace MLNetGpt.Models.Data;

/// <summary>
/// SplitMix64: fast, statistically adequate for batch sampling and token sampling, and its state is a single
/// <see cref="ulong"/> (<see cref="State"/>) so a checkpoint can resume the exact same stream.
/// </summary>
public sealed class SplitMixRandom
{
    private const ulong Gamma = 0x9E3779B97F4A7C15UL;

    private SplitMixRandom(ulong state) => State = state;

    /// <summary>The whole generator state; assigning it restores a saved stream.</summary>
    public ulong State { get; set; }

    /// <summary>Creates a generator from a seed (the seed is scrambled, so seeds 0, 1, 2... give unrelated streams).</summary>
    public static SplitMixRandom Create(ulong seed) => new(Mix(seed + Gamma));

    /// <summary>Derives an independent seed from a seed and a stream id (for example a row id or a step number).</summary>
    public static ulong Derive(ulong seed, ulong stream) => Mix(Mix(seed + Gamma) ^ Mix(stream * 0xD1B54A32D192ED03UL + 0x632BE59BD9B4E019UL));

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        State += Gamma;
        return Mix(State);
    }

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>) (Lemire's multiply-shift, bias below 2^-32 for our sizes).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "Upper bound must be positive.");
        return (int)(((NextUInt64() >> 32) * (ulong)maxExclusive) >> 32);
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A standard normal sample (Box–Muller; the second value is discarded to keep the state a single ulong).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(); // (0,1]: log is finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
