// A BpeTokenizer's split as a Microsoft.ML.Tokenizers.PreTokenizer: special tokens, then the pattern's pieces, as UTF-16 ranges.
using System.Buffers;
using Microsoft.ML.Tokenizers;
using MLNetGpt.Tokenizers.Bpe;

namespace MLNetGpt.Tokenizers.Interop;

/// <summary>
/// What <see cref="BpeTokenizer.PreTokenizer"/> returns: the pieces that the tokenizer encodes one by one, as
/// TiktokenTokenizer's <c>RegexPreTokenizer</c> gives them (each special-token string is a piece of its own; the split
/// pattern runs between them). Offsets and lengths are in UTF-16 code units; the matchers work on code points, so an
/// astral character is never cut.
/// </summary>
internal sealed class SplitPatternPreTokenizer : PreTokenizer
{
    private readonly SplitPattern _pattern;
    private readonly SpecialTokenMatcher _specials;

    public SplitPatternPreTokenizer(SplitPattern pattern, SpecialTokenMatcher specials)
    {
        _pattern = pattern;
        _specials = specials;
    }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => PreTokenize(text.AsSpan());

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
    {
        var pieces = new List<(int Offset, int Length)>();
        var cache = _specials.NewCache();
        var pos = 0;
        while (pos < text.Length)
        {
            var at = _specials.FindNext(text, pos, cache, out var length, out _, out _);
            var end = at < 0 ? text.Length : at;
            AddPatternPieces(text[pos..end], pos, pieces);
            if (at < 0) break;
            pieces.Add((at, length));
            pos = at + length;
        }
        return pieces;
    }

    private void AddPatternPieces(ReadOnlySpan<char> segment, int offset, List<(int Offset, int Length)> pieces)
    {
        if (segment.IsEmpty) return;
        switch (_pattern.Kind)
        {
            case SplitPatternKind.None:
                pieces.Add((offset, segment.Length));
                return;
            case SplitPatternKind.Custom:
                foreach (var m in _pattern.CompiledRegex!.EnumerateMatches(segment)) pieces.Add((offset + m.Index, m.Length));
                return;
        }
        var bytes = ArrayPool<byte>.Shared.Rent(segment.Length * 3);
        var map = ArrayPool<int>.Shared.Rent(segment.Length * 3 + 1);
        try
        {
            var n = Utf8IndexMap.Convert(segment, bytes, map);
            for (var pos = 0; pos < n;)
            {
                var end = _pattern.NextPieceEnd(bytes.AsSpan(0, n), pos);
                pieces.Add((offset + map[pos], map[end] - map[pos]));
                pos = end;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
            ArrayPool<int>.Shared.Return(map);
        }
    }
}
