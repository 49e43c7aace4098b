// Reads and writes .tiktoken rank files: "base64(token bytes) rank" per line, ranks 0..n-1 in order.
using MLNetGpt.Tokenizers.Text;

namespace MLNetGpt.Tokenizers.Bpe;

/// <summary>The <c>.tiktoken</c> format. Reading validates every line and names it in errors.</summary>
internal static class TiktokenFile
{
    /// <summary>
    /// Reads token bytes by rank until the end of input (or a line equal to <paramref name="endLine"/>, when embedded in
    /// our own format). Each line is standard base64 with padding, one space, and the rank; ranks must run 0, 1, 2, ...
    /// </summary>
    /// <param name="reader">The lines.</param>
    /// <param name="endLine">The line that ends the table inside our own format, or null to read to the end.</param>
    /// <param name="expectedCount">The number of ranks, when known (sizes the tables).</param>
    /// <exception cref="FormatException">Bad base64, a bad or repeated rank, a gap, a repeated token, or no lines.</exception>
    public static byte[][] Read(LineReader reader, string? endLine, int? expectedCount = null)
    {
        var tokens = new List<byte[]>(expectedCount ?? 1 << 16);
        var seen = new ByteSpanTable(expectedCount ?? 1 << 16, 1 << 20);
        var lineOfRank = new List<int>(expectedCount ?? 1 << 16);
        while (true)
        {
            var line = reader.ReadLine();
            if (line is null)
            {
                if (endLine is not null) throw reader.Error($"unexpected end of file; expected '{endLine}'", reader.LineNumber + 1);
                break;
            }
            if (endLine is not null && line == endLine) break;
            var space = line.IndexOf(' ');
            if (space <= 0 || space != line.LastIndexOf(' '))
                throw reader.Error($"expected 'base64 rank' (one space), found '{Shorten(line)}'");
            var base64 = line.AsSpan(0, space);
            var bytes = new byte[base64.Length * 3 / 4 + 3];
            if (!Convert.TryFromBase64Chars(base64, bytes, out var written) || written == 0)
                throw reader.Error($"'{Shorten(base64.ToString())}' is not valid base64 for a non-empty token");
            if (!int.TryParse(line.AsSpan(space + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var rank))
                throw reader.Error($"rank '{Shorten(line[(space + 1)..])}' is not a non-negative integer");
            var expected = tokens.Count;
            if (rank < expected)
                throw reader.Error($"duplicate rank {rank} (already on line {lineOfRank[rank]})");
            if (rank > expected)
                throw reader.Error($"gap in ranks: expected rank {expected}, found {rank}; ranks must run 0..n-1 in order");
            var token = bytes.AsSpan(0, written).ToArray();
            var first = seen.GetOrAdd(token, reader.LineNumber, out var added);
            if (!added) throw reader.Error($"token bytes repeat line {seen.ValueAt(first)} (rank {rank})");
            tokens.Add(token);
            lineOfRank.Add(reader.LineNumber);
        }
        if (tokens.Count == 0) throw reader.Error("no ranks", Math.Max(1, reader.LineNumber));
        return tokens.ToArray();
    }

    /// <summary>
    /// Reads the layout of the Microsoft.ML.Tokenizers.Data packages: a first line <c>Capacity: N</c>, then one base64
    /// token per line whose rank is its line index (0-based after the header). Empty lines and gaps are rejected.
    /// </summary>
    /// <exception cref="FormatException">No header, bad base64, a repeated token, or a count other than the header's.</exception>
    public static byte[][] ReadRanksByLine(LineReader reader)
    {
        var header = reader.ReadRequiredLine("'Capacity: N'");
        if (!header.StartsWith("Capacity: ", StringComparison.Ordinal)
            || !int.TryParse(header.AsSpan("Capacity: ".Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var capacity))
            throw reader.Error($"expected 'Capacity: N', found '{Shorten(header)}'");
        var tokens = new List<byte[]>(capacity);
        var seen = new ByteSpanTable(capacity, 1 << 20);
        while (reader.ReadLine() is { } line)
        {
            var bytes = new byte[line.Length * 3 / 4 + 3];
            if (!Convert.TryFromBase64Chars(line, bytes, out var written) || written == 0)
                throw reader.Error($"'{Shorten(line)}' is not valid base64 for a non-empty token");
            var token = bytes.AsSpan(0, written).ToArray();
            var first = seen.GetOrAdd(token, reader.LineNumber, out var added);
            if (!added) throw reader.Error($"token bytes repeat line {seen.ValueAt(first)}");
            tokens.Add(token);
        }
        // The header counts itself: N - 1 tokens follow it.
        if (tokens.Count != capacity - 1) throw reader.Error($"the header says {capacity} lines, found {tokens.Count + 1}", reader.LineNumber);
        return tokens.ToArray();
    }

    /// <summary>Writes one line per token in rank order.</summary>
    public static void Write(TextWriter writer, BpeModel model)
    {
        var check = new ByteSpanTable(model.TokenCount, model.TotalTokenBytes);
        for (var rank = 0; rank < model.TokenCount; rank++)
        {
            var token = model.Token(rank);
            var first = check.GetOrAdd(token, rank, out var added);
            if (!added)
                throw new InvalidOperationException($"Tokens {check.ValueAt(first)} and {rank} have the same bytes; a .tiktoken rank file cannot hold both.");
            writer.Write(Convert.ToBase64String(token));
            writer.Write(' ');
            writer.Write(rank.ToString(System.Globalization.CultureInfo.InvariantCulture));
            writer.Write('\n');
        }
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
