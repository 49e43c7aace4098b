// Finds special-token strings in text (leftmost occurrence; the longest on a tie), remembering each token's next hit.
namespace MLNetGpt.Tokenizers.Bpe;

/// <summary>Special tokens as strings with ids; searches with ordinal IndexOf.</summary>
internal sealed class SpecialTokenMatcher
{
    private readonly string[] _strings;
    private readonly int[] _ids;

    public SpecialTokenMatcher(IEnumerable<KeyValuePair<string, int>> tokens)
    {
        var list = tokens.OrderBy(t => t.Value).ToArray();
        _strings = list.Select(t => t.Key).ToArray();
        _ids = list.Select(t => t.Value).ToArray();
    }

    public int Count => _strings.Length;

    /// <summary>A per-call cache for <see cref="FindNext"/>: the next known hit of each token (-2 = not searched yet).</summary>
    public int[] NewCache()
    {
        var cache = new int[_strings.Length];
        Array.Fill(cache, -2);
        return cache;
    }

    /// <summary>Position of the first special token at or after <paramref name="pos"/>, or -1; <paramref name="length"/>/<paramref name="id"/> describe it.</summary>
    public int FindNext(ReadOnlySpan<char> text, int pos, int[] cache, out int length, out int id, out string token)
    {
        var best = -1;
        var bestK = -1;
        for (var k = 0; k < _strings.Length; k++)
        {
            var at = cache[k];
            if (at == -1) continue; // no further occurrence
            if (at < pos)
            {
                var r = text[pos..].IndexOf(_strings[k], StringComparison.Ordinal);
                at = cache[k] = r < 0 ? -1 : pos + r;
                if (at < 0) continue;
            }
            if (best < 0 || at < best || (at == best && _strings[k].Length > _strings[bestK].Length))
            {
                best = at;
                bestK = k;
            }
        }
        length = bestK >= 0 ? _strings[bestK].Length : 0;
        id = bestK >= 0 ? _ids[bestK] : -1;
        token = bestK >= 0 ? _strings[bestK] : "";
        return best;
    }
}
