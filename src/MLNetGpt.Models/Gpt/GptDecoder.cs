// Incremental GPT decoding with a KV cache: prefill rows' prompts (many rows in one pass), then append one token to many rows
// per forward pass.
// Size legend: B rows, Tn new tokens, maxT block size, C channels, NH heads, V vocab.
using MLNetGpt.Tensors;

namespace MLNetGpt.Models;

/// <summary>
/// Keys and values of every layer cached per row (keys [maxB, NH, hs, maxT], values [maxB, maxT, C]), so appending a token
/// costs one token's forward pass.
/// Every row is computed independently by row-wise kernels, so a row's logits do not depend on which other rows share the batch.
/// The matmul weights are read packed (<see cref="PackedWeight"/>): decoding one token reads every weight once, and the packed
/// layout streams them in order, with results bitwise equal to the unpacked product. The LM head is packed into a copy here;
/// the blocks' matrices too, unless the model keeps them packed in its own arena (a model that has only generated, on the
/// CPU: <see cref="GptModel.UseBlocksPackedInPlace"/>).
/// </summary>
internal sealed class GptDecoder : IIncrementalDecoder
{
    private readonly GptModel _m;
    private readonly GptParameters _p;
    private readonly int _c, _nh, _v, _maxT, _layers;
    private readonly float[][] _k, _vc;
    private readonly float[] _x, _x2, _ln, _mean, _rstd, _qkv, _q, _atty, _tmp, _fch, _fchAct;
    private readonly int[] _pos0 = new int[1];
    private readonly int[] _positions;
    private readonly int _capacity; // tokens one prefill pass holds (rows of the activation buffers)
    private readonly int[] _groupRows, _groupLengths; // the rows of the prefill pass in progress
    private readonly int[] _storeRows, _storePositions; // each new token's cache row and position (StoreKeysValues)
    private int _groupCount;
    private readonly PackedWeights _weights;

    public GptDecoder(GptModel model, int maxBatch)
        : this(model, maxBatch, null)
    {
    }

    private GptDecoder(GptModel model, int maxBatch, PackedWeights? weights)
    {
        if (maxBatch < 1) throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, "Batch size must be at least 1.");
        _m = model; _p = model.Layout;
        var cfg = model.GptConfig;
        _c = cfg.EmbeddingSize; _nh = cfg.HeadCount; _v = cfg.VocabularySize; _maxT = cfg.BlockSize; _layers = cfg.LayerCount;
        MaxBatch = maxBatch;
        _positions = new int[maxBatch];
        _k = new float[_layers][]; _vc = new float[_layers][];
        for (int l = 0; l < _layers; l++) { _k[l] = new float[maxBatch * _maxT * _c]; _vc[l] = new float[maxBatch * _maxT * _c]; }
        // Prefilling many rows in one pass turns many thin matmuls into one GEMM; the token budget keeps the buffers small
        // (at most 1024 rows, or one block if that is longer).
        _capacity = Math.Max(_maxT, (int)Math.Min((long)maxBatch * _maxT, 1024));
        _groupRows = new int[maxBatch]; _groupLengths = new int[maxBatch];
        int rows = Math.Max(maxBatch, _capacity);
        _x = new float[rows * _c]; _x2 = new float[rows * _c]; _ln = new float[rows * _c];
        _mean = new float[rows]; _rstd = new float[rows];
        _qkv = new float[rows * 3 * _c]; _q = new float[rows * _c]; _atty = new float[rows * _c]; _tmp = new float[rows * _c];
        _fch = new float[rows * 4 * _c]; _fchAct = new float[rows * 4 * _c];
        _storeRows = new int[rows]; _storePositions = new int[rows];
        Backend = model.Backend;
        // A device backend keeps the caches and activations on the device, so a decoding step copies only token ids and
        // positions in and the logits out (host backends: no-op).
        foreach (var a in (float[][])[_x, _x2, _ln, _mean, _rstd, _qkv, _q, _atty, _tmp, _fch, _fchAct, .. _k, .. _vc]) Backend.Attach(a);
        if (weights is null)
        {
            _weights = new PackedWeights(cfg);
            RefreshWeights();
        }
        else _weights = weights;
    }

    public IComputeBackend Backend { get; set; }

    public IIncrementalDecoder CreateSibling(int maxBatch) => new GptDecoder(_m, maxBatch, _weights);

    /// <summary>Block l's matrix i (0 c_attn, 1 attn.c_proj, 2 c_fc, 3 mlp.c_proj), packed: in the model's arena or in our copy.</summary>
    private Span<float> BlockWeight(int l, int i)
    {
        if (!_weights.InPlace) return _weights.Blocks.At(_weights.BlockOffsets[l][i]);
        var w = _p.Blocks[l];
        return _m.RawParameters[i switch { 0 => w.AttnWeight, 1 => w.AttnProjWeight, 2 => w.FcWeight, _ => w.FcProjWeight }];
    }

    public void RefreshWeights()
    {
        var be = Backend;
        int c = _c;
        // A model that has only generated keeps its block matrices packed in its own arena (GptModel.UseBlocksPackedInPlace):
        // then no second copy of them is made here (GPT-2 124M: 324 MiB less).
        _weights.InPlace = _m.UseBlocksPackedInPlace();
        if (_weights.InPlace) _weights.DropBlocks();
        else
        {
            be.Attach(_weights.Blocks.Data); // device backends keep the packed weights on the device (the backend writes and reads them)
            for (int l = 0; l < _layers; l++)
            {
                var w = _p.Blocks[l];
                be.PackMatMulWeight(BlockWeight(l, 0), P(w.AttnWeight), c, 3 * c);
                be.PackMatMulWeight(BlockWeight(l, 1), P(w.AttnProjWeight), c, c);
                be.PackMatMulWeight(BlockWeight(l, 2), P(w.FcWeight), c, 4 * c);
                be.PackMatMulWeight(BlockWeight(l, 3), P(w.FcProjWeight), 4 * c, c);
            }
        }
        be.Attach(_weights.Head.Data);
        be.PackMatMulWeight(_weights.Head.At(0), P(_p.Head), c, _v);
    }

    /// <summary>
    /// The LM head and (unless the model's arena holds them packed) every block's four matmul weights, in the packed
    /// layout; one copy serves a decoder and its siblings.
    /// </summary>
    private sealed class PackedWeights
    {
        private readonly int _blockFloats;
        private AlignedBuffer? _blocks;

        public PackedWeights(GptConfig cfg)
        {
            int c = cfg.EmbeddingSize, at = 0;
            int Take(int inCh, int outCh) { int o = at; at = checked(at + PackedWeight.Length(inCh, outCh)); return o; }
            BlockOffsets = new int[cfg.LayerCount][];
            for (int l = 0; l < cfg.LayerCount; l++) BlockOffsets[l] = [Take(c, 3 * c), Take(c, c), Take(c, 4 * c), Take(4 * c, c)];
            _blockFloats = at;
            Head = new AlignedBuffer(PackedWeight.Length(c, cfg.VocabularySize));
        }

        /// <summary>Per block: offsets of c_attn, attn.c_proj, c_fc and mlp.c_proj in <see cref="Blocks"/>.</summary>
        public int[][] BlockOffsets { get; }

        /// <summary>True when the model's arena holds the block matrices packed (then <see cref="Blocks"/> is not kept).</summary>
        public bool InPlace { get; set; }

        /// <summary>The block matrices, packed (allocated on first use).</summary>
        public AlignedBuffer Blocks => _blocks ??= new AlignedBuffer(_blockFloats);

        public void DropBlocks() => _blocks = null;

        /// <summary>The LM head, packed.</summary>
        public AlignedBuffer Head { get; }
    }

    /// <summary>Floats in a pinned array, from a 64-byte boundary on: every 512-bit load of a panel stays within one cache line.</summary>
    private sealed class AlignedBuffer
    {
        private readonly int _base;

        public AlignedBuffer(int length)
        {
            Data = GC.AllocateArray<float>(length + 16, pinned: true);
            unsafe
            {
                fixed (float* f = Data) _base = (int)(((64 - ((nint)f & 63)) & 63) / sizeof(float));
            }
        }

        /// <summary>The backing array.</summary>
        public float[] Data { get; }

        public Span<float> At(int offset) => Data.AsSpan(_base + offset);
    }

    public int MaxBatch { get; }

    // The arena as it is: the embeddings, LayerNorms and biases are never packed, and the block matrices are read through
    // BlockWeight.
    private Span<float> P(ArenaSlice s) => _m.RawParameters[s];
    private Span<float> Pb(ArenaSlice? s) => s is null ? Span<float>.Empty : _m.RawParameters[s];

    public void Prefill(int row, ReadOnlySpan<int> tokens, Span<float> logits) => Prefill([row], tokens, [tokens.Length], logits);

    public void Prefill(ReadOnlySpan<int> rows, ReadOnlySpan<int> tokens, ReadOnlySpan<int> lengths, Span<float> logits)
    {
        if (rows.Length != lengths.Length) throw new ArgumentException($"{rows.Length} rows but {lengths.Length} lengths.", nameof(lengths));
        long total = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            if ((uint)rows[i] >= (uint)MaxBatch) throw new ArgumentOutOfRangeException(nameof(rows), rows[i], $"Row must be in [0,{MaxBatch}).");
            if (lengths[i] < 1 || lengths[i] > _maxT) throw new ArgumentOutOfRangeException(nameof(lengths), lengths[i], $"Prefill needs 1..{_maxT} tokens per row.");
            total += lengths[i];
        }
        if (tokens.Length != total) throw new ArgumentException($"tokens holds {tokens.Length} ids but the lengths add up to {total}.", nameof(tokens));
        if (logits.Length < rows.Length * _v) throw new ArgumentException($"logits holds {logits.Length} floats; {rows.Length} rows need {rows.Length * _v}.", nameof(logits));
        for (int i = 0, at = 0; i < rows.Length;)
        {
            int j = i, n = 0;
            while (j < rows.Length && n + lengths[j] <= _capacity) n += lengths[j++];
            PrefillPass(rows[i..j], tokens.Slice(at, n), lengths[i..j], logits.Slice(i * _v, (j - i) * _v));
            at += n; i = j;
        }
    }

    // One pass over rows whose contexts fit the buffers: all their tokens go through the matmuls together.
    private void PrefillPass(ReadOnlySpan<int> rows, ReadOnlySpan<int> tokens, ReadOnlySpan<int> lengths, Span<float> logits)
    {
        int c = _c, n = tokens.Length;
        var wte = P(_p.Wte);
        var wpe = P(_p.Wpe);
        _groupCount = rows.Length;
        for (int i = 0, at = 0; i < rows.Length; at += lengths[i++])
        {
            _groupRows[i] = rows[i]; _groupLengths[i] = lengths[i];
            for (int j = 0; j < lengths[i]; j++) { _storeRows[at + j] = rows[i]; _storePositions[at + j] = j; }
            Backend.EncoderForward(_x.AsSpan(at * c, lengths[i] * c), tokens.Slice(at, lengths[i]), wte, wpe[..(lengths[i] * c)], 1, lengths[i], c);
        }
        Blocks(n, prefill: true);
        // the head only needs each row's last position
        for (int i = 0, at = 0; i < rows.Length; i++)
        {
            at += lengths[i];
            Backend.Copy(_x2.AsSpan(i * c, c), _x.AsSpan((at - 1) * c, c));
        }
        Head(_x2.AsSpan(0, rows.Length * c), rows.Length, logits[..(rows.Length * _v)]);
    }

    public void Decode(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, int batchSize, Span<float> logits)
    {
        int b = batchSize, c = _c;
        if (b < 1 || b > MaxBatch) throw new ArgumentOutOfRangeException(nameof(batchSize), b, $"Batch size must be in [1,{MaxBatch}].");
        var wte = P(_p.Wte);
        var wpe = P(_p.Wpe);
        for (int r = 0; r < b; r++)
        {
            int tok = tokens[r], pos = positions[r];
            if ((uint)tok >= (uint)_v) throw new ArgumentOutOfRangeException(nameof(tokens), tok, $"Token id {tok} of row {r} is outside [0,{_v}).");
            if ((uint)pos >= (uint)_maxT) throw new ArgumentOutOfRangeException(nameof(positions), pos, $"Position {pos} of row {r} is outside the block [0,{_maxT}).");
            Backend.ResidualForward(_x.AsSpan(r * c, c), wte.Slice(tok * c, c), wpe.Slice(pos * c, c), c);
        }
        positions[..b].CopyTo(_positions);
        for (int r = 0; r < b; r++) { _storeRows[r] = r; _storePositions[r] = positions[r]; }
        Blocks(b, prefill: false);
        Head(_x.AsSpan(0, b * c), b, logits[..(b * _v)]);
    }

    /// <summary>
    /// Stores K and V of layer <paramref name="l"/> in the cache and writes the attention output to _atty: for a prefill pass,
    /// each row of the group gets its tokens at positions 0..length-1; for a decode, one token per row r at _positions[r]
    /// (_storeRows and _storePositions say the same per token).
    /// </summary>
    private void Attend(int l, ReadOnlySpan<float> qkv, int n, bool prefill)
    {
        int c = _c;
        Backend.StoreKeysValues(_q.AsSpan(0, n * c), _k[l], _vc[l], qkv, _storeRows.AsSpan(0, n), _storePositions.AsSpan(0, n), n, _maxT, c);
        if (prefill)
        {
            for (int g = 0, at = 0; g < _groupCount; at += _groupLengths[g++])
            {
                int len = _groupLengths[g], cacheRow = _groupRows[g] * _maxT * c;
                Backend.AttentionForwardCached(_atty.AsSpan(at * c, len * c), _q.AsSpan(at * c, len * c), _k[l].AsSpan(cacheRow, _maxT * c),
                    _vc[l].AsSpan(cacheRow, _maxT * c), _pos0, 1, len, _maxT, c, _nh);
            }
            return;
        }
        Backend.AttentionForwardCached(_atty.AsSpan(0, n * c), _q.AsSpan(0, n * c), _k[l].AsSpan(0, n * _maxT * c),
            _vc[l].AsSpan(0, n * _maxT * c), _positions.AsSpan(0, n), n, 1, _maxT, c, _nh);
    }

    /// <summary>Runs the L blocks over n rows of _x (see <see cref="Attend"/> for the two modes).</summary>
    private void Blocks(int n, bool prefill)
    {
        var be = Backend;
        int c = _c;
        var x = _x.AsSpan(0, n * c);
        var x2 = _x2.AsSpan(0, n * c);
        var ln = _ln.AsSpan(0, n * c);
        var mean = _mean.AsSpan(0, n);
        var rstd = _rstd.AsSpan(0, n);
        var qkv = _qkv.AsSpan(0, n * 3 * c);
        var tmp = _tmp.AsSpan(0, n * c);
        var fch = _fch.AsSpan(0, n * 4 * c);
        var fchAct = _fchAct.AsSpan(0, n * 4 * c);
        for (int l = 0; l < _layers; l++)
        {
            var w = _p.Blocks[l];
            be.LayerNormForward(ln, mean, rstd, x, P(w.Ln1Weight), Pb(w.Ln1Bias), n, c);
            be.MatMulForwardPacked(qkv, ln, BlockWeight(l, 0), Pb(w.AttnBias), n, c, 3 * c);
            Attend(l, qkv, n, prefill);
            be.MatMulForwardPacked(tmp, _atty.AsSpan(0, n * c), BlockWeight(l, 1), Pb(w.AttnProjBias), n, c, c);
            be.ResidualForward(x2, x, tmp, n * c);
            be.LayerNormForward(ln, mean, rstd, x2, P(w.Ln2Weight), Pb(w.Ln2Bias), n, c);
            be.MatMulForwardPacked(fch, ln, BlockWeight(l, 2), Pb(w.FcBias), n, c, 4 * c);
            if (_m.GptConfig.Activation == Activation.Gelu) be.GeluForward(fchAct, fch, n * 4 * c);
            else be.ReluForward(fchAct, fch, n * 4 * c);
            be.MatMulForwardPacked(tmp, fchAct, BlockWeight(l, 3), Pb(w.FcProjBias), n, 4 * c, c);
            be.ResidualForward(x, x2, tmp, n * c);
        }
    }

    /// <summary>Final LayerNorm and LM head over <paramref name="rows"/> rows of hidden states.</summary>
    private void Head(ReadOnlySpan<float> hidden, int rows, Span<float> logits)
    {
        var be = Backend;
        var ln = _ln.AsSpan(0, rows * _c);
        be.LayerNormForward(ln, _mean.AsSpan(0, rows), _rstd.AsSpan(0, rows), hidden, P(_p.LnfWeight), Pb(_p.LnfBias), rows, _c);
        be.MatMulForwardPacked(logits, ln, _weights.Head.At(0), Span<float>.Empty, rows, _c, _v);
    }
}
