// BpeTokenizer as a Microsoft.ML.Tokenizers.Tokenizer: TiktokenTokenizer's results, computed by our encoder.
using System.Buffers;
using Microsoft.ML.Tokenizers;
using MLNetGpt.Tokenizers.Bpe;
using MLNetGpt.Tokenizers.Interop;
using MLNetGpt.Tokenizers.Text;

namespace MLNetGpt.Tokenizers;

/// <remarks>
/// The <see cref="Tokenizer"/> members follow Microsoft's <c>TiktokenTokenizer</c> (2.0.1):
/// <list type="bullet">
/// <item>Special-token strings in the text become their ids (tiktoken's <c>allowed_special="all"</c>).</item>
/// <item><c>considerPreTokenization: false</c> encodes the whole text as one piece with no special-token search (a text
/// that is exactly a special token still gives its id).</item>
/// <item>Offsets are UTF-16 ranges; a byte-level token that cuts a character covers the whole character, so the tokens
/// of one character share its range, and a budget (<c>maxTokenCount</c>) never splits them.</item>
/// <item>There is no normalizer: <c>normalizedText</c> is always null.</item>
/// </list>
/// Two TiktokenTokenizer 2.0.1 slips we do not copy: <c>GetIndexByTokenCountFromEnd</c> honours
/// <c>considerPreTokenization</c> (TiktokenTokenizer reads <c>considerNormalization</c> in its place, so the two agree
/// whenever both flags are equal, the default), and <c>EncodeToIds</c> with <c>considerPreTokenization: false</c>
/// honours <c>maxTokenCount</c> (TiktokenTokenizer returns every token there; its <c>GetIndexByTokenCount</c> agrees with ours).
/// Where we differ on purpose: ids follow tiktoken, not TiktokenTokenizer, on astral-plane letters and digits (.NET's
/// regex sees surrogate halves) and on lone surrogates (U+FFFD, as Python tiktoken); decoding an id the vocabulary does
/// not have throws instead of skipping it.
/// </remarks>
public sealed partial class BpeTokenizer
{
    /// <inheritdoc/>
    protected override EncodeResults<int> EncodeToIds(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        TiktokenLimits.CheckBudget(settings.MaxTokenCount);
        var span = text is null ? textSpan : text.AsSpan();
        if (span.IsEmpty) return new EncodeResults<int> { Tokens = [], CharsConsumed = 0 };
        if (settings.ConsiderPreTokenization && settings.MaxTokenCount == int.MaxValue && Pattern.Kind != SplitPatternKind.Custom)
        {
            // The fast path: no offsets needed, and the split covers the text, so every char is consumed.
            var buffer = IdBuffer.RentForThread();
            EncodeCore(span, SpecialTokenMode.Allowed, buffer);
            return new EncodeResults<int> { Tokens = buffer.ToArray(), CharsConsumed = span.Length };
        }
        var ids = new List<int>();
        var sink = new TiktokenLimits.FromStart { Budget = settings.MaxTokenCount, Ids = ids };
        ForEachPiece(span, settings.ConsiderPreTokenization, ref sink);
        return new EncodeResults<int> { Tokens = ids, CharsConsumed = sink.CharsConsumed };
    }

    /// <inheritdoc/>
    protected override EncodeResults<EncodedToken> EncodeToTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var span = text is null ? textSpan : text.AsSpan();
        if (span.IsEmpty) return new EncodeResults<EncodedToken> { Tokens = [], CharsConsumed = 0 };
        var sink = new TiktokenLimits.AllPieces { Pieces = [] };
        ForEachPiece(span, settings.ConsiderPreTokenization, ref sink);
        var tokens = new List<EncodedToken>();
        foreach (var (_, _, pieceTokens) in sink.Pieces)
        {
            foreach (var t in pieceTokens)
            {
                var value = text is null ? span[t.Start..t.End].ToString() : text.Substring(t.Start, t.End - t.Start);
                tokens.Add(new EncodedToken(t.Id, value, new Range(t.Start, t.End)));
            }
        }
        return new EncodeResults<EncodedToken> { Tokens = tokens, CharsConsumed = span.Length };
    }

    /// <inheritdoc/>
    protected override int CountTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        TiktokenLimits.CheckBudget(settings.MaxTokenCount);
        var span = text is null ? textSpan : text.AsSpan();
        if (span.IsEmpty) return 0;
        if (settings.ConsiderPreTokenization && settings.MaxTokenCount == int.MaxValue)
        {
            var buffer = IdBuffer.RentForThread();
            EncodeCore(span, SpecialTokenMode.Allowed, buffer);
            return buffer.Count;
        }
        var sink = new TiktokenLimits.FromStart { Budget = settings.MaxTokenCount };
        ForEachPiece(span, settings.ConsiderPreTokenization, ref sink);
        return sink.Count;
    }

    /// <inheritdoc/>
    protected override int GetIndexByTokenCount(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings, bool fromEnd, out string? normalizedText, out int tokenCount)
    {
        normalizedText = null;
        TiktokenLimits.CheckBudget(settings.MaxTokenCount);
        var span = text is null ? textSpan : text.AsSpan();
        if (span.IsEmpty)
        {
            tokenCount = 0;
            return 0;
        }
        if (fromEnd)
        {
            var pieces = new TiktokenLimits.AllPieces { Pieces = [] };
            ForEachPiece(span, settings.ConsiderPreTokenization, ref pieces);
            return pieces.IndexFromEnd(settings.MaxTokenCount, out tokenCount);
        }
        var sink = new TiktokenLimits.FromStart { Budget = settings.MaxTokenCount };
        ForEachPiece(span, settings.ConsiderPreTokenization, ref sink);
        tokenCount = sink.Count;
        return sink.CharsConsumed;
    }

    /// <summary>Decodes ids to a string (invalid UTF-8 becomes U+FFFD); the same as <see cref="Decode(ReadOnlySpan{int})"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="ids"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, VocabularySize) or unused.</exception>
    public override string Decode(IEnumerable<int> ids) => Decode(CharDecoder.AsSpan(ids));

    /// <inheritdoc/>
    public override OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, out int idsConsumed, out int charsWritten) =>
        CharDecoder.Decode(ids, TryGetTokenBytes, destination, out idsConsumed, out charsWritten);

    private bool TryGetTokenBytes(int id, out ReadOnlySpan<byte> bytes)
    {
        if ((uint)id >= (uint)_vocabularySize || _decodeLength[id] < 0)
        {
            bytes = default;
            return false;
        }
        bytes = _decodeBytes.AsSpan(_decodeStart[id], _decodeLength[id]);
        return true;
    }

    // ---------------------------------------------------------------- pieces with offsets

    /// <summary>
    /// Walks <paramref name="text"/> piece by piece with each token's UTF-16 range: with <paramref name="preTokenize"/>,
    /// special tokens (one piece each) and the split pattern's matches between them; without, the whole text as one piece.
    /// </summary>
    internal void ForEachPiece<TSink>(ReadOnlySpan<char> text, bool preTokenize, ref TSink sink)
        where TSink : struct, IPieceTokensSink
    {
        var scratch = new TokenSpanBuffer();
        if (!preTokenize)
        {
            if (_specialLookup.TryGetValue(text, out var wholeId))
            {
                scratch.Add(new TokenSpan(wholeId, 0, text.Length));
                sink.OnPiece(0, text.Length, scratch.Span);
                return;
            }
            EncodeSegment(text, 0, split: false, ref sink, scratch);
            return;
        }
        var cache = _specialMatcher.NewCache();
        var pos = 0;
        while (true)
        {
            var at = _specialMatcher.FindNext(text, pos, cache, out var length, out var id, out _);
            if (at < 0)
            {
                EncodeSegment(text[pos..], pos, split: true, ref sink, scratch);
                return;
            }
            if (!EncodeSegment(text[pos..at], pos, split: true, ref sink, scratch)) return;
            scratch.Clear();
            scratch.Add(new TokenSpan(id, at, at + length));
            if (!sink.OnPiece(at, at + length, scratch.Span)) return;
            pos = at + length;
        }
    }

    /// <summary>One segment without special tokens, starting at <paramref name="offset"/> in the text; false when the sink stopped.</summary>
    private bool EncodeSegment<TSink>(ReadOnlySpan<char> segment, int offset, bool split, ref TSink sink, TokenSpanBuffer scratch)
        where TSink : struct, IPieceTokensSink
    {
        if (segment.IsEmpty) return true;
        if (split && Pattern.Kind == SplitPatternKind.Custom)
        {
            // A .NET regex matches UTF-16; text between matches is dropped, as tiktoken's find_iter does.
            foreach (var m in Pattern.CompiledRegex!.EnumerateMatches(segment))
                if (!EncodeSegment(segment.Slice(m.Index, m.Length), offset + m.Index, split: false, ref sink, scratch)) return false;
            return true;
        }
        var bytes = ArrayPool<byte>.Shared.Rent(segment.Length * 3);
        var map = ArrayPool<int>.Shared.Rent(segment.Length * 3 + 1);
        try
        {
            var n = Utf8IndexMap.Convert(segment, bytes, map);
            var utf8 = bytes.AsSpan(0, n);
            var ids = new IdBuffer(64);
            for (var pos = 0; pos < n;)
            {
                var end = split ? Pattern.NextPieceEnd(utf8, pos) : n;
                ids.Clear();
                _model.EncodePiece(utf8[pos..end], ids);
                scratch.Clear();
                var tokenStart = pos;
                foreach (var id in ids.Span)
                {
                    var tokenEnd = tokenStart + _decodeLength[id];
                    var (start, stop) = Utf8IndexMap.CharRange(map, tokenStart, tokenEnd);
                    scratch.Add(new TokenSpan(id, offset + start, offset + stop));
                    tokenStart = tokenEnd;
                }
                if (!sink.OnPiece(offset + map[pos], offset + map[end], scratch.Span)) return false;
                pos = end;
            }
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
            ArrayPool<int>.Shared.Return(map);
        }
    }
}
