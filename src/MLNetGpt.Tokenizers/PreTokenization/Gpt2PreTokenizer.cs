// Hand-written state machine for GPT-2's split pattern, over UTF-8 code points (exact, astral-safe, fast).
using System.Runtime.CompilerServices;

namespace MLNetGpt.Tokenizers.PreTokenization;

/// <summary>
/// Splits text as tiktoken's gpt2/r50k_base pattern does:
/// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>
/// (leftmost-first alternation; matches are contiguous and cover the text).
/// </summary>
internal static class Gpt2PreTokenizer
{
    /// <summary>End (exclusive) of the piece that starts at <paramref name="pos"/> (&lt; text.Length).</summary>
    public static int NextPieceEnd(ReadOnlySpan<byte> text, int pos)
    {
        var n = text.Length;
        var b = text[pos];
        // 's|'t|'re|'ve|'m|'ll|'d — case-sensitive.
        if (b == (byte)'\'' && pos + 1 < n)
        {
            var b1 = text[pos + 1];
            if (b1 is (byte)'s' or (byte)'t' or (byte)'m' or (byte)'d') return pos + 2;
            if (pos + 2 < n)
            {
                var b2 = text[pos + 2];
                if ((b1 == 'r' && b2 == 'e') || (b1 == 'v' && b2 == 'e') || (b1 == 'l' && b2 == 'l')) return pos + 3;
            }
        }

        var cls = CharClasses.Classify(text, pos, out var len);
        var start = pos;
        // " ?X+": an optional space joins a run of letters, digits or others that follows it.
        if (b == (byte)' ' && pos + 1 < n)
        {
            var next = CharClasses.Classify(text, pos + 1, out var len1);
            if (next is CharClass.Letter or CharClass.Number or CharClass.Other)
            {
                cls = next;
                start = pos + 1;
                len = len1;
            }
        }

        if (cls is CharClass.Letter or CharClass.Number or CharClass.Other)
            return ScanRun(text, start + len, cls);

        // Whitespace: \s+(?!\S) leaves the last whitespace character for the next piece when a non-space follows.
        var p = pos + len;
        var lastStart = pos;
        while (p < n)
        {
            var c = CharClasses.Classify(text, p, out var l);
            if (c is not (CharClass.Space or CharClass.Newline)) break;
            lastStart = p;
            p += l;
        }
        if (p == n || lastStart == pos) return p;
        return lastStart;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int ScanRun(ReadOnlySpan<byte> text, int p, CharClass cls)
    {
        while (p < text.Length)
        {
            if (CharClasses.Classify(text, p, out var l) != cls) break;
            p += l;
        }
        return p;
    }
}
