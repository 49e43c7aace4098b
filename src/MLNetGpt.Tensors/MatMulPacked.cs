// Forward matmul against a pre-packed weight (see PackedWeight): decoding with a KV cache, prefill, and the training forward.
// Per input channel k, each of 4 rows' x[k] is broadcast and multiplied into 16-wide accumulators of 64 consecutive output
// channels (4 rows × 2 panels = 16 accumulators sharing each weight load). A single row streams the weight once, in order;
// many rows re-read a panel pair from L1/L2 per group of 4 rows. Measured on Zen 5 (1 thread) this tile runs at 200–230
// GFLOP/s from BT = 4 to 768 with C = 128..512, at or above MatMulGemm's 12×32 tile, whose per-call cost hurts small BT
// (at BT = 16384 with C ≥ 384 it is 1–8 % below that tile: docs/perf/kernels.md).
// Per output element this is MatMulGemm's arithmetic (start from the bias, FMA over k in increasing order), so a row
// computed here equals bitwise the same row computed by the GEMM, packed or not, in any batch and on any thread count.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MLNetGpt.Tensors;

internal static unsafe class MatMulPacked
{
    /// <summary>Rows per work item when a product is split over rows as well as panels.</summary>
    public const int RowBlock = 32;

    private const int P = PackedWeight.PanelWidth; // 32 = two vectors

    /// <summary>
    /// out[m*ldo + n] = bias[n] + Σ_k x[m*ldx + k]·W[n,k] for rows [0,m) (in groups of 4) and the columns of panels [p0,p1).
    /// <paramref name="zeroRow"/> holds at least k zeros (stands in for the missing rows of a partial group).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* o, int ldo, float* x, int ldx, float* packed, float* bias, int m, int n, int k, int p0, int p1, float* zeroRow)
    {
        float** rows = stackalloc float*[4];
        float* edge = stackalloc float[4 * 2 * P + 2 * P]; // a partial tile's output (4 rows × 64), then its padded bias
        float* biasPad = edge + 4 * 2 * P;
        for (int mb = 0; mb < m; mb += 4)
        {
            int r = Math.Min(4, m - mb);
            for (int i = 0; i < 4; i++) rows[i] = i < r ? x + (long)(mb + i) * ldx : zeroRow;
            float* ob = o + (long)mb * ldo;
            for (int p = p0; p < p1; p += 2)
            {
                int panels = Math.Min(2, p1 - p);
                int n0 = p * P, cols = Math.Min(panels * P, n - n0);
                float* w0 = packed + (long)p * k * P;
                float* w1 = panels == 2 ? w0 + (long)k * P : w0;
                bool full = cols == panels * P;
                float* bp = null;
                if (bias != null)
                {
                    bp = bias + n0;
                    if (!full)
                    {
                        for (int j = 0; j < 2 * P; j++) biasPad[j] = j < cols ? bias[n0 + j] : 0f;
                        bp = biasPad;
                    }
                }
                float* dst = full ? ob + n0 : edge;
                int ldd = full ? ldo : 2 * P;
                if (panels == 2)
                {
                    if (r == 1) Tile<Count1, Count2>(dst, ldd, rows, r, w0, w1, bp, k);
                    else if (r == 2) Tile<Count2, Count2>(dst, ldd, rows, r, w0, w1, bp, k);
                    else Tile<Count4, Count2>(dst, ldd, rows, r, w0, w1, bp, k);
                }
                else
                {
                    if (r == 1) Tile<Count1, Count1>(dst, ldd, rows, r, w0, w1, bp, k);
                    else if (r == 2) Tile<Count2, Count1>(dst, ldd, rows, r, w0, w1, bp, k);
                    else Tile<Count4, Count1>(dst, ldd, rows, r, w0, w1, bp, k);
                }
                if (!full)
                    for (int i = 0; i < r; i++)
                        new ReadOnlySpan<float>(edge + i * 2 * P, cols).CopyTo(new Span<float>(ob + (long)i * ldo + n0, cols));
            }
        }
    }

    // TRows rows (1, 2 or 4; r ≤ TRows are real, the others point at zeros and are not stored)
    // × TPanels panels of 32 columns. Accumulator aRV: row R, vector V (V = 0,1 panel w0; 2,3 panel w1).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TRows, TPanels>(float* o, int ldo, float** rows, int r, float* w0, float* w1, float* bias, int k)
        where TRows : struct, IStaticCount where TPanels : struct, IStaticCount
    {
        bool two = TPanels.Value == 2;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        if (bias != null)
        {
            b0 = Vector512.Load(bias); b1 = Vector512.Load(bias + 16);
            if (two) { b2 = Vector512.Load(bias + 32); b3 = Vector512.Load(bias + 48); }
        }
        Vector512<float> a00 = b0, a01 = b1, a02 = b2, a03 = b3, a10 = b0, a11 = b1, a12 = b2, a13 = b3;
        Vector512<float> a20 = b0, a21 = b1, a22 = b2, a23 = b3, a30 = b0, a31 = b1, a32 = b2, a33 = b3;
        float* x0 = rows[0], x1 = rows[1], x2 = rows[2], x3 = rows[3];
        for (int p = 0; p < k; p++)
        {
            float* wa = w0 + (long)p * P;
            var v0 = Vector512.Load(wa); var v1 = Vector512.Load(wa + 16);
            Vector512<float> v2 = default, v3 = default;
            if (two) { float* wb = w1 + (long)p * P; v2 = Vector512.Load(wb); v3 = Vector512.Load(wb + 16); }
            var s = Vector512.Create(x0[p]);
            a00 = Avx512F.FusedMultiplyAdd(s, v0, a00); a01 = Avx512F.FusedMultiplyAdd(s, v1, a01);
            if (two) { a02 = Avx512F.FusedMultiplyAdd(s, v2, a02); a03 = Avx512F.FusedMultiplyAdd(s, v3, a03); }
            if (TRows.Value > 1)
            {
                s = Vector512.Create(x1[p]);
                a10 = Avx512F.FusedMultiplyAdd(s, v0, a10); a11 = Avx512F.FusedMultiplyAdd(s, v1, a11);
                if (two) { a12 = Avx512F.FusedMultiplyAdd(s, v2, a12); a13 = Avx512F.FusedMultiplyAdd(s, v3, a13); }
            }
            if (TRows.Value > 2)
            {
                s = Vector512.Create(x2[p]);
                a20 = Avx512F.FusedMultiplyAdd(s, v0, a20); a21 = Avx512F.FusedMultiplyAdd(s, v1, a21);
                if (two) { a22 = Avx512F.FusedMultiplyAdd(s, v2, a22); a23 = Avx512F.FusedMultiplyAdd(s, v3, a23); }
                s = Vector512.Create(x3[p]);
                a30 = Avx512F.FusedMultiplyAdd(s, v0, a30); a31 = Avx512F.FusedMultiplyAdd(s, v1, a31);
                if (two) { a32 = Avx512F.FusedMultiplyAdd(s, v2, a32); a33 = Avx512F.FusedMultiplyAdd(s, v3, a33); }
            }
        }
        Store(o, a00, a01, a02, a03, two);
        if (TRows.Value > 1) Store(o + ldo, a10, a11, a12, a13, two);
        if (TRows.Value > 2)
        {
            Store(o + 2 * ldo, a20, a21, a22, a23, two);
            if (r == 4) Store(o + 3 * ldo, a30, a31, a32, a33, two); // a group of 3 runs as 4 over a zero row
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* o, Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d, bool two)
    {
        a.Store(o); b.Store(o + 16);
        if (two) { c.Store(o + 32); d.Store(o + 48); }
    }
}
