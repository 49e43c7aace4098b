// Reference splitter: the tiktoken patterns run by .NET Regex. Correct on BMP text only (UTF-16 code units); a test oracle.
using System.Text.RegularExpressions;

namespace MLNetGpt.Tokenizers.PreTokenization;

/// <summary>
/// Splits with <see cref="Regex"/> and the npm tiktoken patterns. .NET's \s equals Unicode White_Space, but \p{L}/\p{N}
/// see each half of a surrogate pair as Cs, so astral letters and digits split differently from tiktoken: use only
/// as a reference on text without surrogates.
/// </summary>
internal static class RegexPreTokenizer
{
    private static readonly Regex Gpt2 = new(SplitPattern.Gpt2Regex, RegexOptions.CultureInvariant);
    private static readonly Regex Cl100k = new(SplitPattern.Cl100kRegex, RegexOptions.CultureInvariant);
    private static readonly Regex O200k = new(SplitPattern.O200kRegex, RegexOptions.CultureInvariant);

    public static List<string> Split(string text, bool cl100k) => Split(text, cl100k ? Cl100k : Gpt2);

    public static List<string> SplitO200k(string text) => Split(text, O200k);

    private static List<string> Split(string text, Regex regex)
    {
        var pieces = new List<string>();
        foreach (var m in regex.EnumerateMatches(text)) pieces.Add(text.Substring(m.Index, m.Length));
        return pieces;
    }
}
