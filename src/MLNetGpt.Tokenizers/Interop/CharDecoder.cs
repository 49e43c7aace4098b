// Decoding ids into a caller's char buffer, a character at a time, as Tokenizer.Decode(ids, destination, ...) specifies.
using System.Buffers;
using System.Text.Unicode;

namespace MLNetGpt.Tokenizers.Interop;

/// <summary>The bytes of one token id, or false for an id the tokenizer does not have.</summary>
internal delegate bool TokenBytesLookup(int id, out ReadOnlySpan<byte> bytes);

/// <summary>
/// <c>Decode(IEnumerable&lt;int&gt;, Span&lt;char&gt;, out int, out int)</c> with TiktokenTokenizer's contract: ids are
/// consumed only when their bytes end on a character boundary, so a character cut by byte-level tokens is written whole
/// or not at all. <see cref="OperationStatus.DestinationTooSmall"/> reports the prefix that fits,
/// <see cref="OperationStatus.NeedMoreData"/> ids that end inside a character, and
/// <see cref="OperationStatus.InvalidData"/> an unknown id or bytes that are not UTF-8 (the string overload replaces those with U+FFFD instead).
/// </summary>
internal static class CharDecoder
{
    public static OperationStatus Decode(IEnumerable<int> ids, TokenBytesLookup lookup, Span<char> destination, out int idsConsumed, out int charsWritten)
    {
        ArgumentNullException.ThrowIfNull(ids);
        idsConsumed = 0;
        charsWritten = 0;
        // pending: bytes of the current ids not yet decoded (the start of a cut character, at most 3 bytes) plus the next token.
        var pending = ArrayPool<byte>.Shared.Rent(256);
        try
        {
            var pendingCount = 0;
            var written = 0;   // chars written, complete characters included even if their ids are not counted yet
            var idsSeen = 0;
            foreach (var id in ids)
            {
                if (!lookup(id, out var bytes)) return OperationStatus.InvalidData;
                idsSeen++;
                if (pendingCount + bytes.Length > pending.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(pendingCount + bytes.Length);
                    pending.AsSpan(0, pendingCount).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(pending);
                    pending = larger;
                }
                bytes.CopyTo(pending.AsSpan(pendingCount));
                pendingCount += bytes.Length;
                var status = Utf8.ToUtf16(pending.AsSpan(0, pendingCount), destination[written..], out var read, out var chars,
                    replaceInvalidSequences: false, isFinalBlock: false);
                if (status == OperationStatus.InvalidData) return OperationStatus.InvalidData;
                if (status == OperationStatus.DestinationTooSmall) return OperationStatus.DestinationTooSmall;
                written += chars;
                pending.AsSpan(read, pendingCount - read).CopyTo(pending);
                pendingCount -= read;
                if (pendingCount == 0)
                {
                    idsConsumed = idsSeen;
                    charsWritten = written;
                }
            }
            return pendingCount == 0 ? OperationStatus.Done : OperationStatus.NeedMoreData;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(pending);
        }
    }

    /// <summary>A list or array as a span without copying; anything else is copied once.</summary>
    public static ReadOnlySpan<int> AsSpan(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return ids switch
        {
            int[] array => array,
            List<int> list => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list),
            _ => ids.ToArray(),
        };
    }
}
