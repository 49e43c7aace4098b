// UTF-16 → UTF-8 with, for every byte, the index of the UTF-16 character it came from (to turn byte ranges into offsets).
using System.Text;

namespace MLNetGpt.Tokenizers.Interop;

/// <summary>UTF-8 conversion that records where each byte came from; lone surrogates become U+FFFD as in <see cref="Text.Utf8Conversion"/>.</summary>
internal static class Utf8IndexMap
{
    /// <summary>
    /// Writes the UTF-8 of <paramref name="text"/> to <paramref name="bytes"/> (room for 3 bytes per char) and, for byte
    /// <c>b</c>, the index of its character to <c>map[b]</c>; <c>map[length] = text.Length</c>. Returns the byte count.
    /// </summary>
    public static int Convert(ReadOnlySpan<char> text, Span<byte> bytes, Span<int> map)
    {
        var at = 0;
        for (var i = 0; i < text.Length;)
        {
            int written;
            var c = text[i];
            if (c < 0x80)
            {
                bytes[at] = (byte)c;
                map[at++] = i++;
                continue;
            }
            Rune.DecodeFromUtf16(text[i..], out var rune, out var consumed); // a lone surrogate decodes as U+FFFD
            written = rune.EncodeToUtf8(bytes[at..]);
            map.Slice(at, written).Fill(i);
            at += written;
            i += consumed;
        }
        map[at] = text.Length;
        return at;
    }

    /// <summary>
    /// The UTF-16 range of bytes [<paramref name="byteStart"/>, <paramref name="byteEnd"/>): from the character holding the
    /// first byte to the end of the character holding the last (TiktokenTokenizer's rule for tokens that cut a character).
    /// </summary>
    public static (int Start, int End) CharRange(ReadOnlySpan<int> map, int byteStart, int byteEnd)
    {
        var end = byteEnd;
        // map[byteEnd] is the next character's index unless the token stopped inside a character; then walk to its end.
        while (map[end] == map[end - 1]) end++;
        return (map[byteStart], map[end]);
    }
}
