// The pre-tokenization (split) patterns: none, GPT-2, GPT-4/cl100k, GPT-4o/o200k (hand-written matchers), or a custom .NET regex.
using System.Text.RegularExpressions;

namespace MLNetGpt.Tokenizers;

/// <summary>
/// How text is split into pieces before byte-level BPE; merges never cross piece boundaries.
/// The built-in GPT-2, cl100k and o200k patterns run as hand-written matchers over code points (exact on astral
/// characters, where a .NET <see cref="Regex"/> on UTF-16 is not); <see cref="Custom"/> runs a .NET regex.
/// </summary>
public sealed class SplitPattern
{
    /// <summary>tiktoken's gpt2 / r50k_base pattern (npm tiktoken 1.0.22 text).</summary>
    public const string Gpt2Regex = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>tiktoken's cl100k_base pattern (npm tiktoken 1.0.22 text).</summary>
    public const string Cl100kRegex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>tiktoken's o200k_base pattern (Python tiktoken's <c>openai_public.py</c>, the seven alternatives joined by '|').</summary>
    public const string O200kRegex =
        @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
        + @"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
        + @"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Equivalent spellings of the built-in patterns (Python tiktoken's possessive forms, minbpe's GPT-4 pattern).</summary>
    private static readonly Dictionary<string, SplitPatternKind> KnownSpellings = new(StringComparer.Ordinal)
    {
        [Gpt2Regex] = SplitPatternKind.Gpt2,
        [@"'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"] = SplitPatternKind.Gpt2,
        [@"'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"] = SplitPatternKind.Gpt2,
        [Cl100kRegex] = SplitPatternKind.Cl100k,
        [@"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"] = SplitPatternKind.Cl100k,
        [@"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"] = SplitPatternKind.Cl100k,
        [O200kRegex] = SplitPatternKind.O200k,
        // Microsoft.ML.Tokenizers' TiktokenTokenizer spellings (atomic groups for Python's possessive quantifiers).
        [@"'(?:[sdmt]|ll|ve|re)| ?(?>\p{L}+)| ?(?>\p{N}+)| ?(?>[^\s\p{L}\p{N}]+)|(?>\s+)$|\s+(?!\S)|\s"] = SplitPatternKind.Gpt2,
        [@"'(?i:[sdmt]|ll|ve|re)|(?>[^\r\n\p{L}\p{N}]?)(?>\p{L}+)|(?>\p{N}{1,3})| ?(?>[^\s\p{L}\p{N}]+)(?>[\r\n]*)|(?>\s+)$|\s*[\r\n]|\s+(?!\S)|\s"] = SplitPatternKind.Cl100k,
    };

    private SplitPattern(SplitPatternKind kind, string name, string? regex)
    {
        Kind = kind;
        Name = name;
        RegexText = regex;
        if (kind == SplitPatternKind.Custom)
            CompiledRegex = new Regex(regex!, RegexOptions.CultureInvariant | RegexOptions.Compiled);
    }

    /// <summary>No split: the whole text (between special tokens) is one piece (minbpe's BasicTokenizer).</summary>
    public static SplitPattern None { get; } = new(SplitPatternKind.None, "none", null);

    /// <summary>GPT-2 (= r50k_base) pattern, <see cref="Gpt2Regex"/>.</summary>
    public static SplitPattern Gpt2 { get; } = new(SplitPatternKind.Gpt2, "gpt2", Gpt2Regex);

    /// <summary>GPT-4 (= cl100k_base, minbpe's default) pattern, <see cref="Cl100kRegex"/>.</summary>
    public static SplitPattern Gpt4 { get; } = new(SplitPatternKind.Cl100k, "cl100k", Cl100kRegex);

    /// <summary>Same as <see cref="Gpt4"/>.</summary>
    public static SplitPattern Cl100k => Gpt4;

    /// <summary>GPT-4o (= o200k_base) pattern, <see cref="O200kRegex"/>: case-aware words that keep a contraction suffix.</summary>
    public static SplitPattern O200k { get; } = new(SplitPatternKind.O200k, "o200k", O200kRegex);

    /// <summary>
    /// A pattern from its regex text. The spellings of the GPT-2, cl100k and o200k patterns used by tiktoken (npm and
    /// Python) and minbpe map to the built-in matchers; any other text becomes a .NET <see cref="Regex"/>
    /// (matches on UTF-16, text between matches is dropped as tiktoken's <c>find_iter</c> does).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="regex"/> is empty or not a valid .NET regex.</exception>
    public static SplitPattern Custom(string regex)
    {
        ArgumentException.ThrowIfNullOrEmpty(regex);
        if (KnownSpellings.TryGetValue(regex, out var kind))
            return kind switch { SplitPatternKind.Gpt2 => Gpt2, SplitPatternKind.Cl100k => Gpt4, _ => O200k };
        try
        {
            return new SplitPattern(SplitPatternKind.Custom, "custom", regex);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Split pattern '{regex}' is not a valid .NET regex: {e.Message}", nameof(regex), e);
        }
    }

    /// <summary>A built-in pattern by name ("none", "gpt2", "cl100k"/"gpt4", "o200k"/"gpt4o"; encoding names work too).</summary>
    public static SplitPattern FromName(string name) => name switch
    {
        "none" => None,
        "gpt2" or "r50k_base" or "p50k_base" => Gpt2,
        "cl100k" or "gpt4" or "cl100k_base" => Gpt4,
        "o200k" or "gpt4o" or "o200k_base" => O200k,
        _ => throw new ArgumentException($"Unknown split pattern name '{name}'; expected none, gpt2, cl100k or o200k.", nameof(name)),
    };

    /// <summary>"none", "gpt2", "cl100k", "o200k" or "custom".</summary>
    public string Name { get; }

    /// <summary>The regex text (null for <see cref="None"/>).</summary>
    public string? RegexText { get; }

    internal SplitPatternKind Kind { get; }

    internal Regex? CompiledRegex { get; }

    /// <summary>Splits <paramref name="text"/> into its pieces (for inspection and tests; encoders split without allocating).</summary>
    public IReadOnlyList<string> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = new List<string>();
        if (Kind == SplitPatternKind.Custom)
        {
            foreach (var m in CompiledRegex!.EnumerateMatches(text)) pieces.Add(text.Substring(m.Index, m.Length));
            return pieces;
        }
        var utf8 = Text.Utf8Conversion.GetBytes(text);
        var pos = 0;
        while (pos < utf8.Length)
        {
            var end = NextPieceEnd(utf8, pos);
            pieces.Add(Text.Utf8Conversion.GetString(utf8.AsSpan(pos, end - pos)));
            pos = end;
        }
        return pieces;
    }

    /// <summary>End of the piece at <paramref name="pos"/> for the state-machine kinds.</summary>
    internal int NextPieceEnd(ReadOnlySpan<byte> utf8, int pos) => Kind switch
    {
        SplitPatternKind.Gpt2 => PreTokenization.Gpt2PreTokenizer.NextPieceEnd(utf8, pos),
        SplitPatternKind.Cl100k => PreTokenization.Cl100kPreTokenizer.NextPieceEnd(utf8, pos),
        SplitPatternKind.O200k => PreTokenization.O200kPreTokenizer.NextPieceEnd(utf8, pos),
        SplitPatternKind.None => utf8.Length,
        _ => throw new InvalidOperationException("A custom pattern splits UTF-16 text with its regex."),
    };

    /// <inheritdoc/>
    public override string ToString() => RegexText is null ? Name : $"{Name}: {RegexText}";
}

/// <summary>Which splitter runs.</summary>
internal enum SplitPatternKind
{
    None,
    Gpt2,
    Cl100k,
    O200k,
    Custom,
}
