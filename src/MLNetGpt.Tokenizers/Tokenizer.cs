// The tokenizer abstraction: encode text to ids, decode ids to text/bytes, save and load (magic line dispatch).
using System.Text;
using MLNetGpt.Tokenizers.Bpe;
using MLNetGpt.Tokenizers.Text;

namespace MLNetGpt.Tokenizers;

/// <summary>
/// Base of every tokenizer. The <see cref="string"/> and <see cref="ReadOnlySpan{T}"/> overloads feed one core,
/// <see cref="EncodeCore"/>. Concrete types are <see cref="CharacterTokenizer"/> and <see cref="BpeTokenizer"/>;
/// the constructor is not public, so the set of file formats that <see cref="Load(Stream)"/> recognizes is closed.
/// </summary>
/// <remarks>
/// Lone (unpaired) UTF-16 surrogates in input text are replaced by U+FFFD before encoding, as Python tiktoken does;
/// decode(encode(s)) == s therefore holds for every string without lone surrogates.
/// Instances are immutable and safe to use from many threads at once.
/// </remarks>
public abstract class Tokenizer
{
    private protected Tokenizer()
    {
    }

    [ThreadStatic] private static IdBuffer? t_buffer;

    /// <summary>Number of ids: every valid id is in [0, VocabularySize).</summary>
    public abstract int VocabularySize { get; }

    /// <summary>The magic first line of this tokenizer's saved text format.</summary>
    public abstract string FormatMagic { get; }

    /// <summary>Encodes <paramref name="text"/> (special-token strings are plain text).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public IReadOnlyList<int> EncodeToIds(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encode(text.AsSpan(), SpecialTokenMode.AsText);
    }

    /// <summary>Encodes <paramref name="text"/> (special-token strings are plain text).</summary>
    public IReadOnlyList<int> EncodeToIds(ReadOnlySpan<char> text) => Encode(text, SpecialTokenMode.AsText);

    /// <summary>Encodes <paramref name="text"/>, treating special-token strings as <paramref name="mode"/> says.</summary>
    /// <exception cref="ArgumentException">A special token occurs and <paramref name="mode"/> is <see cref="SpecialTokenMode.Disallowed"/>,
    /// or a character is unknown to a <see cref="CharacterTokenizer"/> with the throwing policy.</exception>
    public int[] Encode(string text, SpecialTokenMode mode = SpecialTokenMode.AsText)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encode(text.AsSpan(), mode);
    }

    /// <inheritdoc cref="Encode(string, SpecialTokenMode)"/>
    public int[] Encode(ReadOnlySpan<char> text, SpecialTokenMode mode = SpecialTokenMode.AsText)
    {
        var buffer = RentBuffer();
        EncodeCore(text, mode, buffer);
        return buffer.ToArray();
    }

    /// <summary>Number of ids that <see cref="EncodeToIds(string)"/> would return.</summary>
    public int CountTokens(string text, SpecialTokenMode mode = SpecialTokenMode.AsText)
    {
        ArgumentNullException.ThrowIfNull(text);
        return CountTokens(text.AsSpan(), mode);
    }

    /// <inheritdoc cref="CountTokens(string, SpecialTokenMode)"/>
    public int CountTokens(ReadOnlySpan<char> text, SpecialTokenMode mode = SpecialTokenMode.AsText)
    {
        var buffer = RentBuffer();
        EncodeCore(text, mode, buffer);
        return buffer.Count;
    }

    /// <summary>
    /// Encodes many texts in parallel over the cores; result <c>i</c> is the encoding of <c>texts[i]</c>.
    /// </summary>
    /// <param name="texts">The texts; none may be null.</param>
    /// <param name="mode">How special-token strings are treated.</param>
    /// <param name="maxDegreeOfParallelism">Worker count; -1 (default) means all cores.</param>
    public int[][] EncodeBatch(IReadOnlyList<string> texts, SpecialTokenMode mode = SpecialTokenMode.AsText, int maxDegreeOfParallelism = -1)
    {
        ArgumentNullException.ThrowIfNull(texts);
        for (var i = 0; i < texts.Count; i++)
            if (texts[i] is null) throw new ArgumentException($"texts[{i}] is null.", nameof(texts));
        var results = new int[texts.Count][];
        var options = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism };
        // Ranges of texts rather than single texts so that tiny texts do not pay a scheduling cost each.
        var rangeSize = Math.Max(1, Math.Min(256, texts.Count / (4 * Environment.ProcessorCount)));
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, texts.Count, rangeSize), options, range =>
        {
            var buffer = RentBuffer();
            for (var i = range.Item1; i < range.Item2; i++)
            {
                buffer.Clear();
                EncodeCore(texts[i].AsSpan(), mode, buffer);
                results[i] = buffer.ToArray();
            }
        });
        return results;
    }

    /// <summary>Decodes ids to a string; invalid UTF-8 becomes U+FFFD (one per maximal invalid subpart), as tiktoken does.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, VocabularySize) or unused.</exception>
    public virtual string Decode(ReadOnlySpan<int> ids) => Utf8Conversion.GetString(DecodeToBytes(ids));

    /// <inheritdoc cref="Decode(ReadOnlySpan{int})"/>
    public string Decode(IEnumerable<int> ids) => Decode(ToSpan(ids));

    /// <summary>The exact bytes the ids stand for (UTF-8 of the text for whole sequences; may cut a character).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, VocabularySize) or unused.</exception>
    public abstract byte[] DecodeToBytes(ReadOnlySpan<int> ids);

    /// <inheritdoc cref="DecodeToBytes(ReadOnlySpan{int})"/>
    public byte[] DecodeToBytes(IEnumerable<int> ids) => DecodeToBytes(ToSpan(ids));

    /// <summary>Writes the tokenizer to <paramref name="path"/> atomically (temporary file, then rename over).</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.Write(path, Save);
    }

    /// <summary>Writes the tokenizer's versioned text format (UTF-8, magic line first) to <paramref name="stream"/>.</summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        WriteTo(writer);
    }

    /// <summary>Loads any tokenizer saved by <see cref="Save(string)"/>; the magic line picks the type.</summary>
    /// <exception cref="FormatException">The file is not a tokenizer file we know, or it is malformed (message has the line number).</exception>
    public static Tokenizer Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        return Load(stream, path);
    }

    /// <inheritdoc cref="Load(string)"/>
    public static Tokenizer Load(Stream stream) => Load(stream, "<stream>");

    private static Tokenizer Load(Stream stream, string source)
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

    private static string Truncate(string s) => s.Length <= 60 ? s : s[..60] + "...";

    /// <summary>Encodes <paramref name="text"/> and appends the ids to <paramref name="output"/>.</summary>
    private protected abstract void EncodeCore(ReadOnlySpan<char> text, SpecialTokenMode mode, IdBuffer output);

    /// <summary>Writes the text format, magic line first.</summary>
    private protected abstract void WriteTo(TextWriter writer);

    internal void EncodeInto(ReadOnlySpan<char> text, SpecialTokenMode mode, IdBuffer output) => EncodeCore(text, mode, output);

    private protected static IdBuffer RentBuffer()
    {
        var buffer = t_buffer ??= new IdBuffer(1024);
        buffer.Clear();
        return buffer;
    }

    private static ReadOnlySpan<int> ToSpan(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return ids switch
        {
            int[] array => array,
            List<int> list => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list),
            _ => ids.ToArray(),
        };
    }
}
