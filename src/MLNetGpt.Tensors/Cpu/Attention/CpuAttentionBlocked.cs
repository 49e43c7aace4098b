// Blocked causal attention for head sizes that are a multiple of 16 (the GPT configs: 32, 64, 128) with AVX-512.
// The row kernels in CpuAttention compute one score at a time (a dot product ending in a horizontal sum) and update the
// output with a load-add-store per key; at T = 64, hs = 32 that ran at ~12 GFLOP/s and was a third of a training step.
// Here, per (batch, head) pair, everything is a small register-blocked product:
//   scores  S[4 rows, 64 keys] = Q·Kᵀ from a transposed copy of K (16 accumulators, no horizontal sums),
//   softmax vectorised over keys,
//   output  O[4 rows, :] = P·V, and backward's dQ = dS·K, dK = dSᵀ·Q, dV = Pᵀ·dO, as weighted sums of rows.
// Each pair runs a fixed sequence of operations, so results do not depend on the thread count.
// Size legend: T time, C channels, hs head size, tp = T rounded up to 16 (padded key axis of the scratch tiles).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MLNetGpt.Tensors;

internal static unsafe class CpuAttentionBlocked
{
    private static readonly bool Avx512 = Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>
    /// True when the blocked kernels handle head size <paramref name="hs"/> on this machine. (Not tied to MatMulGemm's switch,
    /// which tests flip: the matmul paths agree bitwise, but blocked and row attention round differently.)
    /// </summary>
    public static bool Supports(int hs) => hs % 16 == 0 && Avx512;

    private static int Padded(int t) => (t + 15) & ~15;

    /// <summary>Per-worker scratch floats for sequence length t and head size hs (forward and backward).</summary>
    public static long ScratchFloats(int t, int hs)
    {
        long tp = Padded(t), rows = (t + 3) & ~3;
        return hs * tp + 2 * rows * tp + 64;
    }


    public struct ForwardBody : IParallelBody
    {
        public float* Out, Att, Qkv; public int T, C, NH; public Scratch Scratch;

        public readonly void Execute(int start, int end, int worker)
        {
            int t = T, c = C, nh = NH, hs = c / nh, c3 = 3 * c, tp = Padded(t);
            float scale = 1f / MathF.Sqrt(hs);
            float* kt = Scratch.Worker(worker), s = kt + (long)hs * tp;
            float** a = stackalloc float*[4];
            for (int pair = start; pair < end; pair++)
            {
                int b = pair / nh, h = pair % nh;
                float* qkvB = Qkv + (long)b * t * c3;
                Transpose(kt, qkvB + c + h * hs, c3, t, hs, tp);
                for (int r0 = 0; r0 < t; r0 += 4)
                {
                    int rows = Math.Min(4, t - r0), nvec = (r0 + rows + 15) / 16;
                    for (int r = 0; r < 4; r++) a[r] = qkvB + (long)(r0 + Math.Min(r, rows - 1)) * c3 + h * hs;
                    Scores(s, tp, a, kt, tp, nvec, hs, scale);
                    for (int r = 0; r < rows; r++)
                    {
                        float* row = s + r * tp;
                        int live = r0 + r + 1;
                        Softmax(row, live, nvec);
                        float* att = Att + ((long)pair * t + r0 + r) * t;
                        int copy = Math.Min(nvec * 16, t);
                        new ReadOnlySpan<float>(row, copy).CopyTo(new Span<float>(att, copy));
                        new Span<float>(att + copy, t - copy).Clear();
                    }
                    WeightedRows(Out + ((long)b * t + r0) * c + h * hs, c, false, s, tp, 1, rows, qkvB + 2 * c + h * hs, c3, 0, r0 + rows, hs);
                }
            }
        }
    }

    public struct BackwardBody : IParallelBody
    {
        public float* Dqkv, Dout, Qkv, Att; public int T, C, NH; public Scratch Scratch;

        public readonly void Execute(int start, int end, int worker)
        {
            int t = T, c = C, nh = NH, hs = c / nh, c3 = 3 * c, tp = Padded(t), rowsP = (t + 3) & ~3;
            float scale = 1f / MathF.Sqrt(hs);
            float* vt = Scratch.Worker(worker), ds = vt + (long)hs * tp, p = ds + (long)rowsP * tp;
            float** a = stackalloc float*[4];
            for (int pair = start; pair < end; pair++)
            {
                int b = pair / nh, h = pair % nh;
                float* qkvB = Qkv + (long)b * t * c3, dqkvB = Dqkv + (long)b * t * c3, doutB = Dout + (long)b * t * c + h * hs;
                Transpose(vt, qkvB + 2 * c + h * hs, c3, t, hs, tp);
                // P padded to tp columns (zeros), so that key blocks past T read zeros and no read leaves the tile
                for (int r = 0; r < t; r++)
                {
                    new ReadOnlySpan<float>(Att + ((long)pair * t + r) * t, t).CopyTo(new Span<float>(p + (long)r * tp, t));
                    new Span<float>(p + (long)r * tp + t, tp - t).Clear();
                }
                for (int r0 = 0; r0 < t; r0 += 4)
                {
                    int rows = Math.Min(4, t - r0), nvec = (r0 + rows + 15) / 16;
                    for (int r = 0; r < 4; r++) a[r] = doutB + (long)(r0 + Math.Min(r, rows - 1)) * c;
                    float* dsBlock = ds + (long)r0 * tp;
                    Scores(dsBlock, tp, a, vt, tp, nvec, hs, 1f); // dP = dO·Vᵀ
                    for (int r = 0; r < rows; r++)
                        SoftmaxBackward(dsBlock + r * tp, p + (long)(r0 + r) * tp, r0 + r + 1, nvec, scale);
                    // dQ[rows] += dS·K over keys 0..r0+rows-1 (dS is zero past each row's own position)
                    WeightedRows(dqkvB + (long)r0 * c3 + h * hs, c3, true, dsBlock, tp, 1, rows, qkvB + c + h * hs, c3, 0, r0 + rows, hs);
                }
                for (int k0 = 0; k0 < t; k0 += 4)
                {
                    int keys = Math.Min(4, t - k0);
                    // dK[keys] += dSᵀ·Q and dV[keys] += Pᵀ·dO over the query rows that see them (k0..T-1)
                    WeightedRows(dqkvB + (long)k0 * c3 + c + h * hs, c3, true, ds + k0, 1, tp, keys, qkvB + h * hs, c3, k0, t, hs);
                    WeightedRows(dqkvB + (long)k0 * c3 + 2 * c + h * hs, c3, true, p + k0, 1, tp, keys, doutB, c, k0, t, hs);
                }
            }
        }
    }

    /// <summary>
    /// Attention against a KV cache (decoding, prefill) when maxT is also a multiple of 16: scores come straight from the
    /// transposed key cache [B,NH,hs,maxT], one or four query rows at a time; per-worker scratch: 4·maxT floats.
    /// </summary>
    public struct CachedBody : IParallelBody
    {
        public float* Out, Q, K, V; public int* Pos; public int Tn, MaxT, C, NH; public Scratch Scratch;

        public readonly void Execute(int start, int end, int worker)
        {
            int c = C, nh = NH, hs = c / nh, maxT = MaxT, tn = Tn;
            float scale = 1f / MathF.Sqrt(hs);
            float* s = Scratch.Worker(worker);
            float** a = stackalloc float*[4];
            for (int pair = start; pair < end; pair++)
            {
                int b = pair / nh, h = pair % nh, pos = Pos[b];
                float* kt = K + (long)pair * hs * maxT, vb = V + (long)b * maxT * c + h * hs;
                for (int r0 = 0; r0 < tn; r0 += 4)
                {
                    int rows = Math.Min(4, tn - r0), keys = pos + r0 + rows, nvec = (keys + 15) / 16;
                    for (int r = 0; r < 4; r++) a[r] = Q + ((long)b * tn + r0 + Math.Min(r, rows - 1)) * c + h * hs;
                    Scores(s, maxT, a, kt, maxT, nvec, hs, scale, oneRow: rows == 1);
                    for (int r = 0; r < rows; r++) Softmax(s + r * maxT, pos + r0 + r + 1, nvec);
                    WeightedRows(Out + ((long)b * tn + r0) * c + h * hs, c, false, s, maxT, 1, rows, vb, c, 0, keys, hs);
                }
            }
        }
    }

    // dst[d*tp + j] = src[j*lds + d] for j < t, zero for t ≤ j < tp.
    private static void Transpose(float* dst, float* src, int lds, int t, int hs, int tp)
    {
        for (int j = 0; j < t; j++)
        {
            float* s = src + (long)j * lds;
            for (int d = 0; d < hs; d++) dst[(long)d * tp + j] = s[d];
        }
        for (int d = 0; d < hs; d++) new Span<float>(dst + (long)d * tp + t, tp - t).Clear();
    }

    // s[r*lds + j] = scale·Σ_d a[r][d]·bt[d*ldb + j] for r < 4 (r < 1 when oneRow), j < 16·nvec: 4 rows × 4 key vectors per pass.
    private static void Scores(float* s, int lds, float** a, float* bt, int ldb, int nvec, int hs, float scale, bool oneRow = false)
    {
        for (int v0 = 0; v0 < nvec; v0 += 4)
            RunTile(Math.Min(4, nvec - v0), s + v0 * 16, lds, false, scale, a, 1, bt + v0 * 16, ldb, 0, hs, oneRow ? 1 : 4);
    }

    // In place over row[0, 16·nvec): softmax of row[0, live), zeros after (row holds finite scores).
    private static void Softmax(float* row, int live, int nvec)
    {
        var lane = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var limit = Vector512.Create((float)live);
        var ninf = Vector512.Create(float.NegativeInfinity);
        var mx = ninf;
        for (int v = 0; v < nvec; v++)
        {
            var idx = lane + Vector512.Create(16f * v);
            mx = Vector512.Max(mx, Vector512.ConditionalSelect(Vector512.LessThan(idx, limit), Vector512.Load(row + 16 * v), ninf));
        }
        var m = Vector512.Create(HorizontalMax(mx));
        var sum = Vector512<float>.Zero;
        for (int v = 0; v < nvec; v++)
        {
            var idx = lane + Vector512.Create(16f * v);
            var e = Vector512.ConditionalSelect(Vector512.LessThan(idx, limit), Vector512.Exp(Vector512.Load(row + 16 * v) - m), Vector512<float>.Zero);
            e.Store(row + 16 * v);
            sum += e;
        }
        var inv = Vector512.Create(1f / Vector512.Sum(sum));
        for (int v = 0; v < nvec; v++) (Vector512.Load(row + 16 * v) * inv).Store(row + 16 * v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector512<float> v)
    {
        var h = Vector256.Max(v.GetLower(), v.GetUpper());
        var q = Vector128.Max(h.GetLower(), h.GetUpper());
        q = Vector128.Max(q, Vector128.Shuffle(q, Vector128.Create(2, 3, 0, 1)));
        q = Vector128.Max(q, Vector128.Shuffle(q, Vector128.Create(1, 0, 3, 2)));
        return q.ToScalar();
    }

    // In place: ds = scale·p ⊙ (dp − Σ_{j<live} p·dp) over [0, 16·nvec) (p is zero from live on, so ds is too).
    private static void SoftmaxBackward(float* ds, float* p, int live, int nvec, float scale)
    {
        var dot = Vector512<float>.Zero;
        for (int v = 0; v < nvec; v++) dot = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 16 * v), Vector512.Load(ds + 16 * v), dot);
        var d = Vector512.Create(Vector512.Sum(dot));
        var sc = Vector512.Create(scale);
        for (int v = 0; v < nvec; v++)
            (Vector512.Load(p + 16 * v) * (Vector512.Load(ds + 16 * v) - d) * sc).Store(ds + 16 * v);
    }

    /// <summary>
    /// o[r*ldo + i] (+)= Σ_{j=j0}^{j1-1} w[r*wr + j*wj]·x[j*ldx + i] for rows r &lt; <paramref name="rows"/> (≤ 4) and i &lt; hs
    /// (a multiple of 16), 4 rows × 64 columns per pass. With rows &gt; 1, the weights of rows r ≥ rows up to 4 are read
    /// (they must be valid memory) but those rows are not stored.
    /// </summary>
    private static void WeightedRows(float* o, int ldo, bool add, float* w, long wr, long wj, int rows, float* x, int ldx, int j0, int j1, int hs)
    {
        float** wp = stackalloc float*[4];
        for (int r = 0; r < 4; r++) wp[r] = w + r * wr;
        for (int i0 = 0; i0 < hs; i0 += 64)
            RunTile(Math.Min(4, (hs - i0) / 16), o + i0, ldo, add, 1f, wp, wj, x + i0, ldx, j0, j1, rows);
    }

    // One kernel for both products above: o[r·ldo + v·16 ..] (+)= scale·Σ_j w[r][j·wj]·x[j·ldx + v·16 ..] for nv ≤ 4 vectors
    // and rows r < rows (computing 1 row when rows is 1, else 4).
    private static void RunTile(int nv, float* o, int ldo, bool add, float scale, float** w, long wj, float* x, long ldx, int j0, int j1, int rows)
    {
        if (rows == 1)
        {
            if (nv == 4) Tile<Count4, Count1>(o, ldo, add, scale, w, wj, x, ldx, j0, j1, rows);
            else if (nv == 3) Tile<Count3, Count1>(o, ldo, add, scale, w, wj, x, ldx, j0, j1, rows);
            else if (nv == 2) Tile<Count2, Count1>(o, ldo, add, scale, w, wj, x, ldx, j0, j1, rows);
            else Tile<Count1, Count1>(o, ldo, add, scale, w, wj, x, ldx, j0, j1, rows);
        }
        else if (nv == 4) Tile<Count4, Count4>(o, ldo, add, scale, w, wj, x, ldx, j0, j1, rows);
        else if (nv == 3) Tile<Count3, Count4>(o, ldo, add, scale, w, wj, x, ldx, j0, j1, rows);
        else if (nv == 2) Tile<Count2, Count4>(o, ldo, add, scale, w, wj, x, ldx, j0, j1, rows);
        else Tile<Count1, Count4>(o, ldo, add, scale, w, wj, x, ldx, j0, j1, rows);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TV, TR>(float* o, int ldo, bool add, float scale, float** w, long wj, float* x, long ldx, int j0, int j1, int rows)
        where TV : struct, IStaticCount where TR : struct, IStaticCount
    {
        int nv = TV.Value;
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        float* w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        for (int j = j0; j < j1; j++)
        {
            float* xj = x + j * ldx;
            long wo = j * wj;
            var b0 = Vector512.Load(xj);
            Vector512<float> b1 = default, b2 = default, b3 = default;
            if (nv > 1) b1 = Vector512.Load(xj + 16);
            if (nv > 2) b2 = Vector512.Load(xj + 32);
            if (nv > 3) b3 = Vector512.Load(xj + 48);
            var s = Vector512.Create(w0[wo]);
            c00 = Avx512F.FusedMultiplyAdd(s, b0, c00);
            if (nv > 1) c01 = Avx512F.FusedMultiplyAdd(s, b1, c01);
            if (nv > 2) c02 = Avx512F.FusedMultiplyAdd(s, b2, c02);
            if (nv > 3) c03 = Avx512F.FusedMultiplyAdd(s, b3, c03);
            if (TR.Value == 1) continue;
            s = Vector512.Create(w1[wo]);
            c10 = Avx512F.FusedMultiplyAdd(s, b0, c10);
            if (nv > 1) c11 = Avx512F.FusedMultiplyAdd(s, b1, c11);
            if (nv > 2) c12 = Avx512F.FusedMultiplyAdd(s, b2, c12);
            if (nv > 3) c13 = Avx512F.FusedMultiplyAdd(s, b3, c13);
            s = Vector512.Create(w2[wo]);
            c20 = Avx512F.FusedMultiplyAdd(s, b0, c20);
            if (nv > 1) c21 = Avx512F.FusedMultiplyAdd(s, b1, c21);
            if (nv > 2) c22 = Avx512F.FusedMultiplyAdd(s, b2, c22);
            if (nv > 3) c23 = Avx512F.FusedMultiplyAdd(s, b3, c23);
            s = Vector512.Create(w3[wo]);
            c30 = Avx512F.FusedMultiplyAdd(s, b0, c30);
            if (nv > 1) c31 = Avx512F.FusedMultiplyAdd(s, b1, c31);
            if (nv > 2) c32 = Avx512F.FusedMultiplyAdd(s, b2, c32);
            if (nv > 3) c33 = Avx512F.FusedMultiplyAdd(s, b3, c33);
        }
        var sc = Vector512.Create(scale);
        OutRow<TV>(o, add, sc, c00, c01, c02, c03);
        if (TR.Value == 1) return;
        if (rows > 1) OutRow<TV>(o + ldo, add, sc, c10, c11, c12, c13);
        if (rows > 2) OutRow<TV>(o + 2 * ldo, add, sc, c20, c21, c22, c23);
        if (rows > 3) OutRow<TV>(o + 3 * ldo, add, sc, c30, c31, c32, c33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutRow<TV>(float* o, bool add, Vector512<float> scale, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3)
        where TV : struct, IStaticCount
    {
        v0 *= scale; v1 *= scale; v2 *= scale; v3 *= scale; // scale is 1 for the weighted sums (exact)
        if (add)
        {
            v0 += Vector512.Load(o);
            if (TV.Value > 1) v1 += Vector512.Load(o + 16);
            if (TV.Value > 2) v2 += Vector512.Load(o + 32);
            if (TV.Value > 3) v3 += Vector512.Load(o + 48);
        }
        v0.Store(o);
        if (TV.Value > 1) v1.Store(o + 16);
        if (TV.Value > 2) v2.Store(o + 32);
        if (TV.Value > 3) v3.Store(o + 48);
    }
}
