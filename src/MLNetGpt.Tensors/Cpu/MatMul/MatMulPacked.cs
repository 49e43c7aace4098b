// Forward matmul against a pre-packed weight (see PackedWeight): decoding with a KV cache, prefill, and the training forward.
// Per input channel k, each of up to 4 rows' x[k] is broadcast and multiplied into the accumulators of a group of output
// channels (AVX-512: 4 rows × 64 columns = 16 accumulators sharing each weight load; AVX2: 4 × 16; a single row 1 × 32;
// 128-bit: 4 × 8, which leaves room in a 16-register file for the weight vectors and the broadcast). A single row streams
// the weight once, in order; many rows re-read a panel from L1/L2 per group of 4 rows. Measured on Zen 5 (1 thread,
// AVX-512) this tile runs at 200–230 GFLOP/s from BT = 4 to 768 with C = 128..512, at or above the GEMM's 12×32 tile,
// whose per-call cost hurts small BT (docs/perf/kernels.md).
// Per output element this is the GEMM's arithmetic (start from the bias, FMA over k in increasing order), so a row
// computed here equals bitwise the same row computed by the GEMM, packed or not, in any batch, on any thread count, and at
// every width with FMA.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MLNetGpt.Tensors;

internal static unsafe class MatMulPacked
{
    /// <summary>Rows per work item when a product is split over rows as well as panels.</summary>
    public const int RowBlock = 32;

    private const int P = PackedWeight.PanelWidth; // 32

    /// <summary>
    /// out[m*ldo + n] = bias[n] + Σ_k x[m*ldx + k]·W[n,k] for rows [0,m) (in groups of 4) and the columns of panels [p0,p1).
    /// <paramref name="zeroRow"/> holds at least k zeros (stands in for the missing rows of a partial group).
    /// </summary>
    public static void Run(SimdWidth width, float* o, int ldo, float* x, int ldx, float* packed, float* bias, int m, int n, int k, int p0, int p1, float* zeroRow)
    {
        switch (width)
        {
            case SimdWidth.Vector512: Run<Simd512, Vector512<float>, Count4>(o, ldo, x, ldx, packed, bias, m, n, k, p0, p1, zeroRow); break;
            case SimdWidth.Vector256: Run<Simd256, Vector256<float>, Count2>(o, ldo, x, ldx, packed, bias, m, n, k, p0, p1, zeroRow); break;
            case SimdWidth.Vector128: Run<Simd128, Vector128<float>, Count2>(o, ldo, x, ldx, packed, bias, m, n, k, p0, p1, zeroRow); break;
            default: Scalar(o, ldo, x, ldx, packed, bias, m, n, k, p0, p1); break;
        }
    }

    // TVecs vectors of columns per tile: the tile is TVecs·Count columns wide (64 for AVX-512: two panels; 16 for AVX2 and 8
    // for 128-bit vectors: a part of one panel; a single row at AVX2 and AVX-512 takes one whole panel). Tiles never
    // straddle a panel boundary except the 4-row AVX-512 one, which covers two whole panels.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TOps, TVec, TVecs>(float* o, int ldo, float* x, int ldx, float* packed, float* bias, int m, int n, int k,
        int p0, int p1, float* zeroRow)
        where TOps : ISimd<TVec> where TVec : struct where TVecs : struct, IStaticCount
    {
        float** rows = stackalloc float*[4];
        float* edge = stackalloc float[4 * 64 + 64]; // a partial tile's output (4 rows × up to 64), then its padded bias
        float* biasPad = edge + 4 * 64;
        int c0 = p0 * P, c1 = Math.Min(p1 * P, n);
        for (int mb = 0; mb < m; mb += 4)
        {
            int r = Math.Min(4, m - mb);
            for (int i = 0; i < 4; i++) rows[i] = i < r ? x + (long)(mb + i) * ldx : zeroRow;
            float* ob = o + (long)mb * ldo;
            // One row (decoding a single sequence) takes a tile of one whole 32-column panel, read in order: at AVX2 four
            // vectors, where two 16-column tiles had read every other cache line of it in two passes (GPT-2 124M decoding
            // on one Zen 4 core: 34 → 55 tokens/s); at AVX-512 two, where a 64-column tile had read two panels side by
            // side (48-53 → 55-56). At 128 bits four vectors (half a panel) were no faster with FMA and 13 % slower
            // without (SSE), so those keep two.
            int groupVecs = r != 1 ? TVecs.Value : 4 * TOps.Count == P ? 4 : 2 * TOps.Count == P ? 2 : TVecs.Value;
            int width = groupVecs * TOps.Count; // columns per tile
            for (int col = c0; col < c1; col += width)
            {
                int cols = Math.Min(width, c1 - col);
                // a last tile as narrow as covers it (OC = 65's last column took a whole 4×64 tile: 0.58× OpenBLAS; OC = 32 at
                // AVX-512 is one 32-column tile written in place, not half of a 64-column one through the edge buffer)
                int vecs = groupVecs > 1 && cols <= TOps.Count ? 1 : groupVecs > 2 && cols <= 2 * TOps.Count ? 2 : groupVecs;
                int tileCols = vecs * TOps.Count;
                // weight of column j (< width) at input channel p: w[p·P + j] within its panel; a 64-wide tile spans two panels
                float* w = packed + (long)(col / P) * k * P + col % P;
                bool full = cols == tileCols;
                float* bp = null;
                if (bias != null)
                {
                    bp = bias + col;
                    if (!full)
                    {
                        for (int j = 0; j < tileCols; j++) biasPad[j] = j < cols ? bias[col + j] : 0f;
                        bp = biasPad;
                    }
                }
                float* dst = full ? ob + col : edge;
                int ldd = full ? ldo : tileCols;
                // a two-panel tile over the last panel re-reads that panel instead of the one after it (which may not exist)
                long stride = col + P < c1 ? (long)k * P : 0;
                if (vecs == 1) Rows<TOps, TVec, Count1>(dst, ldd, rows, r, w, stride, bp, k);
                else if (vecs == 2) Rows<TOps, TVec, Count2>(dst, ldd, rows, r, w, stride, bp, k);
                else if (r == 1) Tile<TOps, TVec, Count1, Count4>(dst, ldd, rows, r, w, stride, bp, k);
                else Rows<TOps, TVec, TVecs>(dst, ldd, rows, r, w, stride, bp, k);
                if (!full)
                    for (int i = 0; i < r; i++)
                        new ReadOnlySpan<float>(edge + i * tileCols, cols).CopyTo(new Span<float>(ob + (long)i * ldo + col, cols));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows<TOps, TVec, TVecs>(float* o, int ldo, float** rows, int r, float* w, long panelStride, float* bias, int k)
        where TOps : ISimd<TVec> where TVec : struct where TVecs : struct, IStaticCount
    {
        if (r == 1) Tile<TOps, TVec, Count1, TVecs>(o, ldo, rows, r, w, panelStride, bias, k);
        else if (r == 2) Tile<TOps, TVec, Count2, TVecs>(o, ldo, rows, r, w, panelStride, bias, k);
        else Tile<TOps, TVec, Count4, TVecs>(o, ldo, rows, r, w, panelStride, bias, k);
    }

    // TRows rows (1, 2 or 4; r ≤ TRows are real, the others point at zeros and are not stored) × TVecs vectors of columns.
    // Vector v of the tile reads w + (v·Count / P)·panelStride + (v·Count % P): the next panel after 32 columns (four
    // vectors of AVX-512 span two panels; four of AVX2 are one).
    // Accumulator aRV: row R, vector V.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TOps, TVec, TRows, TVecs>(float* o, int ldo, float** rows, int r, float* w, long panelStride, float* bias, int k)
        where TOps : ISimd<TVec> where TVec : struct where TRows : struct, IStaticCount where TVecs : struct, IStaticCount
    {
        int nv = TVecs.Value, vc = TOps.Count;
        float* w0 = w, w1 = w + vc, w2 = w + 2 * vc, w3 = w + 3 * vc;
        if (nv == 4 && 4 * vc > P)
        {
            // two panels of 2 vectors each (AVX-512: 16-float vectors, 32-float panels)
            w2 = w + panelStride; w3 = w + panelStride + vc;
        }
        TVec b0 = TOps.Zero, b1 = TOps.Zero, b2 = TOps.Zero, b3 = TOps.Zero;
        if (bias != null)
        {
            b0 = TOps.Load(bias);
            if (nv > 1) b1 = TOps.Load(bias + vc);
            if (nv > 2) { b2 = TOps.Load(bias + 2 * vc); b3 = TOps.Load(bias + 3 * vc); }
        }
        TVec a00 = b0, a01 = b1, a02 = b2, a03 = b3, a10 = b0, a11 = b1, a12 = b2, a13 = b3;
        TVec a20 = b0, a21 = b1, a22 = b2, a23 = b3, a30 = b0, a31 = b1, a32 = b2, a33 = b3;
        float* x0 = rows[0], x1 = rows[1], x2 = rows[2], x3 = rows[3];
        for (int p = 0; p < k; p++)
        {
            long at = (long)p * P;
            var v0 = TOps.Load(w0 + at);
            TVec v1 = nv > 1 ? TOps.Load(w1 + at) : v0;
            TVec v2 = nv > 2 ? TOps.Load(w2 + at) : v0, v3 = nv > 2 ? TOps.Load(w3 + at) : v0;
            var s = TOps.Broadcast(x0[p]);
            a00 = TOps.MultiplyAdd(s, v0, a00);
            if (nv > 1) a01 = TOps.MultiplyAdd(s, v1, a01);
            if (nv > 2) { a02 = TOps.MultiplyAdd(s, v2, a02); a03 = TOps.MultiplyAdd(s, v3, a03); }
            if (TRows.Value > 1)
            {
                s = TOps.Broadcast(x1[p]);
                a10 = TOps.MultiplyAdd(s, v0, a10);
                if (nv > 1) a11 = TOps.MultiplyAdd(s, v1, a11);
                if (nv > 2) { a12 = TOps.MultiplyAdd(s, v2, a12); a13 = TOps.MultiplyAdd(s, v3, a13); }
            }
            if (TRows.Value > 2)
            {
                s = TOps.Broadcast(x2[p]);
                a20 = TOps.MultiplyAdd(s, v0, a20);
                if (nv > 1) a21 = TOps.MultiplyAdd(s, v1, a21);
                if (nv > 2) { a22 = TOps.MultiplyAdd(s, v2, a22); a23 = TOps.MultiplyAdd(s, v3, a23); }
                s = TOps.Broadcast(x3[p]);
                a30 = TOps.MultiplyAdd(s, v0, a30);
                if (nv > 1) a31 = TOps.MultiplyAdd(s, v1, a31);
                if (nv > 2) { a32 = TOps.MultiplyAdd(s, v2, a32); a33 = TOps.MultiplyAdd(s, v3, a33); }
            }
        }
        Store<TOps, TVec>(o, vc, nv, a00, a01, a02, a03);
        if (TRows.Value > 1) Store<TOps, TVec>(o + ldo, vc, nv, a10, a11, a12, a13);
        if (TRows.Value > 2)
        {
            Store<TOps, TVec>(o + 2 * ldo, vc, nv, a20, a21, a22, a23);
            if (r == 4) Store<TOps, TVec>(o + 3 * ldo, vc, nv, a30, a31, a32, a33); // a group of 3 runs as 4 over a zero row
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TOps, TVec>(float* o, int vc, int nv, TVec a, TVec b, TVec c, TVec d)
        where TOps : ISimd<TVec> where TVec : struct
    {
        TOps.Store(a, o);
        if (nv > 1) TOps.Store(b, o + vc);
        if (nv > 2) { TOps.Store(c, o + 2 * vc); TOps.Store(d, o + 3 * vc); }
    }

    // Without vectors: the same chain per element (fused exactly where the vector widths are).
    private static void Scalar(float* o, int ldo, float* x, int ldx, float* packed, float* bias, int m, int n, int k, int p0, int p1)
    {
        for (int row = 0; row < m; row++)
            for (int col = p0 * P; col < Math.Min(p1 * P, n); col++)
            {
                float acc = bias == null ? 0f : bias[col];
                float* w = packed + (long)(col / P) * k * P + col % P;
                for (int p = 0; p < k; p++) acc = Simd128.MultiplyAdd(x[(long)row * ldx + p], w[(long)p * P], acc);
                o[(long)row * ldo + col] = acc;
            }
    }
}
