// Blocked causal attention for head sizes that are a multiple of 8 (the GPT configs: 32, 64, 128; the tiny ones: 8, 24),
// written once over the SIMD width (ISimd). The row kernels in CpuAttention compute one score at a time (a dot product
// ending in a horizontal sum) and update the output with a load-add-store per key; at T = 64, hs = 32 that ran at
// ~12 GFLOP/s and was a third of a training step. Here, per (batch, head) pair, everything is a small register-blocked
// product:
//   scores  S[4 rows, keys] = Q·Kᵀ from a transposed copy of K (no horizontal sums),
//   softmax vectorised over keys,
//   output  O[4 rows, :] = P·V, and backward's dQ = dS·K, dK = dSᵀ·Q, dV = Pᵀ·dO, as weighted sums of rows.
// Tiles are 4 rows × up to 64 columns (AVX-512: 4 vectors) or 4 rows × 2 vectors (AVX2: 16 columns; 128-bit: 8), so the
// accumulators stay in registers at every width. A head of 8·odd channels runs at 256-bit width on an AVX-512 backend (a
// 512-bit row of the output would reach into the next head). The key axis is padded to 16 floats at every width (the
// layout of the scratch tiles and of the KV cache does not depend on the width).
// Each pair runs a fixed sequence of operations, so results do not depend on the thread count; the widths differ in the
// order of their horizontal sums (softmax), so each width is deterministic on its own.
// Size legend: T time, C channels, hs head size, tp = T rounded up to 16 (padded key axis of the scratch tiles).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MLNetGpt.Tensors;

internal static unsafe class CpuAttentionBlocked
{
    /// <summary>True when the blocked kernels handle head size <paramref name="hs"/> at <paramref name="width"/>.</summary>
    public static bool Supports(int hs, SimdWidth width) => hs % 8 == 0 && width != SimdWidth.Scalar;

    // The width the kernels run at for head size hs: the backend's, but 256-bit where a 512-bit vector does not divide hs.
    // (seed-tiny's heads of 8 took the row kernels before: attention was a third of its step, ~0.8 ms of 2.4.)
    private static SimdWidth RunWidth(int hs, SimdWidth width) => width == SimdWidth.Vector512 && hs % 16 != 0 ? SimdWidth.Vector256 : width;

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
        public SimdWidth Width;

        public readonly void Execute(int start, int end, int worker)
        {
            switch (RunWidth(C / NH, Width))
            {
                case SimdWidth.Vector512: Run<Simd512, Vector512<float>>(start, end, worker); break;
                case SimdWidth.Vector256: Run<Simd256, Vector256<float>>(start, end, worker); break;
                default: Run<Simd128, Vector128<float>>(start, end, worker); break;
            }
        }

        private readonly void Run<TOps, TVec>(int start, int end, int worker) where TOps : ISimd<TVec> where TVec : struct
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
                int nextB = (pair + 1) / nh, nextH = (pair + 1) % nh;
                for (int r0 = 0; r0 < t; r0 += 4)
                {
                    int rows = Math.Min(4, t - r0), n16 = (r0 + rows + 15) / 16;
                    if (pair + 1 < end)
                    {
                        // the next pair's rows, block by block (see Prefetch)
                        Prefetch(Qkv + ((long)nextB * t + r0) * c3 + nextH * hs, c3, rows, hs);
                        Prefetch(Qkv + ((long)nextB * t + r0) * c3 + c + nextH * hs, c3, rows, hs);
                        Prefetch(Qkv + ((long)nextB * t + r0) * c3 + 2 * c + nextH * hs, c3, rows, hs);
                        Prefetch(Out + ((long)nextB * t + r0) * c + nextH * hs, c, rows, hs);
                        Prefetch(Att + ((long)(pair + 1) * t + r0) * t, t, rows, t);
                    }
                    for (int r = 0; r < 4; r++) a[r] = qkvB + (long)(r0 + Math.Min(r, rows - 1)) * c3 + h * hs;
                    Scores<TOps, TVec>(s, tp, a, kt, tp, n16, hs, scale);
                    if (rows == 4) Softmax<TOps, TVec, Count4>(s, tp, r0 + 1, n16, Att + ((long)pair * t + r0) * t, t, t);
                    else
                        for (int r = 0; r < rows; r++)
                            Softmax<TOps, TVec, Count1>(s + r * tp, tp, r0 + r + 1, n16, Att + ((long)pair * t + r0 + r) * t, t, t);
                    WeightedRows<TOps, TVec>(Out + ((long)b * t + r0) * c + h * hs, c, false, s, tp, 1, rows, qkvB + 2 * c + h * hs, c3, 0, r0 + rows, hs);
                }
            }
        }
    }

    public struct BackwardBody : IParallelBody
    {
        public float* Dqkv, Dout, Qkv, Att; public int T, C, NH; public Scratch Scratch;
        public SimdWidth Width;

        public readonly void Execute(int start, int end, int worker)
        {
            switch (RunWidth(C / NH, Width))
            {
                case SimdWidth.Vector512: Run<Simd512, Vector512<float>>(start, end, worker); break;
                case SimdWidth.Vector256: Run<Simd256, Vector256<float>>(start, end, worker); break;
                default: Run<Simd128, Vector128<float>>(start, end, worker); break;
            }
        }

        private readonly void Run<TOps, TVec>(int start, int end, int worker) where TOps : ISimd<TVec> where TVec : struct
        {
            int t = T, c = C, nh = NH, hs = c / nh, c3 = 3 * c, tp = Padded(t), rowsP = (t + 3) & ~3;
            float scale = 1f / MathF.Sqrt(hs);
            float* vt = Scratch.Worker(worker), ds = vt + (long)hs * tp, pCopy = ds + (long)rowsP * tp;
            // P is read from att in place when its rows are a multiple of 16 long (zeros past each row's position, as the
            // forward wrote them), else from a copy padded to tp (a row copy and clear per query row cost ~8 % of the pass)
            bool inPlace = t == tp;
            int ps = inPlace ? t : tp;
            float** a = stackalloc float*[4];
            for (int pair = start; pair < end; pair++)
            {
                int b = pair / nh, h = pair % nh;
                float* qkvB = Qkv + (long)b * t * c3, dqkvB = Dqkv + (long)b * t * c3, doutB = Dout + (long)b * t * c + h * hs;
                Transpose(vt, qkvB + 2 * c + h * hs, c3, t, hs, tp);
                float* p = inPlace ? Att + (long)pair * t * t : pCopy;
                // P padded to tp columns (zeros), so that key blocks past T read zeros and no read leaves the tile
                for (int r = 0; !inPlace && r < t; r++)
                {
                    new ReadOnlySpan<float>(Att + ((long)pair * t + r) * t, t).CopyTo(new Span<float>(p + (long)r * tp, t));
                    new Span<float>(p + (long)r * tp + t, tp - t).Clear();
                }
                int nextB = (pair + 1) / nh, nextH = (pair + 1) % nh;
                for (int r0 = 0; r0 < t; r0 += 4)
                {
                    int rows = Math.Min(4, t - r0), n16 = (r0 + rows + 15) / 16;
                    if (pair + 1 < end)
                    {
                        for (int part = 0; part < 3; part++)
                        {
                            Prefetch(Qkv + ((long)nextB * t + r0) * c3 + part * c + nextH * hs, c3, rows, hs);
                            Prefetch(Dqkv + ((long)nextB * t + r0) * c3 + part * c + nextH * hs, c3, rows, hs);
                        }
                        Prefetch(Dout + ((long)nextB * t + r0) * c + nextH * hs, c, rows, hs);
                        Prefetch(Att + ((long)(pair + 1) * t + r0) * t, t, rows, t);
                    }
                    for (int r = 0; r < 4; r++) a[r] = doutB + (long)(r0 + Math.Min(r, rows - 1)) * c;
                    float* dsBlock = ds + (long)r0 * tp;
                    Scores<TOps, TVec>(dsBlock, tp, a, vt, tp, n16, hs, 1f); // dP = dO·Vᵀ
                    if (rows == 4) SoftmaxBackward<TOps, TVec, Count4>(dsBlock, tp, p + (long)r0 * ps, ps, n16, scale);
                    else
                        for (int r = 0; r < rows; r++)
                            SoftmaxBackward<TOps, TVec, Count1>(dsBlock + r * tp, tp, p + (long)(r0 + r) * ps, ps, n16, scale);
                    // dQ[rows] += dS·K over keys 0..r0+rows-1 (dS is zero past each row's own position)
                    WeightedRows<TOps, TVec>(dqkvB + (long)r0 * c3 + h * hs, c3, true, dsBlock, tp, 1, rows, qkvB + c + h * hs, c3, 0, r0 + rows, hs);
                }
                for (int k0 = 0; k0 < t; k0 += 4)
                {
                    int keys = Math.Min(4, t - k0);
                    // dK[keys] += dSᵀ·Q and dV[keys] += Pᵀ·dO over the query rows that see them (k0..T-1)
                    WeightedRows<TOps, TVec>(dqkvB + (long)k0 * c3 + c + h * hs, c3, true, ds + k0, 1, tp, keys, qkvB + h * hs, c3, k0, t, hs);
                    WeightedRows<TOps, TVec>(dqkvB + (long)k0 * c3 + 2 * c + h * hs, c3, true, p + k0, 1, ps, keys, doutB, c, k0, t, hs);
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
        public SimdWidth Width;

        public readonly void Execute(int start, int end, int worker)
        {
            switch (RunWidth(C / NH, Width))
            {
                case SimdWidth.Vector512: Run<Simd512, Vector512<float>>(start, end, worker); break;
                case SimdWidth.Vector256: Run<Simd256, Vector256<float>>(start, end, worker); break;
                default: Run<Simd128, Vector128<float>>(start, end, worker); break;
            }
        }

        private readonly void Run<TOps, TVec>(int start, int end, int worker) where TOps : ISimd<TVec> where TVec : struct
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
                    int rows = Math.Min(4, tn - r0), keys = pos + r0 + rows, n16 = (keys + 15) / 16;
                    for (int r = 0; r < 4; r++) a[r] = Q + ((long)b * tn + r0 + Math.Min(r, rows - 1)) * c + h * hs;
                    Scores<TOps, TVec>(s, maxT, a, kt, maxT, n16, hs, scale, oneRow: rows == 1);
                    if (rows == 4) Softmax<TOps, TVec, Count4>(s, maxT, pos + r0 + 1, n16);
                    else
                        for (int r = 0; r < rows; r++) Softmax<TOps, TVec, Count1>(s + r * maxT, maxT, pos + r0 + r + 1, n16);
                    WeightedRows<TOps, TVec>(Out + ((long)b * tn + r0) * c + h * hs, c, false, s, maxT, 1, rows, vb, c, 0, keys, hs);
                }
            }
        }
    }

    // Fetches rows × hs floats (hs rounded up to 16) at stride ld into L2 (x86; elsewhere nothing). A pair's slices of qkv,
    // out and their gradients are short rows (hs floats) at a stride of C or 3C floats, which the hardware prefetchers do not
    // follow; in a training step they are cold (the step's activations exceed L2), and the kernels ran 1.4-2x slower than
    // warm. Into L2, not L1: a whole pair ahead is ~70 lines a 4-row block, and with prefetcht0 the backward took 0.61 ms
    // in place against 0.53 with prefetcht1 (AVX2, Zen 4, nanogpt-cpu).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch(float* p, long ld, int rows, int hs)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < hs; i += 16) System.Runtime.Intrinsics.X86.Sse.Prefetch1(p + r * ld + i);
    }

    // dst[d*tp + j] = src[j*lds + d] for j < t, zero for t ≤ j < tp.
    private static void Transpose(float* dst, float* src, int lds, int t, int hs, int tp)
    {
        int j0 = 0;
        if (System.Runtime.Intrinsics.X86.Avx.IsSupported) // 8×8 blocks (hs is a multiple of 8), then 4×4
            for (; j0 + 8 <= t; j0 += 8)
                for (int d = 0; d < hs; d += 8) SimdMath.Transpose8x8(src + (long)j0 * lds + d, lds, dst + (long)d * tp + j0, tp);
        for (; j0 + 4 <= t; j0 += 4)
            for (int d = 0; d < hs; d += 4) SimdMath.Transpose4x4(src + (long)j0 * lds + d, lds, dst + (long)d * tp + j0, tp);
        for (int j = j0; j < t; j++)
        {
            float* s = src + (long)j * lds;
            for (int d = 0; d < hs; d++) dst[(long)d * tp + j] = s[d];
        }
        for (int d = 0; d < hs; d++) new Span<float>(dst + (long)d * tp + t, tp - t).Clear();
    }

    // s[r*lds + j] = scale·Σ_d a[r][d]·bt[d*ldb + j] for r < 4 (r < 1 when oneRow), j < 16·n16.
    private static void Scores<TOps, TVec>(float* s, int lds, float** a, float* bt, int ldb, int n16, int hs, float scale, bool oneRow = false)
        where TOps : ISimd<TVec> where TVec : struct =>
        Run<TOps, TVec>(n16 * 16, s, lds, false, scale, a, 1, bt, ldb, 0, hs, oneRow ? 1 : 4);

    // In place over rows r < TR (1 or 4) of s, lds apart, each over [0, 16·n16): softmax of [0, live0 + r), zeros after
    // (the rows hold finite scores); with dst, also dst[r·ldd + 0, dstLength) = the same probabilities, zeros past 16·n16
    // (the saved att rows, written here rather than copied afterwards). A 4-row block's rows go through each pass
    // together: per row a pass is a short chain (a running max or sum, then a horizontal reduction), and one row at a
    // time left the core waiting on its latencies. Each row's operations are those of a single row, in the same order.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Softmax<TOps, TVec, TR>(float* s, int lds, int live0, int n16, float* dst = null, int ldd = 0, int dstLength = 0)
        where TOps : ISimd<TVec> where TVec : struct where TR : struct, IStaticCount
    {
        int n = n16 * 16, w = TOps.Count;
        bool four = TR.Value == 4;
        float* s1 = s + lds, s2 = s + 2 * lds, s3 = s + 3 * lds;
        var ninf = TOps.Broadcast(float.NegativeInfinity);
        TVec m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
        for (int i = 0; i < n; i += w)
        {
            m0 = TOps.Max(m0, TOps.SelectBelow(TOps.Load(s + i), i, live0, ninf));
            if (!four) continue;
            m1 = TOps.Max(m1, TOps.SelectBelow(TOps.Load(s1 + i), i, live0 + 1, ninf));
            m2 = TOps.Max(m2, TOps.SelectBelow(TOps.Load(s2 + i), i, live0 + 2, ninf));
            m3 = TOps.Max(m3, TOps.SelectBelow(TOps.Load(s3 + i), i, live0 + 3, ninf));
        }
        m0 = TOps.Broadcast(TOps.MaxAcross(m0));
        if (four)
        {
            m1 = TOps.Broadcast(TOps.MaxAcross(m1));
            m2 = TOps.Broadcast(TOps.MaxAcross(m2));
            m3 = TOps.Broadcast(TOps.MaxAcross(m3));
        }
        TVec z0 = TOps.Zero, z1 = TOps.Zero, z2 = TOps.Zero, z3 = TOps.Zero;
        for (int i = 0; i < n; i += w)
        {
            var e = TOps.SelectBelow(SimdMath.Exp<TOps, TVec>(TOps.Subtract(TOps.Load(s + i), m0)), i, live0, TOps.Zero);
            TOps.Store(e, s + i);
            z0 = TOps.Add(z0, e);
            if (!four) continue;
            e = TOps.SelectBelow(SimdMath.Exp<TOps, TVec>(TOps.Subtract(TOps.Load(s1 + i), m1)), i, live0 + 1, TOps.Zero);
            TOps.Store(e, s1 + i);
            z1 = TOps.Add(z1, e);
            e = TOps.SelectBelow(SimdMath.Exp<TOps, TVec>(TOps.Subtract(TOps.Load(s2 + i), m2)), i, live0 + 2, TOps.Zero);
            TOps.Store(e, s2 + i);
            z2 = TOps.Add(z2, e);
            e = TOps.SelectBelow(SimdMath.Exp<TOps, TVec>(TOps.Subtract(TOps.Load(s3 + i), m3)), i, live0 + 3, TOps.Zero);
            TOps.Store(e, s3 + i);
            z3 = TOps.Add(z3, e);
        }
        Normalize<TOps, TVec>(s, TOps.Broadcast(1f / TOps.Sum(z0)), n, dst, dstLength);
        if (!four) return;
        Normalize<TOps, TVec>(s1, TOps.Broadcast(1f / TOps.Sum(z1)), n, dst == null ? null : dst + ldd, dstLength);
        Normalize<TOps, TVec>(s2, TOps.Broadcast(1f / TOps.Sum(z2)), n, dst == null ? null : dst + 2 * ldd, dstLength);
        Normalize<TOps, TVec>(s3, TOps.Broadcast(1f / TOps.Sum(z3)), n, dst == null ? null : dst + 3 * ldd, dstLength);
    }

    // row[0, n) *= inv; with dst, also dst[0, dstLength) = the result, zeros past n.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Normalize<TOps, TVec>(float* row, TVec inv, int n, float* dst, int dstLength) where TOps : ISimd<TVec> where TVec : struct
    {
        int w = TOps.Count, j = 0;
        for (; j < n; j += w)
        {
            var p = TOps.Multiply(TOps.Load(row + j), inv);
            TOps.Store(p, row + j);
            if (dst == null) continue;
            if (j + w <= dstLength) TOps.Store(p, dst + j);
            else for (int q = j; q < dstLength; q++) dst[q] = row[q];
        }
        if (dst == null) return;
        for (; j + w <= dstLength; j += w) TOps.Store(TOps.Zero, dst + j);
        for (; j < dstLength; j++) dst[j] = 0f;
    }

    // In place for rows r < TR (1 or 4): ds_r = scale·p_r ⊙ (dp_r − Σ_j p_r·dp_r) over [0, 16·n16), ds rows lds apart, p
    // rows ldp apart (p is zero from each row's live length on, so ds is too). Rows together, as in Softmax.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SoftmaxBackward<TOps, TVec, TR>(float* ds, int lds, float* p, long ldp, int n16, float scale)
        where TOps : ISimd<TVec> where TVec : struct where TR : struct, IStaticCount
    {
        int n = n16 * 16, w = TOps.Count;
        bool four = TR.Value == 4;
        float* ds1 = ds + lds, ds2 = ds + 2 * lds, ds3 = ds + 3 * lds, p1 = p + ldp, p2 = p + 2 * ldp, p3 = p + 3 * ldp;
        TVec d0 = TOps.Zero, d1 = TOps.Zero, d2 = TOps.Zero, d3 = TOps.Zero;
        for (int i = 0; i < n; i += w)
        {
            d0 = TOps.MultiplyAdd(TOps.Load(p + i), TOps.Load(ds + i), d0);
            if (!four) continue;
            d1 = TOps.MultiplyAdd(TOps.Load(p1 + i), TOps.Load(ds1 + i), d1);
            d2 = TOps.MultiplyAdd(TOps.Load(p2 + i), TOps.Load(ds2 + i), d2);
            d3 = TOps.MultiplyAdd(TOps.Load(p3 + i), TOps.Load(ds3 + i), d3);
        }
        var sc = TOps.Broadcast(scale);
        Rescale<TOps, TVec>(ds, p, TOps.Broadcast(TOps.Sum(d0)), sc, n);
        if (!four) return;
        Rescale<TOps, TVec>(ds1, p1, TOps.Broadcast(TOps.Sum(d1)), sc, n);
        Rescale<TOps, TVec>(ds2, p2, TOps.Broadcast(TOps.Sum(d2)), sc, n);
        Rescale<TOps, TVec>(ds3, p3, TOps.Broadcast(TOps.Sum(d3)), sc, n);
    }

    // ds[0, n) = (p ⊙ (ds − d))·scale.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rescale<TOps, TVec>(float* ds, float* p, TVec d, TVec scale, int n) where TOps : ISimd<TVec> where TVec : struct
    {
        for (int i = 0; i < n; i += TOps.Count)
            TOps.Store(TOps.Multiply(TOps.Multiply(TOps.Load(p + i), TOps.Subtract(TOps.Load(ds + i), d)), scale), ds + i);
    }

    /// <summary>
    /// o[r*ldo + i] (+)= Σ_{j=j0}^{j1-1} w[r*wr + j*wj]·x[j*ldx + i] for rows r &lt; <paramref name="rows"/> (≤ 4) and i &lt; hs
    /// (a multiple of the vector width). With rows &gt; 1, the weights of rows r ≥ rows up to 4 are read (they must be valid
    /// memory) but those rows are not stored.
    /// </summary>
    private static void WeightedRows<TOps, TVec>(float* o, int ldo, bool add, float* w, long wr, long wj, int rows, float* x, int ldx, int j0, int j1, int hs)
        where TOps : ISimd<TVec> where TVec : struct
    {
        float** wp = stackalloc float*[4];
        for (int r = 0; r < 4; r++) wp[r] = w + r * wr;
        Run<TOps, TVec>(hs, o, ldo, add, 1f, wp, wj, x, ldx, j0, j1, rows);
    }

    // One driver for both products above: o[r·ldo + i] (+)= scale·Σ_j w[r][j·wj]·x[j·ldx + i] for i < width (a multiple of
    // the vector width) and rows r < rows (computing 1 row when rows is 1, else 4), in tiles of up to four vectors
    // (AVX-512) or two.
    private static void Run<TOps, TVec>(int width, float* o, int ldo, bool add, float scale, float** w, long wj, float* x, long ldx, int j0, int j1, int rows)
        where TOps : ISimd<TVec> where TVec : struct
    {
        int v = TOps.Count, maxVecs = v == 16 ? 4 : 2;
        for (int i0 = 0; i0 < width; i0 += maxVecs * v)
        {
            int nv = Math.Min(maxVecs, (width - i0) / v);
            float* oi = o + i0, xi = x + i0;
            if (rows == 1)
            {
                if (nv == 4) Tile<TOps, TVec, Count4, Count1>(oi, ldo, add, scale, w, wj, xi, ldx, j0, j1, rows);
                else if (nv == 3) Tile<TOps, TVec, Count3, Count1>(oi, ldo, add, scale, w, wj, xi, ldx, j0, j1, rows);
                else if (nv == 2) Tile<TOps, TVec, Count2, Count1>(oi, ldo, add, scale, w, wj, xi, ldx, j0, j1, rows);
                else Tile<TOps, TVec, Count1, Count1>(oi, ldo, add, scale, w, wj, xi, ldx, j0, j1, rows);
            }
            else if (nv == 4) Tile<TOps, TVec, Count4, Count4>(oi, ldo, add, scale, w, wj, xi, ldx, j0, j1, rows);
            else if (nv == 3) Tile<TOps, TVec, Count3, Count4>(oi, ldo, add, scale, w, wj, xi, ldx, j0, j1, rows);
            else if (nv == 2) Tile<TOps, TVec, Count2, Count4>(oi, ldo, add, scale, w, wj, xi, ldx, j0, j1, rows);
            else Tile<TOps, TVec, Count1, Count4>(oi, ldo, add, scale, w, wj, xi, ldx, j0, j1, rows);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TOps, TVec, TV, TR>(float* o, int ldo, bool add, float scale, float** w, long wj, float* x, long ldx, int j0, int j1, int rows)
        where TOps : ISimd<TVec> where TVec : struct where TV : struct, IStaticCount where TR : struct, IStaticCount
    {
        int nv = TV.Value, vc = TOps.Count;
        TVec c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero, c03 = TOps.Zero, c10 = TOps.Zero, c11 = TOps.Zero, c12 = TOps.Zero, c13 = TOps.Zero;
        TVec c20 = TOps.Zero, c21 = TOps.Zero, c22 = TOps.Zero, c23 = TOps.Zero, c30 = TOps.Zero, c31 = TOps.Zero, c32 = TOps.Zero, c33 = TOps.Zero;
        float* w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
        // running offsets: with j·ldx and j·wj recomputed per step the AVX2 loop spent two multiplies per 8 FMAs
        float* xj = x + j0 * ldx;
        nint wo = (nint)(j0 * wj), wStep = (nint)wj, xStep = (nint)ldx;
        for (int j = j0; j < j1; j++, xj += xStep, wo += wStep)
        {
            var b0 = TOps.Load(xj);
            TVec b1 = b0, b2 = b0, b3 = b0;
            if (nv > 1) b1 = TOps.Load(xj + vc);
            if (nv > 2) b2 = TOps.Load(xj + 2 * vc);
            if (nv > 3) b3 = TOps.Load(xj + 3 * vc);
            var s = TOps.Broadcast(w0[wo]);
            c00 = TOps.MultiplyAdd(s, b0, c00);
            if (nv > 1) c01 = TOps.MultiplyAdd(s, b1, c01);
            if (nv > 2) c02 = TOps.MultiplyAdd(s, b2, c02);
            if (nv > 3) c03 = TOps.MultiplyAdd(s, b3, c03);
            if (TR.Value == 1) continue;
            s = TOps.Broadcast(w1[wo]);
            c10 = TOps.MultiplyAdd(s, b0, c10);
            if (nv > 1) c11 = TOps.MultiplyAdd(s, b1, c11);
            if (nv > 2) c12 = TOps.MultiplyAdd(s, b2, c12);
            if (nv > 3) c13 = TOps.MultiplyAdd(s, b3, c13);
            s = TOps.Broadcast(w2[wo]);
            c20 = TOps.MultiplyAdd(s, b0, c20);
            if (nv > 1) c21 = TOps.MultiplyAdd(s, b1, c21);
            if (nv > 2) c22 = TOps.MultiplyAdd(s, b2, c22);
            if (nv > 3) c23 = TOps.MultiplyAdd(s, b3, c23);
            s = TOps.Broadcast(w3[wo]);
            c30 = TOps.MultiplyAdd(s, b0, c30);
            if (nv > 1) c31 = TOps.MultiplyAdd(s, b1, c31);
            if (nv > 2) c32 = TOps.MultiplyAdd(s, b2, c32);
            if (nv > 3) c33 = TOps.MultiplyAdd(s, b3, c33);
        }
        var sc = TOps.Broadcast(scale);
        OutRow<TOps, TVec, TV>(o, add, sc, c00, c01, c02, c03);
        if (TR.Value == 1) return;
        if (rows > 1) OutRow<TOps, TVec, TV>(o + ldo, add, sc, c10, c11, c12, c13);
        if (rows > 2) OutRow<TOps, TVec, TV>(o + 2 * ldo, add, sc, c20, c21, c22, c23);
        if (rows > 3) OutRow<TOps, TVec, TV>(o + 3 * ldo, add, sc, c30, c31, c32, c33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutRow<TOps, TVec, TV>(float* o, bool add, TVec scale, TVec v0, TVec v1, TVec v2, TVec v3)
        where TOps : ISimd<TVec> where TVec : struct where TV : struct, IStaticCount
    {
        int vc = TOps.Count;
        // scale is 1 for the weighted sums (exact)
        v0 = TOps.Multiply(v0, scale); v1 = TOps.Multiply(v1, scale); v2 = TOps.Multiply(v2, scale); v3 = TOps.Multiply(v3, scale);
        if (add)
        {
            v0 = TOps.Add(v0, TOps.Load(o));
            if (TV.Value > 1) v1 = TOps.Add(v1, TOps.Load(o + vc));
            if (TV.Value > 2) v2 = TOps.Add(v2, TOps.Load(o + 2 * vc));
            if (TV.Value > 3) v3 = TOps.Add(v3, TOps.Load(o + 3 * vc));
        }
        TOps.Store(v0, o);
        if (TV.Value > 1) TOps.Store(v1, o + vc);
        if (TV.Value > 2) TOps.Store(v2, o + 2 * vc);
        if (TV.Value > 3) TOps.Store(v3, o + 3 * vc);
    }
}
