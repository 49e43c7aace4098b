// Classifies code points into the classes the GPT-2/cl100k split patterns test: \p{L}, \p{N}, \s, [\r\n], other.
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace MLNetGpt.Tokenizers.PreTokenization;

/// <summary>The character classes of the split patterns. CR and LF are whitespace with a class of their own (cl100k tests them).</summary>
internal enum CharClass : byte
{
    /// <summary>Not \s, \p{L} or \p{N}: punctuation, symbols, marks, controls, U+FEFF, ...</summary>
    Other = 0,

    /// <summary>\p{L}: general categories Lu, Ll, Lt, Lm, Lo.</summary>
    Letter = 1,

    /// <summary>\p{N}: Nd, Nl, No.</summary>
    Number = 2,

    /// <summary>\s other than CR and LF (Unicode White_Space).</summary>
    Space = 3,

    /// <summary>U+000D or U+000A.</summary>
    Newline = 4,
}

/// <summary>Code point classification over UTF-8 text.</summary>
internal static class CharClasses
{
    private static readonly CharClass[] Ascii = BuildAscii();

    /// <summary>Class of the code point starting at <paramref name="pos"/>; <paramref name="length"/> gets its UTF-8 length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CharClass Classify(ReadOnlySpan<byte> text, int pos, out int length)
    {
        var b = text[pos];
        if (b < 0x80)
        {
            length = 1;
            return Ascii[b];
        }
        return ClassifyNonAscii(text[pos..], out length);
    }

    private static CharClass ClassifyNonAscii(ReadOnlySpan<byte> text, out int length)
    {
        if (Rune.DecodeFromUtf8(text, out var rune, out length) != System.Buffers.OperationStatus.Done)
        {
            // Our own conversion never produces invalid UTF-8; a stray byte is a lone "other" character.
            length = Math.Max(1, length);
            return CharClass.Other;
        }
        return Classify(rune);
    }

    /// <summary>Class of one code point.</summary>
    public static CharClass Classify(Rune rune)
    {
        var v = rune.Value;
        if (v == '\r' || v == '\n') return CharClass.Newline;
        if (IsWhiteSpace(v)) return CharClass.Space;
        switch (Rune.GetUnicodeCategory(rune))
        {
            case UnicodeCategory.UppercaseLetter:
            case UnicodeCategory.LowercaseLetter:
            case UnicodeCategory.TitlecaseLetter:
            case UnicodeCategory.ModifierLetter:
            case UnicodeCategory.OtherLetter:
                return CharClass.Letter;
            case UnicodeCategory.DecimalDigitNumber:
            case UnicodeCategory.LetterNumber:
            case UnicodeCategory.OtherNumber:
                return CharClass.Number;
            default:
                return CharClass.Other;
        }
    }

    /// <summary>Unicode White_Space (what Rust's and .NET's \s match): not U+FEFF, U+200B or U+180E.</summary>
    public static bool IsWhiteSpace(int v) =>
        v is >= 0x09 and <= 0x0D or 0x20 or 0x85 or 0xA0 or 0x1680 or (>= 0x2000 and <= 0x200A)
            or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000;

    private static CharClass[] BuildAscii()
    {
        var table = new CharClass[128];
        for (var c = 0; c < 128; c++) table[c] = Classify(new Rune(c));
        return table;
    }
}
