// Options of the byte-level BPE trainer, with documented defaults.
namespace MLNetGpt.Tokenizers;

/// <summary>What <see cref="BpeTokenizer.Train"/> learns.</summary>
public sealed record BpeTrainerOptions
{
    /// <summary>
    /// Size of the learned vocabulary: 256 byte tokens plus <c>VocabularySize - 256</c> merges (minbpe's <c>vocab_size</c>).
    /// Special tokens come on top, with ids from <c>VocabularySize</c> on. Must be at least 256. Default 512.
    /// Training stops early (fewer merges) when no adjacent pair is left.
    /// </summary>
    public int VocabularySize { get; init; } = 512;

    /// <summary>How the corpus is split into chunks; pairs never cross chunks. Default <see cref="SplitPattern.Gpt4"/> (minbpe's default).</summary>
    public SplitPattern Pattern { get; init; } = SplitPattern.Gpt4;

    /// <summary>
    /// Special tokens, in id order (ids <c>VocabularySize</c>, <c>VocabularySize + 1</c>, ...). Their strings in the corpus
    /// separate chunks and are not learned from. Default none.
    /// </summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = [];

    internal void Validate()
    {
        if (VocabularySize < 256)
            throw new ArgumentOutOfRangeException(nameof(VocabularySize), VocabularySize, "VocabularySize must be at least 256 (the byte tokens).");
        if (Pattern is null) throw new ArgumentNullException(nameof(Pattern));
        if (SpecialTokens is null) throw new ArgumentNullException(nameof(SpecialTokens));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < SpecialTokens.Count; i++)
        {
            if (string.IsNullOrEmpty(SpecialTokens[i]))
                throw new ArgumentException($"SpecialTokens[{i}] is null or empty.", nameof(SpecialTokens));
            if (!seen.Add(SpecialTokens[i]))
                throw new ArgumentException($"SpecialTokens[{i}] '{SpecialTokens[i]}' is listed twice.", nameof(SpecialTokens));
        }
    }
}
