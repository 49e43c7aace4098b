// The nanoGPT train/validation split: the first 90% of the corpus trains, the contiguous last 10% validates.
namespace MLNetGpt.Models.Data;

/// <summary>Contiguous train/validation split of a token sequence.</summary>
public static class DataSplit
{
    /// <summary>
    /// Splits <paramref name="tokens"/> at ⌊n·<paramref name="trainFraction"/>⌋ (default 0.9): the head trains, the tail validates.
    /// </summary>
    public static (int[] Train, int[] Validation) TrainValidation(ReadOnlySpan<int> tokens, double trainFraction = 0.9)
    {
        if (tokens.Length == 0) throw new ArgumentException("Cannot split an empty token sequence.", nameof(tokens));
        if (!(trainFraction > 0 && trainFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(trainFraction), trainFraction, "Train fraction must be in (0, 1).");
        int n = (int)(tokens.Length * trainFraction);
        return (tokens[..n].ToArray(), tokens[n..].ToArray());
    }
}
