// The OpenAI encodings whose rank files we load: each fixes a split pattern and a set of special tokens.
namespace MLNetGpt.Tokenizers;

/// <summary>A tiktoken encoding: which split pattern and special tokens go with a <c>.tiktoken</c> rank file.</summary>
public enum TiktokenEncoding
{
    /// <summary>GPT-2: <see cref="SplitPattern.Gpt2"/>, <c>&lt;|endoftext|&gt;</c> = 50256, 50,257 ids.</summary>
    Gpt2 = 0,

    /// <summary>r50k_base: the same ranks, pattern and special token as <see cref="Gpt2"/>.</summary>
    R50kBase = 1,

    /// <summary>cl100k_base: <see cref="SplitPattern.Cl100k"/>, <c>&lt;|endoftext|&gt;</c> = 100257, fim prefix/middle/suffix = 100258–100260, <c>&lt;|endofprompt|&gt;</c> = 100276.</summary>
    Cl100kBase = 2,
}

/// <summary>Pattern and special tokens of each <see cref="TiktokenEncoding"/>.</summary>
internal static class TiktokenEncodings
{
    public static SplitPattern Pattern(TiktokenEncoding encoding) => encoding switch
    {
        TiktokenEncoding.Gpt2 or TiktokenEncoding.R50kBase => SplitPattern.Gpt2,
        TiktokenEncoding.Cl100kBase => SplitPattern.Cl100k,
        _ => throw new ArgumentOutOfRangeException(nameof(encoding), encoding, "Unknown tiktoken encoding."),
    };

    public static Dictionary<string, int> SpecialTokens(TiktokenEncoding encoding) => encoding switch
    {
        TiktokenEncoding.Gpt2 or TiktokenEncoding.R50kBase => new() { ["<|endoftext|>"] = 50256 },
        TiktokenEncoding.Cl100kBase => new()
        {
            ["<|endoftext|>"] = 100257,
            ["<|fim_prefix|>"] = 100258,
            ["<|fim_middle|>"] = 100259,
            ["<|fim_suffix|>"] = 100260,
            ["<|endofprompt|>"] = 100276,
        },
        _ => throw new ArgumentOutOfRangeException(nameof(encoding), encoding, "Unknown tiktoken encoding."),
    };

    /// <summary>Ordinary tokens the rank file must hold.</summary>
    public static int ExpectedRanks(TiktokenEncoding encoding) => encoding == TiktokenEncoding.Cl100kBase ? 100256 : 50256;
}
