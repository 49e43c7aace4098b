// One token with the UTF-16 range of the text it came from, and a growable buffer of them (the offsets path's scratch).
namespace MLNetGpt.Tokenizers.Interop;

/// <summary>
/// A token id and its text range [<see cref="Start"/>, <see cref="End"/>) in UTF-16 code units. A byte-level token that
/// cuts a character covers that whole character, so neighbouring tokens may share a range (TiktokenTokenizer's rule).
/// </summary>
internal readonly record struct TokenSpan(int Id, int Start, int End);

/// <summary>Append-only list of <see cref="TokenSpan"/>, reused by one call.</summary>
internal sealed class TokenSpanBuffer
{
    private TokenSpan[] _items = new TokenSpan[64];

    public int Count { get; private set; }

    public ReadOnlySpan<TokenSpan> Span => _items.AsSpan(0, Count);

    public void Add(TokenSpan token)
    {
        if (Count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
        _items[Count++] = token;
    }

    public void Clear() => Count = 0;
}

/// <summary>Receives the tokens of one piece (a special token, or one split-pattern match) at a time, in text order.</summary>
internal interface IPieceTokensSink
{
    /// <summary>Takes the tokens of the piece [<paramref name="pieceStart"/>, <paramref name="pieceEnd"/>); false stops the walk.</summary>
    bool OnPiece(int pieceStart, int pieceEnd, ReadOnlySpan<TokenSpan> tokens);
}
