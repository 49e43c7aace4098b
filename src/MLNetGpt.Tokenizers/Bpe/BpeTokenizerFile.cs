// Our versioned text format for BPE tokenizers: magic line, pattern, vocabulary size, special tokens, then merges or ranks.
using System.Globalization;
using System.Text.Json;
using MLNetGpt.Tokenizers.Text;

namespace MLNetGpt.Tokenizers.Bpe;

/// <summary>
/// Layout (UTF-8, '\n' line ends):
/// <code>
/// mlnetgpt-bpe-tokenizer v1
/// pattern gpt2                      (none | gpt2 | cl100k | custom "JSON-escaped regex")
/// vocabulary 50257
/// special 50256 "&lt;|endoftext|&gt;"    (zero or more; JSON-escaped string)
/// merges 768                        (learned merges: "left right" per line, merge i makes id 256 + i)
/// 32 116
/// ...
/// end
/// </code>
/// A rank table writes <c>ranks N</c> and N <c>.tiktoken</c> lines instead of <c>merges</c>.
/// </summary>
internal static class BpeTokenizerFile
{
    public const string Magic = "mlnetgpt-bpe-tokenizer v1";
    public const string MagicName = "mlnetgpt-bpe-tokenizer";

    public static void Write(TextWriter writer, BpeTokenizer tokenizer, BpeModel model)
    {
        writer.Write(Magic + "\n");
        var pattern = tokenizer.Pattern;
        writer.Write(pattern.Kind == SplitPatternKind.Custom
            ? $"pattern custom {JsonSerializer.Serialize(pattern.RegexText)}\n"
            : $"pattern {pattern.Name}\n");
        writer.Write($"vocabulary {tokenizer.VocabularySize.ToString(CultureInfo.InvariantCulture)}\n");
        foreach (var (text, id) in tokenizer.SpecialTokens.OrderBy(t => t.Value))
            writer.Write($"special {id.ToString(CultureInfo.InvariantCulture)} {JsonSerializer.Serialize(text)}\n");
        if (model.Merges is { } merges)
        {
            writer.Write($"merges {merges.Length.ToString(CultureInfo.InvariantCulture)}\n");
            foreach (var (left, right) in merges)
                writer.Write($"{left.ToString(CultureInfo.InvariantCulture)} {right.ToString(CultureInfo.InvariantCulture)}\n");
        }
        else
        {
            writer.Write($"ranks {model.TokenCount.ToString(CultureInfo.InvariantCulture)}\n");
            TiktokenFile.Write(writer, model);
        }
        writer.Write("end\n");
    }

    /// <summary>Reads everything after the magic line.</summary>
    public static BpeTokenizer ReadBody(LineReader reader)
    {
        var patternLine = reader.ReadRequiredLine("'pattern ...'");
        SplitPattern pattern;
        if (patternLine.StartsWith("pattern custom ", StringComparison.Ordinal))
        {
            string? regex;
            try
            {
                regex = JsonSerializer.Deserialize<string>(patternLine["pattern custom ".Length..]);
            }
            catch (JsonException e)
            {
                throw reader.Error($"the custom pattern is not a JSON string ({e.Message})");
            }
            try
            {
                pattern = SplitPattern.Custom(regex ?? "");
            }
            catch (ArgumentException e)
            {
                throw reader.Error(e.Message);
            }
        }
        else if (patternLine.StartsWith("pattern ", StringComparison.Ordinal))
        {
            try
            {
                pattern = SplitPattern.FromName(patternLine["pattern ".Length..]);
            }
            catch (ArgumentException e)
            {
                throw reader.Error(e.Message);
            }
        }
        else throw reader.Error($"expected 'pattern NAME', found '{patternLine}'");

        var vocabulary = ReadCount(reader, "vocabulary");
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        var line = reader.ReadRequiredLine("'special', 'merges' or 'ranks'");
        while (line.StartsWith("special ", StringComparison.Ordinal))
        {
            var rest = line["special ".Length..];
            var space = rest.IndexOf(' ');
            string? text = null;
            if (space <= 0 || !int.TryParse(rest.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                throw reader.Error($"expected 'special ID \"TEXT\"', found '{line}'");
            try
            {
                text = JsonSerializer.Deserialize<string>(rest[(space + 1)..]);
            }
            catch (JsonException)
            {
            }
            if (string.IsNullOrEmpty(text)) throw reader.Error($"the special token text in '{line}' is not a non-empty JSON string");
            if (!specials.TryAdd(text, id)) throw reader.Error($"special token {JsonSerializer.Serialize(text)} is listed twice");
            line = reader.ReadRequiredLine("'special', 'merges' or 'ranks'");
        }

        BpeModel model;
        if (line.StartsWith("merges ", StringComparison.Ordinal))
        {
            var count = ParseCount(reader, line, "merges");
            var merges = new (int, int)[count];
            for (var i = 0; i < count; i++)
            {
                var m = reader.ReadRequiredLine($"merge {i} of {count}");
                var space = m.IndexOf(' ');
                if (space <= 0
                    || !int.TryParse(m.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var left)
                    || !int.TryParse(m.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var right))
                    throw reader.Error($"expected 'LEFT RIGHT' ids, found '{m}'");
                var id = 256 + i;
                if (left >= id || right >= id) throw reader.Error($"merge {i} ({left}, {right}) uses an id not defined before id {id}");
                merges[i] = (left, right);
            }
            try
            {
                model = BpeModel.FromMerges(merges);
            }
            catch (ArgumentException e)
            {
                throw reader.Error(e.Message);
            }
            var end = reader.ReadRequiredLine("'end'");
            if (end != "end") throw reader.Error($"expected 'end' after {count} merges, found '{end}'");
        }
        else if (line.StartsWith("ranks ", StringComparison.Ordinal))
        {
            var count = ParseCount(reader, line, "ranks");
            var start = reader.LineNumber;
            var tokens = TiktokenFile.Read(reader, endLine: "end", expectedCount: count);
            if (tokens.Length != count) throw reader.Error($"the ranks header on line {start} says {count}, found {tokens.Length}");
            try
            {
                model = BpeModel.FromRanks(tokens);
            }
            catch (ArgumentException e)
            {
                throw reader.Error(e.Message);
            }
        }
        else throw reader.Error($"expected 'special', 'merges N' or 'ranks N', found '{line}'");

        try
        {
            return BpeTokenizer.Create(model, pattern, specials, vocabulary);
        }
        catch (ArgumentException e)
        {
            throw reader.Error(e.Message);
        }
    }

    private static int ReadCount(LineReader reader, string keyword) =>
        ParseCount(reader, reader.ReadRequiredLine($"'{keyword} N'"), keyword);

    private static int ParseCount(LineReader reader, string line, string keyword)
    {
        if (!line.StartsWith(keyword + " ", StringComparison.Ordinal)
            || !int.TryParse(line.AsSpan(keyword.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            throw reader.Error($"expected '{keyword} N', found '{line}'");
        return value;
    }
}
