// Reads a text file line by line as UTF-8 (no BOM stripping) and builds errors that name the source and line.
using System.Text;

namespace MLNetGpt.Tokenizers.Text;

/// <summary>Line reader that knows its line number, for parse errors of the form "file:line: message".</summary>
internal sealed class LineReader
{
    private readonly TextReader _reader;

    public LineReader(Stream stream, string source)
    {
        // detectEncodingFromByteOrderMarks: false keeps a leading U+FEFF visible, so a BOM-prefixed file fails the magic check loudly.
        _reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: false, 1 << 16, leaveOpen: true);
        Source = source;
    }

    public string Source { get; }

    /// <summary>1-based number of the line last returned.</summary>
    public int LineNumber { get; private set; }

    public string? ReadLine()
    {
        string? line;
        try
        {
            line = _reader.ReadLine();
        }
        catch (DecoderFallbackException e)
        {
            throw Error($"invalid UTF-8 ({e.Message})", LineNumber + 1);
        }
        if (line is not null) LineNumber++;
        return line;
    }

    /// <summary>Reads a line that must exist.</summary>
    public string ReadRequiredLine(string what) => ReadLine() ?? throw Error($"unexpected end of file; expected {what}", LineNumber + 1);

    public FormatException Error(string message) => Error(message, LineNumber);

    public FormatException Error(string message, int line) => new($"{Source}:{line}: {message}");
}
