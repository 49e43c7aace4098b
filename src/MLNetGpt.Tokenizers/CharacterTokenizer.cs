// Character-level tokenizer: one id per Unicode code point seen in a corpus, ids in code point order.
using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;
using MLNetGpt.Tokenizers.Interop;
using MLNetGpt.Tokenizers.Text;

namespace MLNetGpt.Tokenizers;

/// <summary>
/// One token per code point (a <see cref="Rune"/>: astral characters such as emoji are one token, not two UTF-16 halves).
/// The vocabulary is the sorted set of code points of the corpus, so ids are stable for a given corpus.
/// Lone surrogates, in the corpus or in text, count as U+FFFD.
/// <para>It is a <see cref="Tokenizer"/>: every token's offset is the UTF-16 range of its character (two code units for
/// an astral one); there are no special tokens, no pre-tokenization and no normalization. Immutable and thread-safe.</para>
/// </summary>
public sealed class CharacterTokenizer : Tokenizer
{
    internal const string Magic = "mlnetgpt-char-tokenizer v1";

    private readonly int[] _characters;          // id → code point
    private readonly int[] _bmpIds;              // BMP code point → id + 1 (0 = unknown)
    private readonly Dictionary<int, int> _astralIds = [];
    private readonly byte[] _utf8;                // UTF-8 of every character back to back: id i is _utf8[_utf8Start[i] .. _utf8Start[i + 1])
    private readonly int[] _utf8Start;

    private CharacterTokenizer(int[] sortedCharacters, UnknownCharacterPolicy policy)
    {
        _characters = sortedCharacters;
        Policy = policy;
        var maxBmp = sortedCharacters.Where(c => c < 0x10000).DefaultIfEmpty(-1).Max();
        _bmpIds = new int[maxBmp + 1];
        for (var id = 0; id < sortedCharacters.Length; id++)
        {
            var c = sortedCharacters[id];
            if (c < 0x10000) _bmpIds[c] = id + 1;
            else _astralIds[c] = id;
        }
        ReplacementId = policy == UnknownCharacterPolicy.Replace ? IdOf(0xFFFD) : -1;
        _utf8Start = new int[sortedCharacters.Length + 1];
        for (var id = 0; id < sortedCharacters.Length; id++) _utf8Start[id + 1] = _utf8Start[id] + new Rune(sortedCharacters[id]).Utf8SequenceLength;
        _utf8 = new byte[_utf8Start[^1]];
        for (var id = 0; id < sortedCharacters.Length; id++) new Rune(sortedCharacters[id]).EncodeToUtf8(_utf8.AsSpan(_utf8Start[id]));
    }

    /// <summary>Learns the vocabulary: every distinct code point of <paramref name="corpus"/>, sorted by value.</summary>
    /// <param name="corpus">The training text; must not be empty.</param>
    /// <param name="policy">What encoding does with unknown characters; <see cref="UnknownCharacterPolicy.Replace"/> adds U+FFFD to the vocabulary.</param>
    /// <exception cref="ArgumentException"><paramref name="corpus"/> is empty, or <paramref name="policy"/> is not defined.</exception>
    public static CharacterTokenizer Create(string corpus, UnknownCharacterPolicy policy = UnknownCharacterPolicy.Throw)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (corpus.Length == 0) throw new ArgumentException("The corpus is empty; a character vocabulary needs at least one character.", nameof(corpus));
        if (!Enum.IsDefined(policy)) throw new ArgumentException($"Unknown policy value {(int)policy}.", nameof(policy));
        var set = new HashSet<int>();
        var span = corpus.AsSpan();
        while (!span.IsEmpty)
        {
            Rune.DecodeFromUtf16(span, out var rune, out var consumed); // invalid → U+FFFD
            set.Add(rune.Value);
            span = span[consumed..];
        }
        if (policy == UnknownCharacterPolicy.Replace) set.Add(0xFFFD);
        var sorted = set.ToArray();
        Array.Sort(sorted);
        return new CharacterTokenizer(sorted, policy);
    }

    /// <summary>Loads a tokenizer saved by <see cref="Save(string)"/> that must be a character tokenizer.</summary>
    /// <exception cref="FormatException">The file is malformed, or it holds another kind of tokenizer.</exception>
    public static CharacterTokenizer Load(string path) =>
        TokenizerFile.Load(path) as CharacterTokenizer ?? throw new FormatException($"{path}: is not a character tokenizer file.");

    /// <inheritdoc cref="Load(string)"/>
    public static CharacterTokenizer Load(Stream stream) =>
        TokenizerFile.Load(stream) as CharacterTokenizer ?? throw new FormatException("<stream>: is not a character tokenizer file.");

    /// <summary>Writes the tokenizer to <paramref name="path"/> in our versioned text format, atomically (temporary file, then rename over).</summary>
    public void Save(string path) => TokenizerFile.Write(path, WriteTo);

    /// <summary>Writes the tokenizer's versioned text format (UTF-8, magic line first) to <paramref name="stream"/>, which stays open.</summary>
    public void Save(Stream stream) => TokenizerFile.Write(stream, WriteTo);

    /// <summary>The unknown-character policy.</summary>
    public UnknownCharacterPolicy Policy { get; }

    /// <summary>Id of U+FFFD under <see cref="UnknownCharacterPolicy.Replace"/>, else -1.</summary>
    public int ReplacementId { get; }

    /// <summary>The code point of each id, in id order.</summary>
    public IReadOnlyList<int> CodePoints => _characters;

    /// <summary>Number of ids: every valid id is in [0, VocabularySize).</summary>
    public int VocabularySize => _characters.Length;

    /// <summary>The magic first line of the saved text format.</summary>
    public string FormatMagic => Magic;

    /// <summary>The id of a code point, or -1.</summary>
    public int IdOf(int codePoint)
    {
        if ((uint)codePoint < (uint)_bmpIds.Length) return _bmpIds[codePoint] - 1;
        return _astralIds.TryGetValue(codePoint, out var id) ? id : -1;
    }

    // ---------------------------------------------------------------- encode

    /// <summary>Encodes <paramref name="text"/>, one id per code point. A character tokenizer has no special tokens, so <paramref name="mode"/> changes nothing.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="ArgumentException">A character is not in the vocabulary and the policy is <see cref="UnknownCharacterPolicy.Throw"/>.</exception>
    public int[] Encode(string text, SpecialTokenMode mode = SpecialTokenMode.AsText)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encode(text.AsSpan(), mode);
    }

    /// <inheritdoc cref="Encode(string, SpecialTokenMode)"/>
    public int[] Encode(ReadOnlySpan<char> text, SpecialTokenMode mode = SpecialTokenMode.AsText)
    {
        var buffer = IdBuffer.RentForThread();
        EncodeCore(text, mode, buffer);
        return buffer.ToArray();
    }

    /// <summary>Number of ids that <see cref="Encode(string, SpecialTokenMode)"/> returns (it still checks every character).</summary>
    public int CountTokens(string text, SpecialTokenMode mode)
    {
        ArgumentNullException.ThrowIfNull(text);
        return CountTokens(text.AsSpan(), mode);
    }

    /// <inheritdoc cref="CountTokens(string, SpecialTokenMode)"/>
    public int CountTokens(ReadOnlySpan<char> text, SpecialTokenMode mode)
    {
        var buffer = IdBuffer.RentForThread();
        EncodeCore(text, mode, buffer);
        return buffer.Count;
    }

    /// <summary>Encodes many texts in parallel over the cores; result <c>i</c> is the encoding of <c>texts[i]</c>.</summary>
    /// <param name="texts">The texts; none may be null.</param>
    /// <param name="mode">Ignored (no special tokens).</param>
    /// <param name="maxDegreeOfParallelism">Worker count; -1 (default) means all cores.</param>
    public int[][] EncodeBatch(IReadOnlyList<string> texts, SpecialTokenMode mode = SpecialTokenMode.AsText, int maxDegreeOfParallelism = -1) =>
        BatchEncoding.EncodeBatch(texts, mode, maxDegreeOfParallelism, EncodeCore);

    internal void EncodeCore(ReadOnlySpan<char> text, SpecialTokenMode mode, IdBuffer output)
    {
        var bmp = _bmpIds;
        for (var i = 0; i < text.Length;)
        {
            var c = text[i];
            if (!char.IsSurrogate(c) && c < bmp.Length && bmp[c] != 0)
            {
                output.Add(bmp[c] - 1);
                i++;
                continue;
            }
            output.Add(IdAt(text, i, out var consumed));
            i += consumed;
        }
    }

    /// <summary>The id of the character at <paramref name="index"/> (a surrogate pair is one character); <paramref name="consumed"/> gets its UTF-16 length.</summary>
    private int IdAt(ReadOnlySpan<char> text, int index, out int consumed)
    {
        var c = text[index];
        if (!char.IsSurrogate(c) && c < _bmpIds.Length && _bmpIds[c] != 0)
        {
            consumed = 1;
            return _bmpIds[c] - 1;
        }
        Rune.DecodeFromUtf16(text[index..], out var rune, out consumed);
        var id = IdOf(rune.Value);
        if (id >= 0) return id;
        if (Policy == UnknownCharacterPolicy.Throw)
            throw new ArgumentException(
                $"Character '{rune}' (U+{rune.Value:X4}) at index {index} is not in the vocabulary of {_characters.Length} characters; create the tokenizer with UnknownCharacterPolicy.Replace to map it to U+FFFD.",
                nameof(text));
        return ReplacementId;
    }

    // ---------------------------------------------------------------- Microsoft.ML.Tokenizers.Tokenizer

    /// <inheritdoc/>
    protected override EncodeResults<EncodedToken> EncodeToTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var span = text is null ? textSpan : text.AsSpan();
        var tokens = new List<EncodedToken>(span.Length);
        for (var i = 0; i < span.Length;)
        {
            var id = IdAt(span, i, out var consumed);
            tokens.Add(new EncodedToken(id, text is null ? span.Slice(i, consumed).ToString() : text.Substring(i, consumed), new Range(i, i + consumed)));
            i += consumed;
        }
        return new EncodeResults<EncodedToken> { Tokens = tokens, CharsConsumed = span.Length };
    }

    /// <inheritdoc/>
    protected override EncodeResults<int> EncodeToIds(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        TiktokenLimits.CheckBudget(settings.MaxTokenCount);
        var span = text is null ? textSpan : text.AsSpan();
        var ids = new List<int>(Math.Min(span.Length, settings.MaxTokenCount));
        var i = 0;
        while (i < span.Length && ids.Count < settings.MaxTokenCount)
        {
            ids.Add(IdAt(span, i, out var consumed));
            i += consumed;
        }
        return new EncodeResults<int> { Tokens = ids, CharsConsumed = i };
    }

    /// <inheritdoc/>
    protected override int CountTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        TiktokenLimits.CheckBudget(settings.MaxTokenCount);
        var span = text is null ? textSpan : text.AsSpan();
        var count = 0;
        for (var i = 0; i < span.Length && count < settings.MaxTokenCount; count++)
        {
            IdAt(span, i, out var consumed);
            i += consumed;
        }
        return count;
    }

    /// <inheritdoc/>
    protected override int GetIndexByTokenCount(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings, bool fromEnd, out string? normalizedText, out int tokenCount)
    {
        normalizedText = null;
        TiktokenLimits.CheckBudget(settings.MaxTokenCount);
        var span = text is null ? textSpan : text.AsSpan();
        tokenCount = 0;
        if (!fromEnd)
        {
            var i = 0;
            for (; i < span.Length && tokenCount < settings.MaxTokenCount; tokenCount++)
            {
                IdAt(span, i, out var consumed);
                i += consumed;
            }
            return i;
        }
        // Every character is checked (unknown ones throw under the throwing policy) before counting from the end.
        for (var i = 0; i < span.Length;)
        {
            IdAt(span, i, out var consumed);
            i += consumed;
        }
        var start = span.Length;
        while (start > 0 && tokenCount < settings.MaxTokenCount)
        {
            start -= start >= 2 && char.IsLowSurrogate(span[start - 1]) && char.IsHighSurrogate(span[start - 2]) ? 2 : 1;
            tokenCount++;
        }
        return start;
    }

    /// <summary>Decodes ids to a string; the same as <see cref="Decode(ReadOnlySpan{int})"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="ids"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, VocabularySize).</exception>
    public override string Decode(IEnumerable<int> ids) => Decode(CharDecoder.AsSpan(ids));

    /// <inheritdoc/>
    public override OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, out int idsConsumed, out int charsWritten) =>
        CharDecoder.Decode(ids, TryGetCharacterBytes, destination, out idsConsumed, out charsWritten);

    // ---------------------------------------------------------------- decode

    /// <summary>Decodes ids to a string (each id is one code point).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, VocabularySize).</exception>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var builder = new StringBuilder(ids.Length + 16);
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)_characters.Length) ThrowBadId(id);
            var c = _characters[id];
            if (c < 0x10000) builder.Append((char)c);
            else builder.Append(char.ConvertFromUtf32(c));
        }
        return builder.ToString();
    }

    /// <summary>The UTF-8 bytes of the characters the ids stand for.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, VocabularySize).</exception>
    public byte[] DecodeToBytes(ReadOnlySpan<int> ids)
    {
        var buffer = new ArrayBufferWriter<byte>(ids.Length + 16);
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)_characters.Length) ThrowBadId(id);
            buffer.Write(_utf8.AsSpan(_utf8Start[id], _utf8Start[id + 1] - _utf8Start[id]));
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <inheritdoc cref="DecodeToBytes(ReadOnlySpan{int})"/>
    public byte[] DecodeToBytes(IEnumerable<int> ids) => DecodeToBytes(CharDecoder.AsSpan(ids));

    private bool TryGetCharacterBytes(int id, out ReadOnlySpan<byte> bytes)
    {
        if ((uint)id >= (uint)_characters.Length)
        {
            bytes = default;
            return false;
        }
        bytes = _utf8.AsSpan(_utf8Start[id], _utf8Start[id + 1] - _utf8Start[id]);
        return true;
    }

    private void ThrowBadId(int id) =>
        throw new ArgumentOutOfRangeException("ids", id, $"Token id {id} is not in [0, {_characters.Length}).");

    private void WriteTo(TextWriter writer)
    {
        writer.Write(Magic + "\n");
        writer.Write(Policy == UnknownCharacterPolicy.Replace ? "unknown replace\n" : "unknown throw\n");
        writer.Write($"characters {_characters.Length.ToString(CultureInfo.InvariantCulture)}\n");
        foreach (var c in _characters) writer.Write($"{c:X4}\n");
        writer.Write("end\n");
    }

    internal static CharacterTokenizer ReadBody(LineReader reader)
    {
        var policyLine = reader.ReadRequiredLine("'unknown throw' or 'unknown replace'");
        var policy = policyLine switch
        {
            "unknown throw" => UnknownCharacterPolicy.Throw,
            "unknown replace" => UnknownCharacterPolicy.Replace,
            _ => throw reader.Error($"expected 'unknown throw' or 'unknown replace', found '{policyLine}'"),
        };
        var countLine = reader.ReadRequiredLine("'characters N'");
        if (!countLine.StartsWith("characters ", StringComparison.Ordinal)
            || !int.TryParse(countLine.AsSpan("characters ".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count <= 0)
            throw reader.Error($"expected 'characters N' with N > 0, found '{countLine}'");
        var characters = new int[count];
        for (var i = 0; i < count; i++)
        {
            var line = reader.ReadRequiredLine($"character {i} of {count}");
            if (!int.TryParse(line, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var c) || !Rune.IsValid(c))
                throw reader.Error($"'{line}' is not a hexadecimal Unicode scalar value");
            if (i > 0 && c <= characters[i - 1])
                throw reader.Error($"code point {c:X4} is not greater than the previous one ({characters[i - 1]:X4}); ids are in code point order");
            characters[i] = c;
        }
        if (policy == UnknownCharacterPolicy.Replace && Array.BinarySearch(characters, 0xFFFD) < 0)
            throw reader.Error("the 'replace' policy needs U+FFFD in the vocabulary");
        var end = reader.ReadRequiredLine("'end'");
        if (end != "end") throw reader.Error($"expected 'end' after {count} characters, found '{end}'");
        return new CharacterTokenizer(characters, policy);
    }
}
