// The byte-level BPE model: token byte strings, the pair → merged-id table, and the merge loop on one piece.
using MLNetGpt.Tokenizers.Text;

namespace MLNetGpt.Tokenizers.Bpe;

/// <summary>
/// Ordinary (non-special) tokens 0..TokenCount-1 and how adjacent tokens merge.
/// Two constructions give the two semantics we need with one merge loop:
/// <list type="bullet">
/// <item><see cref="FromRanks"/> (tiktoken): a pair merges when its concatenated bytes are a token, lowest rank first,
/// and a piece that is itself a token is emitted whole. The pair table holds every split of every token into two tokens,
/// so "is the concatenation a token" is one pair lookup.</item>
/// <item><see cref="FromMerges"/> (minbpe): only the learned merges apply, in merge order; ids 0..255 are the bytes.</item>
/// </list>
/// </summary>
internal sealed class BpeModel
{
    /// <summary>Pieces up to this many bytes merge with an O(n²) scan on the stack; longer ones use a heap.</summary>
    private const int SmallPieceBytes = 128;

    private readonly int[] _byteToId;
    private readonly PairTable _pairs;
    private readonly ByteSpanTable? _wholeTokens;

    // Token bytes back to back (few large objects keep full GCs cheap): token i is _arena[_offsets[i] .. _offsets[i + 1]).
    private readonly byte[] _arena;
    private readonly int[] _offsets;

    private BpeModel(byte[][] tokens, int[] byteToId, PairTable pairs, ByteSpanTable? wholeTokens, (int Left, int Right)[]? merges)
    {
        _offsets = new int[tokens.Length + 1];
        for (var i = 0; i < tokens.Length; i++) _offsets[i + 1] = checked(_offsets[i] + tokens[i].Length);
        _arena = new byte[_offsets[^1]];
        for (var i = 0; i < tokens.Length; i++) tokens[i].CopyTo(_arena, _offsets[i]);
        _byteToId = byteToId;
        _pairs = pairs;
        _wholeTokens = wholeTokens;
        Merges = merges;
    }

    /// <summary>Bytes of ordinary token <paramref name="id"/>.</summary>
    public ReadOnlySpan<byte> Token(int id) => _arena.AsSpan(_offsets[id], _offsets[id + 1] - _offsets[id]);

    /// <summary>Total bytes of all ordinary tokens.</summary>
    public int TotalTokenBytes => _arena.Length;

    public int TokenCount => _offsets.Length - 1;

    /// <summary>The learned merges (merges semantics), or null for a rank table.</summary>
    public (int Left, int Right)[]? Merges { get; }

    /// <summary>True for tiktoken semantics (ranks of byte strings).</summary>
    public bool IsRankTable => Merges is null;

    /// <summary>The id whose bytes are <paramref name="bytes"/> (rank tables only).</summary>
    public bool TryGetTokenId(ReadOnlySpan<byte> bytes, out int id)
    {
        if (_wholeTokens is null)
        {
            id = -1;
            return false;
        }
        return _wholeTokens.TryGetValue(bytes, out id);
    }

    /// <summary>Builds tiktoken semantics from byte strings indexed by rank; the caller has checked uniqueness and all 256 bytes.</summary>
    public static BpeModel FromRanks(byte[][] tokens)
    {
        var table = new ByteSpanTable(tokens.Length, tokens.Sum(t => t.Length));
        for (var id = 0; id < tokens.Length; id++)
        {
            table.GetOrAdd(tokens[id], id, out var added);
            if (!added) throw new ArgumentException($"Token bytes of rank {id} repeat an earlier token.", nameof(tokens));
        }
        var byteToId = new int[256];
        Span<byte> one = stackalloc byte[1];
        for (var b = 0; b < 256; b++)
        {
            one[0] = (byte)b;
            if (!table.TryGetValue(one, out byteToId[b]))
                throw new ArgumentException($"The rank table has no token for the single byte 0x{b:X2}; byte-level BPE needs all 256.", nameof(tokens));
        }
        // Every split of a token into two tokens is a pair that merges into it.
        var pairs = new PairTable(tokens.Length * 4);
        for (var id = 0; id < tokens.Length; id++)
        {
            var t = tokens[id];
            for (var k = 1; k < t.Length; k++)
            {
                if (table.TryGetValue(t.AsSpan(0, k), out var left) && table.TryGetValue(t.AsSpan(k), out var right))
                    pairs.Set(left, right, id);
            }
        }
        return new BpeModel(tokens, byteToId, pairs, table, null);
    }

    /// <summary>Builds minbpe semantics: ids 0..255 are bytes, merge i makes id 256 + i.</summary>
    /// <exception cref="ArgumentException">A merge names an id not yet defined, or repeats a pair.</exception>
    public static BpeModel FromMerges(IReadOnlyList<(int Left, int Right)> merges)
    {
        var tokens = new byte[256 + merges.Count][];
        var byteToId = new int[256];
        for (var b = 0; b < 256; b++)
        {
            tokens[b] = [(byte)b];
            byteToId[b] = b;
        }
        var pairs = new PairTable(merges.Count + 16);
        for (var i = 0; i < merges.Count; i++)
        {
            var (left, right) = merges[i];
            var id = 256 + i;
            if ((uint)left >= (uint)id || (uint)right >= (uint)id)
                throw new ArgumentException($"Merge {i} ({left}, {right}) uses an id that is not defined before id {id}.", nameof(merges));
            if (!pairs.Set(left, right, id))
                throw new ArgumentException($"Merge {i} ({left}, {right}) repeats an earlier merge.", nameof(merges));
            tokens[id] = [.. tokens[left], .. tokens[right]];
        }
        return new BpeModel(tokens, byteToId, pairs, null, merges.ToArray());
    }

    /// <summary>Encodes one piece (its UTF-8 bytes) and appends the ids; <paramref name="cache"/>, when given, memoizes merged pieces.</summary>
    public void EncodePiece(ReadOnlySpan<byte> piece, IdBuffer output, PieceCache? cache = null)
    {
        if (piece.Length == 1)
        {
            output.Add(_byteToId[piece[0]]);
            return;
        }
        if (piece.Length == 0) return;
        if (_wholeTokens is not null && _wholeTokens.TryGetValue(piece, out var whole))
        {
            output.Add(whole);
            return;
        }
        if (cache is not null && piece.Length <= PieceCache.MaxPieceBytes)
        {
            var hash = ByteSpanTable.Hash(piece);
            if (cache.TryAppend(piece, hash, output)) return;
            var before = output.Count;
            MergeSmall(piece, output);
            cache.Add(piece, hash, output.Span[before..]);
            return;
        }
        if (piece.Length <= SmallPieceBytes) MergeSmall(piece, output);
        else MergeLarge(piece, output);
    }

    /// <summary>tiktoken's loop: find the lowest-ranked adjacent pair (leftmost on ties), merge it, update its two neighbours.</summary>
    private void MergeSmall(ReadOnlySpan<byte> piece, IdBuffer output)
    {
        var n = piece.Length;
        Span<int> ids = stackalloc int[n];
        Span<int> ranks = stackalloc int[n];
        for (var i = 0; i < n; i++) ids[i] = _byteToId[piece[i]];
        for (var i = 0; i < n - 1; i++) ranks[i] = _pairs.Get(ids[i], ids[i + 1]);
        ranks[n - 1] = int.MaxValue;
        while (n > 1)
        {
            var best = int.MaxValue;
            var at = -1;
            for (var i = 0; i < n - 1; i++)
            {
                if (ranks[i] < best)
                {
                    best = ranks[i];
                    at = i;
                }
            }
            if (at < 0) break;
            ids[at] = best;
            ids.Slice(at + 2, n - at - 2).CopyTo(ids.Slice(at + 1));
            ranks.Slice(at + 2, n - at - 2).CopyTo(ranks.Slice(at + 1));
            n--;
            ranks[at] = at + 1 < n ? _pairs.Get(best, ids[at + 1]) : int.MaxValue;
            if (at > 0) ranks[at - 1] = _pairs.Get(ids[at - 1], best);
        }
        output.AddRange(ids[..n]);
    }

    /// <summary>The same merges for long pieces in O(n log n): a linked list of parts and a heap of (rank, position), validated lazily.</summary>
    private void MergeLarge(ReadOnlySpan<byte> piece, IdBuffer output)
    {
        var n = piece.Length;
        var ids = new int[n];
        var next = new int[n];
        var prev = new int[n];
        var heap = new PriorityQueue<int, long>(n);
        for (var i = 0; i < n; i++)
        {
            ids[i] = _byteToId[piece[i]];
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        for (var i = 0; i < n - 1; i++) Push(heap, i, _pairs.Get(ids[i], ids[i + 1]));
        while (heap.TryDequeue(out var i, out var priority))
        {
            var rank = (int)(priority >> 32);
            var j = next[i];
            // Stale entry: the part died, or its right neighbour changed since the entry was pushed.
            if (ids[i] < 0 || j < 0 || _pairs.Get(ids[i], ids[j]) != rank) continue;
            ids[i] = rank;
            ids[j] = -1;
            next[i] = next[j];
            if (next[j] >= 0) prev[next[j]] = i;
            if (prev[i] >= 0) Push(heap, prev[i], _pairs.Get(ids[prev[i]], rank));
            if (next[i] >= 0) Push(heap, i, _pairs.Get(rank, ids[next[i]]));
        }
        for (var i = 0; i >= 0; i = next[i]) output.Add(ids[i]);
    }

    private static void Push(PriorityQueue<int, long> heap, int position, int rank)
    {
        if (rank != int.MaxValue) heap.Enqueue(position, ((long)rank << 32) | (uint)position);
    }
}
