// Random training batches (nanoGPT's get_batch): B windows at uniform random starts, inputs x[t] and targets x[t+1].
namespace MLNetGpt.Models.Data;

/// <summary>Draws batches of windows from a token corpus with a seeded generator whose state can be saved and restored.</summary>
public sealed class BatchSampler
{
    private readonly int[] _tokens;

    private BatchSampler(int[] tokens, int batchSize, int blockSize, SplitMixRandom random)
    {
        _tokens = tokens; BatchSize = batchSize; BlockSize = blockSize; Random = random;
    }

    /// <summary>Rows per batch B.</summary>
    public int BatchSize { get; }

    /// <summary>Window length T.</summary>
    public int BlockSize { get; }

    /// <summary>The generator (its <see cref="SplitMixRandom.State"/> is what a checkpoint saves).</summary>
    public SplitMixRandom Random { get; }

    /// <summary>
    /// Creates a sampler. The corpus needs at least <paramref name="blockSize"/> + 1 tokens (one window and its shifted targets);
    /// <paramref name="corpusName"/> names it in that error ("train", "val").
    /// </summary>
    public static BatchSampler Create(int[] tokens, int batchSize, int blockSize, ulong seed, string corpusName = "corpus")
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Batch size must be at least 1.");
        if (blockSize < 1) throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "Block size must be at least 1.");
        if (tokens.Length == 0) throw new ArgumentException($"The {corpusName} corpus is empty.", nameof(tokens));
        if (tokens.Length < blockSize + 1)
            throw new ArgumentException($"The {corpusName} corpus has {tokens.Length} tokens, fewer than block size + 1 = {blockSize + 1}.", nameof(tokens));
        return new BatchSampler(tokens, batchSize, blockSize, SplitMixRandom.Create(seed));
    }

    /// <summary>Fills inputs[B,T] and targets[B,T] with B windows starting at uniform positions in [0, len - T).</summary>
    public void Next(Span<int> inputs, Span<int> targets)
    {
        int t = BlockSize;
        for (int r = 0; r < BatchSize; r++)
        {
            int start = Random.NextInt(_tokens.Length - t);
            _tokens.AsSpan(start, t).CopyTo(inputs.Slice(r * t, t));
            _tokens.AsSpan(start + 1, t).CopyTo(targets.Slice(r * t, t));
        }
    }
}
