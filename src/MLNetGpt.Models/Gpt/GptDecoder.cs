// Incremental GPT decoding with a KV cache: prefill one row's prompt, then append one token to many rows per forward pass.
// Size legend: B rows, Tn new tokens, maxT block size, C channels, NH heads, V vocab.
using MLNetGpt.Tensors;

namespace MLNetGpt.Models;

/// <summary>
/// Keys and values of every layer cached per row ([maxB, maxT, C] each), so appending a token costs one token's forward pass.
/// Every row is computed independently by row-wise kernels, so a row's logits do not depend on which other rows share the batch.
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

    public GptDecoder(GptModel model, int maxBatch)
    {
        if (maxBatch < 1) throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, "Batch size must be at least 1.");
        _m = model; _p = model.Layout;
        var cfg = model.GptConfig;
        _c = cfg.EmbeddingSize; _nh = cfg.HeadCount; _v = cfg.VocabularySize; _maxT = cfg.BlockSize; _layers = cfg.LayerCount;
        MaxBatch = maxBatch;
        _positions = new int[maxBatch];
        _k = new float[_layers][]; _vc = new float[_layers][];
        for (int l = 0; l < _layers; l++) { _k[l] = new float[maxBatch * _maxT * _c]; _vc[l] = new float[maxBatch * _maxT * _c]; }
        int rows = Math.Max(maxBatch, _maxT);
        _x = new float[rows * _c]; _x2 = new float[rows * _c]; _ln = new float[rows * _c];
        _mean = new float[rows]; _rstd = new float[rows];
        _qkv = new float[rows * 3 * _c]; _q = new float[rows * _c]; _atty = new float[rows * _c]; _tmp = new float[rows * _c];
        _fch = new float[rows * 4 * _c]; _fchAct = new float[rows * 4 * _c];
    }

    public int MaxBatch { get; }

    private Span<float> P(ArenaSlice s) => _m.Parameters[s];
    private Span<float> Pb(ArenaSlice? s) => s is null ? Span<float>.Empty : _m.Parameters[s];

    public void Prefill(int row, ReadOnlySpan<int> tokens, Span<float> logits)
    {
        int n = tokens.Length, c = _c;
        if ((uint)row >= (uint)MaxBatch) throw new ArgumentOutOfRangeException(nameof(row), row, $"Row must be in [0,{MaxBatch}).");
        if (n < 1 || n > _maxT) throw new ArgumentOutOfRangeException(nameof(tokens), n, $"Prefill needs 1..{_maxT} tokens.");
        _m.Backend.EncoderForward(_x.AsSpan(0, n * c), tokens, P(_p.Wte), P(_p.Wpe)[..(n * c)], 1, n, c);
        Blocks(n, row);
        Head(_x.AsSpan((n - 1) * c, c), 1, logits[.._v]);
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
            _m.Backend.ResidualForward(_x.AsSpan(r * c, c), wte.Slice(tok * c, c), wpe.Slice(pos * c, c), c);
        }
        positions[..b].CopyTo(_positions);
        Blocks(b, -1);
        Head(_x.AsSpan(0, b * c), b, logits[..(b * _v)]);
    }

    /// <summary>
    /// Stores K and V of layer <paramref name="l"/> in the cache and writes the attention output to _atty: for a prefill of
    /// <paramref name="prefillRow"/>, n tokens at positions 0..n-1 of that row; for a decode (prefillRow = -1), one token per row r
    /// at _positions[r].
    /// </summary>
    private void Attend(int l, ReadOnlySpan<float> qkv, int n, int prefillRow)
    {
        int c = _c;
        if (prefillRow >= 0)
        {
            int cacheRow = prefillRow * _maxT * c;
            for (int i = 0; i < n; i++)
            {
                qkv.Slice(i * 3 * c, c).CopyTo(_q.AsSpan(i * c, c));
                qkv.Slice(i * 3 * c + c, c).CopyTo(_k[l].AsSpan(cacheRow + i * c, c));
                qkv.Slice(i * 3 * c + 2 * c, c).CopyTo(_vc[l].AsSpan(cacheRow + i * c, c));
            }
            _m.Backend.AttentionForwardCached(_atty.AsSpan(0, n * c), _q.AsSpan(0, n * c), _k[l].AsSpan(cacheRow, _maxT * c),
                _vc[l].AsSpan(cacheRow, _maxT * c), _pos0, 1, n, _maxT, c, _nh);
            return;
        }
        for (int r = 0; r < n; r++)
        {
            int at = (r * _maxT + _positions[r]) * c;
            qkv.Slice(r * 3 * c, c).CopyTo(_q.AsSpan(r * c, c));
            qkv.Slice(r * 3 * c + c, c).CopyTo(_k[l].AsSpan(at, c));
            qkv.Slice(r * 3 * c + 2 * c, c).CopyTo(_vc[l].AsSpan(at, c));
        }
        _m.Backend.AttentionForwardCached(_atty.AsSpan(0, n * c), _q.AsSpan(0, n * c), _k[l].AsSpan(0, n * _maxT * c),
            _vc[l].AsSpan(0, n * _maxT * c), _positions.AsSpan(0, n), n, 1, _maxT, c, _nh);
    }

    /// <summary>Runs the L blocks over n rows of _x (see <see cref="Attend"/> for the two modes).</summary>
    private void Blocks(int n, int prefillRow)
    {
        var be = _m.Backend;
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
            be.MatMulForward(qkv, ln, P(w.AttnWeight), Pb(w.AttnBias), n, c, 3 * c);
            Attend(l, qkv, n, prefillRow);
            be.MatMulForward(tmp, _atty.AsSpan(0, n * c), P(w.AttnProjWeight), Pb(w.AttnProjBias), n, c, c);
            be.ResidualForward(x2, x, tmp, n * c);
            be.LayerNormForward(ln, mean, rstd, x2, P(w.Ln2Weight), Pb(w.Ln2Bias), n, c);
            be.MatMulForward(fch, ln, P(w.FcWeight), Pb(w.FcBias), n, c, 4 * c);
            if (_m.GptConfig.Activation == Activation.Gelu) be.GeluForward(fchAct, fch, n * 4 * c);
            else be.ReluForward(fchAct, fch, n * 4 * c);
            be.MatMulForward(tmp, fchAct, P(w.FcProjWeight), Pb(w.FcProjBias), n, 4 * c, c);
            be.ResidualForward(x, x2, tmp, n * c);
        }
    }

    /// <summary>Final LayerNorm and LM head over <paramref name="rows"/> rows of hidden states.</summary>
    private void Head(ReadOnlySpan<float> hidden, int rows, Span<float> logits)
    {
        var be = _m.Backend;
        var ln = _ln.AsSpan(0, rows * _c);
        be.LayerNormForward(ln, _mean.AsSpan(0, rows), _rstd.AsSpan(0, rows), hidden, P(_p.LnfWeight), Pb(_p.LnfBias), rows, _c);
        be.MatMulForward(logits, ln, P(_p.Head), Span<float>.Empty, rows, _c, _v);
    }
}
