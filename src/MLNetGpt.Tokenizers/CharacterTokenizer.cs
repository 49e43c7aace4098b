// Character-level tokenizer: one id per Unicode code point seen in a corpus, ids in code point order.
using System.Buffers;
using System.Globalization;
using System.Text;
using MLNetGpt.Tokenizers.Text;

namespace MLNetGpt.Tokenizers;

/// <summary>
/// One token per code point (a <see cref="Rune"/>: astral characters such as emoji are one token, not two UTF-16 halves).
/// The vocabulary is the sorted set of code points of the corpus, so ids are stable for a given corpus.
/// Lone surrogates, in the corpus or in text, count as U+FFFD.
/// </summary>
public sealed class CharacterTokenizer : Tokenizer
{
    internal const string Magic = "mlnetgpt-char-tokenizer v1";

    private readonly int[] _characters;          // id → code point
    private readonly int[] _bmpIds;              // BMP code point → id + 1 (0 = unknown)
    private readonly Dictionary<int, int> _astralIds = [];

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

    /// <summary>Loads a tokenizer saved by <see cref="Tokenizer.Save(string)"/> that must be a character tokenizer.</summary>
    public static new CharacterTokenizer Load(string path) =>
        Tokenizer.Load(path) as CharacterTokenizer ?? throw new FormatException($"{path}: is not a character tokenizer file.");

    /// <summary>The unknown-character policy.</summary>
    public UnknownCharacterPolicy Policy { get; }

    /// <summary>Id of U+FFFD under <see cref="UnknownCharacterPolicy.Replace"/>, else -1.</summary>
    public int ReplacementId { get; }

    /// <summary>The code point of each id, in id order.</summary>
    public IReadOnlyList<int> CodePoints => _characters;

    /// <inheritdoc/>
    public override int VocabularySize => _characters.Length;

    /// <inheritdoc/>
    public override string FormatMagic => Magic;

    /// <summary>The id of a code point, or -1.</summary>
    public int IdOf(int codePoint)
    {
        if ((uint)codePoint < (uint)_bmpIds.Length) return _bmpIds[codePoint] - 1;
        return _astralIds.TryGetValue(codePoint, out var id) ? id : -1;
    }

    private protected override void EncodeCore(ReadOnlySpan<char> text, SpecialTokenMode mode, IdBuffer output)
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
            Rune.DecodeFromUtf16(text[i..], out var rune, out var consumed);
            var id = IdOf(rune.Value);
            if (id < 0)
            {
                if (Policy == UnknownCharacterPolicy.Throw)
                    throw new ArgumentException(
                        $"Character '{rune}' (U+{rune.Value:X4}) at index {i} is not in the vocabulary of {_characters.Length} characters; create the tokenizer with UnknownCharacterPolicy.Replace to map it to U+FFFD.",
                        nameof(text));
                id = ReplacementId;
            }
            output.Add(id);
            i += consumed;
        }
    }

    /// <inheritdoc/>
    public override byte[] DecodeToBytes(ReadOnlySpan<int> ids)
    {
        var buffer = new ArrayBufferWriter<byte>(ids.Length + 16);
        Span<byte> one = stackalloc byte[4];
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)_characters.Length)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is not in [0, {_characters.Length}).");
            var n = new Rune(_characters[id]).EncodeToUtf8(one);
            buffer.Write(one[..n]);
        }
        return buffer.WrittenSpan.ToArray();
    }

    private protected override void WriteTo(TextWriter writer)
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
