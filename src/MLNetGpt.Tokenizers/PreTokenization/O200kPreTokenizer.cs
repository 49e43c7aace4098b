// Hand-written matcher for o200k_base's (GPT-4o's) split pattern, over UTF-8 code points.
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace MLNetGpt.Tokenizers.PreTokenization;

/// <summary>
/// Splits text as tiktoken's o200k_base pattern does (leftmost-first alternation, greedy quantifiers with backtracking):
/// <code>
/// [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
/// |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
/// |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
/// </code>
/// Write U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] ("upper-ish") and W = [\p{Ll}\p{Lm}\p{Lo}\p{M}] ("lower-ish"); Lm, Lo and
/// marks are in both, and marks are also in the optional prefix class P = [^\r\n\p{L}\p{N}]. A backtracking engine tries,
/// in this order: P consumed then U*W+, P empty then U*W+, P consumed then U+W*, P empty then U+W*.
/// <para>U*W+ from p: U* first takes the whole U-run [p, r). If the character at r is in W (it can only be Ll), W+ takes
/// the W-run from r. Otherwise U* gives back characters until W+ can start: W+ then takes exactly the last character of the
/// run that is also in W (Lm, Lo or a mark), because everything after it in the run is Lu/Lt. So the match ends after the
/// last Lm/Lo/mark of the run, or fails when the run has none. U+W* needs a non-empty U-run and takes the W-run after it.</para>
/// </summary>
internal static class O200kPreTokenizer
{
    private static readonly O200kClass[] Ascii = BuildAscii();

    /// <summary>End (exclusive) of the piece that starts at <paramref name="pos"/> (&lt; text.Length).</summary>
    public static int NextPieceEnd(ReadOnlySpan<byte> text, int pos)
    {
        var n = text.Length;
        var c0 = Classify(text, pos, out var len0);
        var prefix = c0 is O200kClass.Space or O200kClass.Other or O200kClass.Mark; // [^\r\n\p{L}\p{N}]

        // Alternatives 1 and 2: letters with an optional leading character and a contraction suffix.
        int end;
        if (prefix && (end = UpperStarLowerPlus(text, pos + len0)) >= 0) return WithContraction(text, end);
        if ((end = UpperStarLowerPlus(text, pos)) >= 0) return WithContraction(text, end);
        if (prefix && (end = UpperPlusLowerStar(text, pos + len0)) >= 0) return WithContraction(text, end);
        if ((end = UpperPlusLowerStar(text, pos)) >= 0) return WithContraction(text, end);

        // \p{N}{1,3}
        if (c0 == O200kClass.Number)
        {
            var p = pos + len0;
            for (var k = 1; k < 3 && p < n; k++)
            {
                if (Classify(text, p, out var l) != O200kClass.Number) break;
                p += l;
            }
            return p;
        }

        // " ?[^\s\p{L}\p{N}]+[\r\n/]*"
        var otherStart = -1;
        if (c0 is O200kClass.Other or O200kClass.Mark) otherStart = pos;
        else if (text[pos] == (byte)' ' && pos + 1 < n && Classify(text, pos + 1, out _) is O200kClass.Other or O200kClass.Mark) otherStart = pos + 1;
        if (otherStart >= 0)
        {
            var p = otherStart;
            while (p < n && Classify(text, p, out var l) is O200kClass.Other or O200kClass.Mark) p += l;
            while (p < n && text[p] is (byte)'\r' or (byte)'\n' or (byte)'/') p++;
            return p;
        }

        // Whitespace run [pos, e): \s*[\r\n]+ ends after its last CR/LF; else \s+(?!\S) leaves the last character
        // for the next piece when a non-space follows, and \s+ takes a single character.
        var e = pos + len0;
        var lastStart = pos;
        var afterLastNewline = c0 == O200kClass.Newline ? e : -1;
        while (e < n)
        {
            var c = Classify(text, e, out var l);
            if (c == O200kClass.Newline) afterLastNewline = e + l;
            else if (c != O200kClass.Space) break;
            lastStart = e;
            e += l;
        }
        if (afterLastNewline >= 0) return afterLastNewline;
        if (e == n || lastStart == pos) return e;
        return lastStart;
    }

    /// <summary>End of U*W+ at <paramref name="p"/>, or -1.</summary>
    private static int UpperStarLowerPlus(ReadOnlySpan<byte> text, int p)
    {
        var afterLastBoth = -1;
        while (p < text.Length)
        {
            var c = Classify(text, p, out var l);
            if (c is O200kClass.Upper) p += l;
            else if (c is O200kClass.Letter or O200kClass.Mark)
            {
                p += l;
                afterLastBoth = p;
            }
            else if (c == O200kClass.Lower) return LowerRunEnd(text, p + l);
            else break;
        }
        return afterLastBoth;
    }

    /// <summary>End of U+W* at <paramref name="p"/>, or -1.</summary>
    private static int UpperPlusLowerStar(ReadOnlySpan<byte> text, int p)
    {
        var start = p;
        while (p < text.Length && Classify(text, p, out var l) is O200kClass.Upper or O200kClass.Letter or O200kClass.Mark) p += l;
        return p == start ? -1 : LowerRunEnd(text, p);
    }

    /// <summary>End of the run of W characters (Ll, Lm, Lo, marks) from <paramref name="p"/>.</summary>
    private static int LowerRunEnd(ReadOnlySpan<byte> text, int p)
    {
        while (p < text.Length && Classify(text, p, out var l) is O200kClass.Lower or O200kClass.Letter or O200kClass.Mark) p += l;
        return p;
    }

    /// <summary>Extends <paramref name="end"/> over <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)?</c>.</summary>
    private static int WithContraction(ReadOnlySpan<byte> text, int end)
    {
        if (end + 1 < text.Length && text[end] == (byte)'\'')
        {
            var contraction = Cl100kPreTokenizer.ContractionEnd(text, end + 1);
            if (contraction > 0) return contraction;
        }
        return end;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static O200kClass Classify(ReadOnlySpan<byte> text, int pos, out int length)
    {
        var b = text[pos];
        if (b < 0x80)
        {
            length = 1;
            return Ascii[b];
        }
        return ClassifyNonAscii(text[pos..], out length);
    }

    private static O200kClass ClassifyNonAscii(ReadOnlySpan<byte> text, out int length)
    {
        if (Rune.DecodeFromUtf8(text, out var rune, out length) != System.Buffers.OperationStatus.Done)
        {
            length = Math.Max(1, length); // never produced by our own UTF-8 conversion
            return O200kClass.Other;
        }
        return Classify(rune);
    }

    /// <summary>Class of one code point.</summary>
    internal static O200kClass Classify(Rune rune)
    {
        var v = rune.Value;
        if (v is '\r' or '\n') return O200kClass.Newline;
        if (CharClasses.IsWhiteSpace(v)) return O200kClass.Space;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.TitlecaseLetter => O200kClass.Upper,
            UnicodeCategory.LowercaseLetter => O200kClass.Lower,
            UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => O200kClass.Letter,
            UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => O200kClass.Mark,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => O200kClass.Number,
            _ => O200kClass.Other,
        };
    }

    private static O200kClass[] BuildAscii()
    {
        var table = new O200kClass[128];
        for (var c = 0; c < 128; c++) table[c] = Classify(new Rune(c));
        return table;
    }
}

/// <summary>The character classes o200k_base's pattern distinguishes.</summary>
internal enum O200kClass : byte
{
    /// <summary>Not \s, \p{L}, \p{N} or \p{M}: punctuation, symbols, controls, U+FEFF, ...</summary>
    Other = 0,

    /// <summary>Lu, Lt: in U only.</summary>
    Upper = 1,

    /// <summary>Ll: in W only.</summary>
    Lower = 2,

    /// <summary>Lm, Lo: in both U and W.</summary>
    Letter = 3,

    /// <summary>Mn, Mc, Me: in U and W, and not \p{L}, so also in [^\r\n\p{L}\p{N}] and [^\s\p{L}\p{N}].</summary>
    Mark = 4,

    /// <summary>\p{N}: Nd, Nl, No.</summary>
    Number = 5,

    /// <summary>\s other than CR and LF (Unicode White_Space).</summary>
    Space = 6,

    /// <summary>U+000D or U+000A.</summary>
    Newline = 7,
}
