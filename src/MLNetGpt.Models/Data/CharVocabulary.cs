// A character-level vocabulary (the lecture's: the sorted distinct characters of the corpus), for tests and benchmarks.
namespace MLNetGpt.Models.Data;

/// <summary>Maps each distinct character of a text to its rank in sorted order (Tiny Shakespeare: 65 ids).</summary>
public sealed class CharVocabulary
{
    private readonly char[] _chars;
    private readonly Dictionary<char, int> _ids;

    private CharVocabulary(char[] chars)
    {
        _chars = chars;
        _ids = new Dictionary<char, int>(chars.Length);
        for (int i = 0; i < chars.Length; i++) _ids[chars[i]] = i;
    }

    /// <summary>Number of characters (vocabulary size V).</summary>
    public int Size => _chars.Length;

    /// <summary>The characters in id order.</summary>
    public IReadOnlyList<char> Characters => _chars;

    /// <summary>Builds the vocabulary of <paramref name="text"/> (ordinal sort of its distinct UTF-16 code units).</summary>
    public static CharVocabulary Create(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) throw new ArgumentException("Cannot build a vocabulary from empty text.", nameof(text));
        var set = new HashSet<char>(text);
        var chars = set.ToArray();
        Array.Sort(chars);
        return new CharVocabulary(chars);
    }

    /// <summary>Creates a vocabulary from an explicit character list (for example one saved beside a model).</summary>
    public static CharVocabulary FromCharacters(string characters)
    {
        ArgumentNullException.ThrowIfNull(characters);
        if (characters.Length == 0 || characters.Distinct().Count() != characters.Length)
            throw new ArgumentException("Characters must be non-empty and distinct.", nameof(characters));
        return new CharVocabulary(characters.ToCharArray());
    }

    /// <summary>Ids of <paramref name="text"/>; a character outside the vocabulary throws naming it and its index.</summary>
    public int[] Encode(ReadOnlySpan<char> text)
    {
        var ids = new int[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            if (!_ids.TryGetValue(text[i], out ids[i]))
                throw new ArgumentException($"Character U+{(int)text[i]:X4} at index {i} is not in the vocabulary.", nameof(text));
        }
        return ids;
    }

    /// <summary>The text of <paramref name="ids"/>; an id outside [0, V) throws.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var chars = new char[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= (uint)_chars.Length)
                throw new ArgumentOutOfRangeException(nameof(ids), ids[i], $"Id {ids[i]} at index {i} is outside [0,{_chars.Length}).");
            chars[i] = _chars[ids[i]];
        }
        return new string(chars);
    }
}
