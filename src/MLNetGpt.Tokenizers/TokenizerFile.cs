// Our saved tokenizer files: loading any of them (the magic line picks the type), and the shared writing helpers.
using System.Text;
using MLNetGpt.Tokenizers.Bpe;
using MLNetGpt.Tokenizers.Text;
using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace MLNetGpt.Tokenizers;

/// <summary>
/// Loads the versioned text files that <see cref="BpeTokenizer.Save(string)"/> and <see cref="CharacterTokenizer.Save(string)"/>
/// write. The first line names the format and its version (<c>mlnetgpt-bpe-tokenizer v1</c>, <c>mlnetgpt-char-tokenizer v1</c>)
/// and picks the type; a known format with another version is rejected with the version that was expected.
/// </summary>
public static class TokenizerFile
{
    /// <summary>Loads any tokenizer file we save; the result is a <see cref="BpeTokenizer"/> or a <see cref="CharacterTokenizer"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="FormatException">The file is not a tokenizer file we know, or it is malformed (the message has the file and line).</exception>
    public static Tokenizer Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        return Load(stream, path);
    }

    /// <inheritdoc cref="Load(string)"/>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    public static Tokenizer Load(Stream stream) => Load(stream, "<stream>");

    internal static Tokenizer Load(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var reader = new LineReader(stream, source);
        var magic = reader.ReadLine() ?? throw reader.Error("the file is empty; expected a tokenizer magic line");
        foreach (var known in new[] { CharacterTokenizer.Magic, BpeTokenizerFile.Magic })
        {
            var name = known[..known.IndexOf(' ')];
            if (magic.StartsWith(name + " ", StringComparison.Ordinal) && magic != known)
                throw reader.Error($"unsupported version '{Truncate(magic)}'; expected '{known}'");
        }
        return magic switch
        {
            CharacterTokenizer.Magic => CharacterTokenizer.ReadBody(reader),
            BpeTokenizerFile.Magic => BpeTokenizerFile.ReadBody(reader),
            _ => throw reader.Error($"unknown tokenizer magic '{Truncate(magic)}'; expected '{CharacterTokenizer.Magic}' or '{BpeTokenizerFile.Magic}'"),
        };
    }

    /// <summary>Writes a text format to <paramref name="path"/> atomically (temporary file, then rename over).</summary>
    internal static void Write(string path, Action<TextWriter> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.Write(path, stream => Write(stream, write));
    }

    /// <summary>Writes a text format to <paramref name="stream"/>: UTF-8 without BOM, '\n' line ends, stream left open.</summary>
    internal static void Write(Stream stream, Action<TextWriter> write)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        write(writer);
    }

    private static string Truncate(string s) => s.Length <= 60 ? s : s[..60] + "...";
}
