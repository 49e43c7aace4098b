// Byte-level BPE training with incremental pair counts over unique chunks and a heap; merges match karpathy/minbpe exactly.
using System.Runtime.CompilerServices;

namespace MLNetGpt.Tokenizers.Bpe;

/// <summary>
/// Learns merges as minbpe's <c>train</c> does, without a full recount per merge.
/// <para>minbpe, per merge: count every adjacent pair over all chunk occurrences (chunks in text order, not deduplicated),
/// take the highest count, and on ties the pair that entered the count dict first, i.e. whose first occurrence in a
/// left-to-right scan of the current token sequences comes first; then replace it left to right without overlap.</para>
/// <para>Here: unique chunks with their frequencies, numbered by first appearance in the text. A pair's first
/// occurrence is (smallest chunk number containing it, byte offset of its left token in that chunk); byte offsets,
/// unlike token indices, do not move when other merges happen in the chunk. Each pair keeps a count, a lower bound of
/// that key, and the list of chunks it was created in (ascending, because chunks are always visited in ascending
/// order). A heap orders pairs by (count desc, key asc). Applying a merge touches only the chunks in the merged pair's
/// list, and in them only the pairs next to a merge site. Keys only grow when occurrences vanish, and a vanished
/// occurrence leaves a stale lower bound; so before accepting the top of the heap its exact key is recomputed from its
/// chunk list: if larger, it is stored and the heap re-sifted. Every other pair's bound is at most its exact key, so an
/// accepted top is the true minbpe choice.</para>
/// </summary>
internal sealed class BpeTrainer
{
    // Chunks: token ids stored back to back; chunk c occupies [_chunkStart[c], _chunkStart[c] + _chunkLength[c]).
    private int[] _tokens = [];
    private int[] _chunkStart = [];
    private int[] _chunkLength = [];
    private long[] _chunkCount = [];
    private int _chunkTotal;

    private int[] _tokenBytes = new int[512]; // byte length of each token id

    // Pairs, indexed by pair number.
    private readonly PairTable _pairIndex = new(1 << 16);
    private int[] _left = new int[1024];
    private int[] _right = new int[1024];
    private long[] _count = new long[1024];
    private int[] _keyChunk = new int[1024];
    private int[] _keyOffset = new int[1024];
    private int[] _heapPos = new int[1024];
    private List<int>[] _chunks = new List<int>[1024];
    private int[] _chunksFrom = new int[1024]; // prefix of _chunks already known not to hold the pair
    private int _pairTotal;

    // Heap of pair numbers.
    private int[] _heap = new int[1024];
    private int _heapSize;

    // Changes gathered while a merge rewrites its chunks, applied to the heap one pair at a time (a heap can only
    // repair one out-of-place element at a time, so priorities never change while the pair sits in the heap).
    private readonly List<int> _touched = [];
    private bool[] _isTouched = new bool[1024];
    private long[] _pendingCount = new long[1024];
    private int[] _pendingKeyChunk = new int[1024];
    private int[] _pendingKeyOffset = new int[1024];

    // Scratch for one chunk's merge: old positions of the merged pair, new positions of the new token and their byte offsets.
    private readonly List<int> _sites = [];
    private readonly List<int> _newSites = [];
    private readonly List<int> _newOffsets = [];

    /// <summary>Trains merges on <paramref name="corpus"/>. Returns at most <c>VocabularySize - 256</c> merges.</summary>
    public static (int Left, int Right)[] Train(ReadOnlySpan<char> corpus, BpeTrainerOptions options)
    {
        var trainer = new BpeTrainer();
        trainer.CollectChunks(corpus, options);
        return trainer.Run(options.VocabularySize - 256);
    }

    private struct ChunkCollector : IPieceSink
    {
        public ByteSpanTable Table;
        public List<long> Counts;

        public void OnPiece(ReadOnlySpan<byte> piece)
        {
            var index = Table.GetOrAdd(piece, 0, out var added);
            if (added) Counts.Add(1);
            else Counts[index]++;
        }
    }

    private void CollectChunks(ReadOnlySpan<char> corpus, BpeTrainerOptions options)
    {
        var collector = new ChunkCollector { Table = new ByteSpanTable(1 << 15, 1 << 18), Counts = [] };
        if (options.SpecialTokens.Count == 0)
        {
            ChunkSplitter.Split(corpus, options.Pattern, ref collector);
        }
        else
        {
            var matcher = new SpecialTokenMatcher(options.SpecialTokens.Select((s, i) => new KeyValuePair<string, int>(s, i)));
            var cache = matcher.NewCache();
            var pos = 0;
            while (true)
            {
                var at = matcher.FindNext(corpus, pos, cache, out var length, out _, out _);
                var end = at < 0 ? corpus.Length : at;
                ChunkSplitter.Split(corpus[pos..end], options.Pattern, ref collector);
                if (at < 0) break;
                pos = at + length;
            }
        }

        var table = collector.Table;
        _chunkTotal = table.Count;
        _chunkStart = new int[_chunkTotal];
        _chunkLength = new int[_chunkTotal];
        _chunkCount = collector.Counts.ToArray();
        var totalBytes = 0;
        for (var c = 0; c < _chunkTotal; c++) totalBytes += table.KeyAt(c).Length;
        _tokens = new int[totalBytes];
        var at2 = 0;
        for (var c = 0; c < _chunkTotal; c++)
        {
            var key = table.KeyAt(c);
            _chunkStart[c] = at2;
            _chunkLength[c] = key.Length;
            for (var i = 0; i < key.Length; i++) _tokens[at2 + i] = key[i];
            at2 += key.Length;
        }
        for (var b = 0; b < 256; b++) _tokenBytes[b] = 1;
    }

    private (int Left, int Right)[] Run(int mergeCount)
    {
        // Initial counts; chunks visited in first-appearance order, so the first key set is exact.
        for (var c = 0; c < _chunkTotal; c++) AddChunkPairs(c, newToken: -1);
        FlushTouched();

        var merges = new List<(int Left, int Right)>(Math.Max(0, mergeCount));
        for (var m = 0; m < mergeCount; m++)
        {
            var best = PopBest();
            if (best < 0) break;
            var newToken = 256 + m;
            var a = _left[best];
            var b = _right[best];
            EnsureTokenCapacity(newToken);
            _tokenBytes[newToken] = _tokenBytes[a] + _tokenBytes[b];
            merges.Add((a, b));

            var list = _chunks[best];
            for (var i = _chunksFrom[best]; i < list.Count; i++) MergeInChunk(list[i], a, b, newToken);
            FlushTouched();
        }
        return merges.ToArray();
    }

    /// <summary>The top pair with an exact key (re-sifting tops whose stored key was a stale bound), or -1 if none is left.</summary>
    private int PopBest()
    {
        while (_heapSize > 0)
        {
            var top = _heap[0];
            var list = _chunks[top];
            var exactChunk = int.MaxValue;
            var exactOffset = int.MaxValue;
            while (_chunksFrom[top] < list.Count)
            {
                var c = list[_chunksFrom[top]];
                if (FindPair(c, _left[top], _right[top], out var offset) >= 0)
                {
                    exactChunk = c;
                    exactOffset = offset;
                    break;
                }
                // A pair that left a chunk never comes back to it (new adjacencies always involve the newest token).
                _chunksFrom[top]++;
            }
            if (exactChunk == _keyChunk[top] && exactOffset == _keyOffset[top]) return top;
            _keyChunk[top] = exactChunk;
            _keyOffset[top] = exactOffset;
            SiftDown(0);
        }
        return -1;
    }

    /// <summary>Token index of the first (a, b) in chunk c, or -1; <paramref name="byteOffset"/> gets its byte offset.</summary>
    private int FindPair(int c, int a, int b, out int byteOffset)
    {
        var start = _chunkStart[c];
        var n = _chunkLength[c];
        var offset = 0;
        for (var i = 0; i + 1 < n; i++)
        {
            var t = _tokens[start + i];
            if (t == a && _tokens[start + i + 1] == b)
            {
                byteOffset = offset;
                return i;
            }
            offset += _tokenBytes[t];
        }
        byteOffset = -1;
        return -1;
    }

    /// <summary>Counts the chunk's pairs (initial pass); pairs holding <paramref name="newToken"/> (all pairs when -1) record the chunk and their key bound.</summary>
    private void AddChunkPairs(int c, int newToken)
    {
        var start = _chunkStart[c];
        var n = _chunkLength[c];
        var weight = _chunkCount[c];
        var offset = 0;
        for (var i = 0; i + 1 < n; i++)
        {
            var left = _tokens[start + i];
            var right = _tokens[start + i + 1];
            var p = GetOrAddPair(left, right);
            Touch(p);
            _pendingCount[p] += weight;
            if (newToken < 0 || left == newToken || right == newToken)
            {
                var list = _chunks[p];
                if (list.Count == 0 || list[^1] != c) list.Add(c);
            }
            if (c < _pendingKeyChunk[p] || (c == _pendingKeyChunk[p] && offset < _pendingKeyOffset[p]))
            {
                _pendingKeyChunk[p] = c;
                _pendingKeyOffset[p] = offset;
            }
            offset += _tokenBytes[left];
        }
    }

    /// <summary>
    /// Replaces (a, b) by <paramref name="newToken"/> left to right without overlap, as minbpe's <c>merge</c>, and
    /// records the count changes. Only pairs that touch a merge site change: the old pairs starting one before, at and
    /// one after each site go, and the new pairs on both sides of each new token come (each holds the new token).
    /// Neighbouring sites share a pair, so each pair is visited once by walking start positions in increasing order.
    /// </summary>
    private void MergeInChunk(int c, int a, int b, int newToken)
    {
        var tokens = _tokens;
        var start = _chunkStart[c];
        var n = _chunkLength[c];
        var weight = _chunkCount[c];
        var sites = _sites;
        sites.Clear();
        for (var i = 0; i + 1 < n; i++)
        {
            if (tokens[start + i] == a && tokens[start + i + 1] == b)
            {
                sites.Add(i);
                i++;
            }
        }
        if (sites.Count == 0) return;

        var lastRemoved = -1;
        foreach (var i in sites)
        {
            for (var k = Math.Max(Math.Max(i - 1, 0), lastRemoved + 1); k <= i + 1 && k + 1 < n; k++)
            {
                var p = _pairIndex.Get(tokens[start + k], tokens[start + k + 1]);
                Touch(p);
                _pendingCount[p] -= weight;
                lastRemoved = k;
            }
        }

        // Rewrite in place, remembering where each new token lands and its byte offset.
        var newSites = _newSites;
        var newOffsets = _newOffsets;
        newSites.Clear();
        newOffsets.Clear();
        var write = 0;
        var offset = 0;
        var next = 0;
        for (var read = 0; read < n;)
        {
            if (next < sites.Count && sites[next] == read)
            {
                tokens[start + write] = newToken;
                newSites.Add(write);
                newOffsets.Add(offset);
                offset += _tokenBytes[newToken];
                read += 2;
                next++;
            }
            else
            {
                var t = tokens[start + read];
                tokens[start + write] = t;
                offset += _tokenBytes[t];
                read++;
            }
            write++;
        }
        _chunkLength[c] = n = write;

        var lastAdded = -1;
        for (var q = 0; q < newSites.Count; q++)
        {
            var j = newSites[q];
            for (var k = Math.Max(Math.Max(j - 1, 0), lastAdded + 1); k <= j && k + 1 < n; k++)
            {
                var left = tokens[start + k];
                var pairOffset = k == j ? newOffsets[q] : newOffsets[q] - _tokenBytes[left];
                var p = GetOrAddPair(left, tokens[start + k + 1]);
                Touch(p);
                _pendingCount[p] += weight;
                var chunkList = _chunks[p];
                if (chunkList.Count == 0 || chunkList[^1] != c) chunkList.Add(c);
                if (c < _pendingKeyChunk[p] || (c == _pendingKeyChunk[p] && pairOffset < _pendingKeyOffset[p]))
                {
                    _pendingKeyChunk[p] = c;
                    _pendingKeyOffset[p] = pairOffset;
                }
                lastAdded = k;
            }
        }
    }

    private int GetOrAddPair(int left, int right)
    {
        var p = _pairIndex.Get(left, right);
        if (p != int.MaxValue) return p;
        p = _pairTotal++;
        if (p == _left.Length) GrowPairs();
        _left[p] = left;
        _right[p] = right;
        _count[p] = 0;
        _keyChunk[p] = int.MaxValue;
        _keyOffset[p] = int.MaxValue;
        _heapPos[p] = -1;
        _chunks[p] = [];
        _chunksFrom[p] = 0;
        _pairIndex.Set(left, right, p);
        return p;
    }

    private void GrowPairs()
    {
        var n = _left.Length * 2;
        Array.Resize(ref _left, n);
        Array.Resize(ref _right, n);
        Array.Resize(ref _count, n);
        Array.Resize(ref _keyChunk, n);
        Array.Resize(ref _keyOffset, n);
        Array.Resize(ref _heapPos, n);
        Array.Resize(ref _chunks, n);
        Array.Resize(ref _chunksFrom, n);
        Array.Resize(ref _isTouched, n);
        Array.Resize(ref _pendingCount, n);
        Array.Resize(ref _pendingKeyChunk, n);
        Array.Resize(ref _pendingKeyOffset, n);
    }

    private void EnsureTokenCapacity(int id)
    {
        if (id >= _tokenBytes.Length) Array.Resize(ref _tokenBytes, _tokenBytes.Length * 2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Touch(int p)
    {
        if (_isTouched[p]) return;
        _isTouched[p] = true;
        _touched.Add(p);
        _pendingCount[p] = 0;
        _pendingKeyChunk[p] = int.MaxValue;
        _pendingKeyOffset[p] = int.MaxValue;
    }

    /// <summary>Brings every touched pair's heap position up to date with its count and key.</summary>
    private void FlushTouched()
    {
        foreach (var p in _touched)
        {
            _isTouched[p] = false;
            _count[p] += _pendingCount[p];
            if (_pendingKeyChunk[p] < _keyChunk[p] || (_pendingKeyChunk[p] == _keyChunk[p] && _pendingKeyOffset[p] < _keyOffset[p]))
            {
                _keyChunk[p] = _pendingKeyChunk[p];
                _keyOffset[p] = _pendingKeyOffset[p];
            }
            var at = _heapPos[p];
            if (_count[p] <= 0)
            {
                if (at >= 0) RemoveAt(at);
            }
            else if (at < 0)
            {
                if (_heapSize == _heap.Length) Array.Resize(ref _heap, _heap.Length * 2);
                _heap[_heapSize] = p;
                _heapPos[p] = _heapSize++;
                SiftUp(_heapSize - 1);
            }
            else
            {
                SiftUp(at);
                SiftDown(_heapPos[p]);
            }
        }
        _touched.Clear();
    }

    /// <summary>True when pair p comes before pair q: higher count, then earlier first occurrence.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Before(int p, int q)
    {
        if (_count[p] != _count[q]) return _count[p] > _count[q];
        if (_keyChunk[p] != _keyChunk[q]) return _keyChunk[p] < _keyChunk[q];
        return _keyOffset[p] < _keyOffset[q];
    }

    private void RemoveAt(int at)
    {
        var p = _heap[at];
        _heapPos[p] = -1;
        _heapSize--;
        if (at == _heapSize) return;
        var last = _heap[_heapSize];
        _heap[at] = last;
        _heapPos[last] = at;
        SiftUp(at);
        SiftDown(_heapPos[last]);
    }

    private void SiftUp(int at)
    {
        var p = _heap[at];
        while (at > 0)
        {
            var parent = (at - 1) >> 1;
            var q = _heap[parent];
            if (!Before(p, q)) break;
            _heap[at] = q;
            _heapPos[q] = at;
            at = parent;
        }
        _heap[at] = p;
        _heapPos[p] = at;
    }

    private void SiftDown(int at)
    {
        var p = _heap[at];
        while (true)
        {
            var child = 2 * at + 1;
            if (child >= _heapSize) break;
            if (child + 1 < _heapSize && Before(_heap[child + 1], _heap[child])) child++;
            var q = _heap[child];
            if (!Before(q, p)) break;
            _heap[at] = q;
            _heapPos[q] = at;
            at = child;
        }
        _heap[at] = p;
        _heapPos[p] = at;
    }
}
