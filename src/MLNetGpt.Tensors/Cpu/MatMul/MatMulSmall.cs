// The forward for a few rows (BT ≤ 32) against an unpacked W (callers that keep no packed copy; the KV-cache decoder
// uses MatMulPacked on packed weights): no packing per call. Sixteen rows of W
// are loaded 16 k-values at a time and transposed in registers, then each of up to 8 input rows does an FMA per k.
// Per output element this is exactly MatMulGemm's arithmetic (start from the bias, FMA over k in increasing order), so
// a row computed here equals bitwise the same row computed by the GEMM inside a large batch.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MLNetGpt.Tensors;

internal static unsafe class MatMulSmall
{
    /// <summary>Largest BT that takes this path.</summary>
    public const int MaxRows = 32;


    /// <summary>
    /// out[m*ldo+n] = bias[n] + Σ_k x[m*ldx+k]·w[n*ldw+k] (FMA chain over k) for m in [0,m), n in [n0,n1).
    /// <paramref name="zeroRow"/> holds at least k zeros (stands in for missing rows of a partial group).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* o, int ldo, float* x, int ldx, float* w, int ldw, float* bias, int m, int n0, int n1, int k, float* zeroRow)
    {
        Vector512<float>* t = stackalloc Vector512<float>[16];
        float** rows = stackalloc float*[8];
        for (int mb = 0; mb < m; mb += 8)
        {
            int r = Math.Min(8, m - mb);
            for (int i = 0; i < 8; i++) rows[i] = i < r ? x + (long)(mb + i) * ldx : zeroRow;
            float* ob = o + (long)mb * ldo;
            int n = n0;
            for (; n + 16 <= n1; n += 16)
            {
                float* wn = w + (long)n * ldw;
                float* bn = bias == null ? null : bias + n;
                if (r == 1) Group<Count1>(ob + n, ldo, rows, r, wn, ldw, bn, k, t);
                else if (r == 2) Group<Count2>(ob + n, ldo, rows, r, wn, ldw, bn, k, t);
                else if (r <= 4) Group<Count4>(ob + n, ldo, rows, r, wn, ldw, bn, k, t);
                else Group<Count8>(ob + n, ldo, rows, r, wn, ldw, bn, k, t);
            }
            for (; n < n1; n++) // leftover columns: the same chain in scalar FMA
                for (int i = 0; i < r; i++)
                {
                    float acc = bias == null ? 0f : bias[n];
                    float* xr = rows[i], wr = w + (long)n * ldw;
                    for (int p = 0; p < k; p++) acc = MathF.FusedMultiplyAdd(xr[p], wr[p], acc);
                    ob[(long)i * ldo + n] = acc;
                }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Group<TRows>(float* o, int ldo, float** rows, int r, float* w, int ldw, float* bias, int k, Vector512<float>* t)
        where TRows : struct, IStaticCount
    {
        var init = bias == null ? Vector512<float>.Zero : Vector512.Load(bias);
        Vector512<float> a0 = init, a1 = init, a2 = init, a3 = init, a4 = init, a5 = init, a6 = init, a7 = init;
        float* x0 = rows[0], x1 = rows[1], x2 = rows[2], x3 = rows[3], x4 = rows[4], x5 = rows[5], x6 = rows[6], x7 = rows[7];
        int kb = 0;
        for (; kb + 16 <= k; kb += 16)
        {
            Transpose16(w + kb, ldw, t);
            for (int i = 0; i < 16; i++)
            {
                var ti = t[i];
                int p = kb + i;
                a0 = Avx512F.FusedMultiplyAdd(Vector512.Create(x0[p]), ti, a0);
                if (TRows.Value > 1) a1 = Avx512F.FusedMultiplyAdd(Vector512.Create(x1[p]), ti, a1);
                if (TRows.Value > 2)
                {
                    a2 = Avx512F.FusedMultiplyAdd(Vector512.Create(x2[p]), ti, a2);
                    a3 = Avx512F.FusedMultiplyAdd(Vector512.Create(x3[p]), ti, a3);
                }
                if (TRows.Value > 4)
                {
                    a4 = Avx512F.FusedMultiplyAdd(Vector512.Create(x4[p]), ti, a4);
                    a5 = Avx512F.FusedMultiplyAdd(Vector512.Create(x5[p]), ti, a5);
                    a6 = Avx512F.FusedMultiplyAdd(Vector512.Create(x6[p]), ti, a6);
                    a7 = Avx512F.FusedMultiplyAdd(Vector512.Create(x7[p]), ti, a7);
                }
            }
        }
        for (; kb < k; kb++) // k tail: gather one column of the 16 rows
        {
            float* c = w + kb;
            var ti = Vector512.Create(c[0], c[ldw], c[2 * ldw], c[3 * ldw], c[4 * ldw], c[5 * ldw], c[6 * ldw], c[7 * ldw],
                c[8 * ldw], c[9 * ldw], c[10 * ldw], c[11 * ldw], c[12 * ldw], c[13 * ldw], c[14 * ldw], c[15 * ldw]);
            a0 = Avx512F.FusedMultiplyAdd(Vector512.Create(x0[kb]), ti, a0);
            if (TRows.Value > 1) a1 = Avx512F.FusedMultiplyAdd(Vector512.Create(x1[kb]), ti, a1);
            if (TRows.Value > 2)
            {
                a2 = Avx512F.FusedMultiplyAdd(Vector512.Create(x2[kb]), ti, a2);
                a3 = Avx512F.FusedMultiplyAdd(Vector512.Create(x3[kb]), ti, a3);
            }
            if (TRows.Value > 4)
            {
                a4 = Avx512F.FusedMultiplyAdd(Vector512.Create(x4[kb]), ti, a4);
                a5 = Avx512F.FusedMultiplyAdd(Vector512.Create(x5[kb]), ti, a5);
                a6 = Avx512F.FusedMultiplyAdd(Vector512.Create(x6[kb]), ti, a6);
                a7 = Avx512F.FusedMultiplyAdd(Vector512.Create(x7[kb]), ti, a7);
            }
        }
        a0.Store(o);
        if (r > 1) a1.Store(o + ldo);
        if (r > 2) a2.Store(o + 2 * ldo);
        if (r > 3) a3.Store(o + 3 * ldo);
        if (r > 4) a4.Store(o + 4 * ldo);
        if (r > 5) a5.Store(o + 5 * ldo);
        if (r > 6) a6.Store(o + 6 * ldo);
        if (r > 7) a7.Store(o + 7 * ldo);
    }

    // t[i][j] = w[j*ldw + i] for i, j < 16: 16×16 transpose in four shuffle stages.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose16(float* w, int ldw, Vector512<float>* t)
    {
        for (int g = 0; g < 4; g++)
        {
            // rows 4g..4g+3 → u[4g+i] holds, in 128-bit block b, rows 4g..4g+3 of column 4b+i
            float* r = w + (long)(4 * g) * ldw;
            var r0 = Vector512.Load(r); var r1 = Vector512.Load(r + ldw); var r2 = Vector512.Load(r + 2 * ldw); var r3 = Vector512.Load(r + 3 * ldw);
            var t0 = Avx512F.UnpackLow(r0, r1).AsDouble(); var t1 = Avx512F.UnpackHigh(r0, r1).AsDouble();
            var t2 = Avx512F.UnpackLow(r2, r3).AsDouble(); var t3 = Avx512F.UnpackHigh(r2, r3).AsDouble();
            t[4 * g + 0] = Avx512F.UnpackLow(t0, t2).AsSingle();
            t[4 * g + 1] = Avx512F.UnpackHigh(t0, t2).AsSingle();
            t[4 * g + 2] = Avx512F.UnpackLow(t1, t3).AsSingle();
            t[4 * g + 3] = Avx512F.UnpackHigh(t1, t3).AsSingle();
        }
        for (int i = 0; i < 4; i++)
        {
            // reads and writes the same four slots (columns i, i+4, i+8, i+12), disjoint from other i
            var u0 = t[i]; var u4 = t[4 + i]; var u8 = t[8 + i]; var u12 = t[12 + i];
            var v = Avx512F.Shuffle4x128(u0, u4, 0x88); var vp = Avx512F.Shuffle4x128(u0, u4, 0xDD);
            var x = Avx512F.Shuffle4x128(u8, u12, 0x88); var xp = Avx512F.Shuffle4x128(u8, u12, 0xDD);
            t[i] = Avx512F.Shuffle4x128(v, x, 0x88);
            t[8 + i] = Avx512F.Shuffle4x128(v, x, 0xDD);
            t[4 + i] = Avx512F.Shuffle4x128(vp, xp, 0x88);
            t[12 + i] = Avx512F.Shuffle4x128(vp, xp, 0xDD);
        }
    }
}
