// Splits text into UTF-8 pieces with a split pattern, around special-token strings; shared by the encoder and the trainer.
using System.Buffers;
using System.Text.Unicode;

namespace MLNetGpt.Tokenizers.Bpe;

/// <summary>Receives the UTF-8 bytes of each piece, in text order.</summary>
internal interface IPieceSink
{
    void OnPiece(ReadOnlySpan<byte> piece);
}

/// <summary>Runs the split pattern over a text segment that holds no special tokens.</summary>
internal static class ChunkSplitter
{
    /// <summary>Calls <paramref name="sink"/> for each piece of <paramref name="segment"/>. Lone surrogates become U+FFFD.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void Split<TSink>(ReadOnlySpan<char> segment, SplitPattern pattern, ref TSink sink)
        where TSink : struct, IPieceSink
    {
        if (segment.IsEmpty) return;
        if (pattern.Kind == SplitPatternKind.Custom)
        {
            SplitRegex(segment, pattern, ref sink);
            return;
        }
        var buffer = Text.Utf8Conversion.RentUtf8(segment, out var length);
        try
        {
            var text = buffer.AsSpan(0, length);
            var pos = 0;
            switch (pattern.Kind)
            {
                case SplitPatternKind.Gpt2:
                    while (pos < text.Length)
                    {
                        var end = PreTokenization.Gpt2PreTokenizer.NextPieceEnd(text, pos);
                        sink.OnPiece(text[pos..end]);
                        pos = end;
                    }
                    break;
                case SplitPatternKind.Cl100k:
                    while (pos < text.Length)
                    {
                        var end = PreTokenization.Cl100kPreTokenizer.NextPieceEnd(text, pos);
                        sink.OnPiece(text[pos..end]);
                        pos = end;
                    }
                    break;
                case SplitPatternKind.O200k:
                    while (pos < text.Length)
                    {
                        var end = PreTokenization.O200kPreTokenizer.NextPieceEnd(text, pos);
                        sink.OnPiece(text[pos..end]);
                        pos = end;
                    }
                    break;
                default:
                    sink.OnPiece(text);
                    break;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void SplitRegex<TSink>(ReadOnlySpan<char> segment, SplitPattern pattern, ref TSink sink)
        where TSink : struct, IPieceSink
    {
        var buffer = ArrayPool<byte>.Shared.Rent(256);
        try
        {
            foreach (var m in pattern.CompiledRegex!.EnumerateMatches(segment))
            {
                var chars = segment.Slice(m.Index, m.Length);
                if (buffer.Length < chars.Length * 3)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(chars.Length * 3);
                }
                Utf8.FromUtf16(chars, buffer, out _, out var written, replaceInvalidSequences: true);
                sink.OnPiece(buffer.AsSpan(0, written));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
