// Hand-written state machine for cl100k_base's (GPT-4's) split pattern, over UTF-8 code points.
namespace MLNetGpt.Tokenizers.PreTokenization;

/// <summary>
/// Splits text as tiktoken's cl100k_base pattern does:
/// <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>.
/// minbpe's GPT-4 pattern (with possessive quantifiers) splits identically.
/// </summary>
internal static class Cl100kPreTokenizer
{
    /// <summary>End (exclusive) of the piece that starts at <paramref name="pos"/> (&lt; text.Length).</summary>
    public static int NextPieceEnd(ReadOnlySpan<byte> text, int pos)
    {
        var n = text.Length;
        var b = text[pos];
        if (b == (byte)'\'' && pos + 1 < n)
        {
            var end = ContractionEnd(text, pos + 1);
            if (end > 0) return end;
        }

        var cls = CharClasses.Classify(text, pos, out var len);
        if (cls == CharClass.Letter) return Gpt2PreTokenizer.ScanRun(text, pos + len, CharClass.Letter);

        // [^\r\n\p{L}\p{N}]?\p{L}+ : one space/other character may lead a run of letters.
        if (cls is CharClass.Other or CharClass.Space && pos + len < n
            && CharClasses.Classify(text, pos + len, out var letterLen) == CharClass.Letter)
            return Gpt2PreTokenizer.ScanRun(text, pos + len + letterLen, CharClass.Letter);

        if (cls == CharClass.Number)
        {
            // \p{N}{1,3}
            var p = pos + len;
            for (var k = 1; k < 3 && p < n; k++)
            {
                if (CharClasses.Classify(text, p, out var l) != CharClass.Number) break;
                p += l;
            }
            return p;
        }

        // " ?[^\s\p{L}\p{N}]+[\r\n]*"
        var otherStart = -1;
        if (cls == CharClass.Other) otherStart = pos + len;
        else if (b == (byte)' ' && pos + 1 < n && CharClasses.Classify(text, pos + 1, out var l1) == CharClass.Other) otherStart = pos + 1 + l1;
        if (otherStart >= 0)
        {
            var p = Gpt2PreTokenizer.ScanRun(text, otherStart, CharClass.Other);
            while (p < n && text[p] is (byte)'\r' or (byte)'\n') p++;
            return p;
        }

        // Whitespace run [pos, e).
        var e = pos + len;
        var lastStart = pos;
        var afterLastNewline = cls == CharClass.Newline ? e : -1;
        while (e < n)
        {
            var c = CharClasses.Classify(text, e, out var l);
            if (c == CharClass.Newline) afterLastNewline = e + l;
            else if (c != CharClass.Space) break;
            lastStart = e;
            e += l;
        }
        // \s*[\r\n]+ : the run up to and including its last CR/LF.
        if (afterLastNewline >= 0) return afterLastNewline;
        // \s+(?!\S) | \s+
        if (e == n || lastStart == pos) return e;
        return lastStart;
    }

    /// <summary>End of <c>(?i:s|t|re|ve|m|ll|d)</c> at <paramref name="p"/>, or 0. Case folding includes U+017F (ſ) for s, as Rust's regex does.</summary>
    internal static int ContractionEnd(ReadOnlySpan<byte> text, int p)
    {
        var b1 = text[p] | 0x20;
        if (b1 is 's' or 't' or 'm' or 'd') return p + 1;
        // U+017F LATIN SMALL LETTER LONG S = C5 BF, simple case-folds to 's'.
        if (text[p] == 0xC5 && p + 1 < text.Length && text[p + 1] == 0xBF) return p + 2;
        if (p + 1 < text.Length)
        {
            var b2 = text[p + 1] | 0x20;
            if ((b1 == 'r' && b2 == 'e') || (b1 == 'v' && b2 == 'e') || (b1 == 'l' && b2 == 'l')) return p + 2;
        }
        return 0;
    }
}
