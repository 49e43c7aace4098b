// UTF-16 → UTF-8 conversion shared by the tokenizers; lone surrogates become U+FFFD, as Python tiktoken does.
using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace MLNetGpt.Tokenizers.Text;

/// <summary>
/// Converts text to UTF-8 with the documented lone-surrogate policy: every unpaired surrogate is replaced by
/// U+FFFD (bytes EF BF BD). Python tiktoken does the same (it re-encodes with <c>errors="replace"</c>), so ids
/// stay identical; decode(encode(s)) then returns s with each lone surrogate replaced.
/// </summary>
internal static class Utf8Conversion
{
    /// <summary>Converts into a pooled buffer; the caller returns it with <see cref="ArrayPool{T}.Shared"/>.</summary>
    public static byte[] RentUtf8(ReadOnlySpan<char> text, out int length)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(16, text.Length * 3));
        Utf8.FromUtf16(text, buffer, out _, out length, replaceInvalidSequences: true);
        return buffer;
    }

    /// <summary>UTF-8 bytes of <paramref name="text"/> (lone surrogates → U+FFFD).</summary>
    public static byte[] GetBytes(ReadOnlySpan<char> text)
    {
        var buffer = RentUtf8(text, out var length);
        var result = buffer.AsSpan(0, length).ToArray();
        ArrayPool<byte>.Shared.Return(buffer);
        return result;
    }

    /// <summary>Decodes UTF-8 replacing each maximal invalid subpart with U+FFFD (tiktoken's <c>decode</c>).</summary>
    public static string GetString(ReadOnlySpan<byte> utf8) => Encoding.UTF8.GetString(utf8);
}
