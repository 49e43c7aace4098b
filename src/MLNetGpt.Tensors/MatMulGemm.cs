// The matmul engine: C[m,n] += Σ_k A(m,k)·B(k,n) as a Goto-style blocked GEMM with a 12×32 register tile
// (24 Vector512 accumulators; per k two B vectors and twelve broadcasts feed 24 FMAs).
// A comes either as rows over k (inp, dout: copied into a constant-stride row buffer, a plain vector copy) or as rows over m
// (doutᵀ for dW: packed [k][MR]); B comes as rows over n (W for dinp, inp for dW: packed per block into [k][NR] panels)
// or pre-packed panels (Wᵀ for forward, transposed once per call and shared by all threads).
//
// Determinism: every C element is an FMA chain over k in increasing order starting from C's old value, whichever tile,
// block, thread or BT computes it (k blocks are visited in order and partial sums live in C; edge tiles run the same kernel
// on a copy). So a row of a BT=37 product equals the BT=1 product of that row bitwise, and thread counts do not matter.
// Without AVX-512 the fallback computes the same chains (Vector256 FMA or MathF.FusedMultiplyAdd), hence the same bits.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MLNetGpt.Tensors;

/// <summary>How the GEMM reads its operands.</summary>
internal unsafe struct GemmOperands
{
    /// <summary>A(m,k) = A[m*Lda + k] when ARowsOverK, else A[k*Lda + m].</summary>
    public float* A;
    public int Lda;
    public bool ARowsOverK;
    /// <summary>B(k,n) = B[k*Ldb + n], or when BPrepacked, B is [N/NR panels][K][NR] (see <see cref="MatMulGemm.PackTransposed"/>).</summary>
    public float* B;
    public int Ldb;
    public bool BPrepacked;
    public float* C;
    public int Ldc;
    public int K;
    /// <summary>When true, C is first set to Bias (null: zero) instead of accumulated into (forward).</summary>
    public bool InitC;
    public float* Bias;
}

internal static unsafe class MatMulGemm
{
    public const int MR = 12, NR = 32, KC = 256, MC = 120, NC = 2048;
    private const int AS = KC + 16; // row stride of the A row buffer (padding keeps the 12 rows off one cache set)

    /// <summary>True when the AVX-512 kernels run; tests switch it off to cover the fallback.</summary>
    internal static bool UseVector512 = Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>Scratch floats one thread needs: A block, B block and an edge tile.</summary>
    public const int ScratchFloats = MC * AS + KC * NC + MR * NR + 64;

    /// <summary>Floats of a pre-packed B for N columns and K rows.</summary>
    public static long PackedLength(int n, int k) => (long)((n + NR - 1) / NR) * NR * k;

    /// <summary>
    /// Packs panels [p0,p1) of Bᵀ where w is row-major [N,K] (B(k,n) = w[n*ldw + k]) into dst[panel][k][NR], zero beyond N.
    /// </summary>
    public static void PackTransposed(float* dst, float* w, int ldw, int n, int k, int p0, int p1)
    {
        Vector512<float>* t = stackalloc Vector512<float>[16];
        for (int p = p0; p < p1; p++)
        {
            float* d = dst + (long)p * k * NR;
            int nb = p * NR, nr = Math.Min(NR, n - nb);
            int kb = 0;
            if (UseVector512 && nr == NR)
            {
                // full panel: 16×16 blocks transposed in registers (the scalar loop below runs at ~1 ns a float)
                for (; kb + 16 <= k; kb += 16)
                    for (int half = 0; half < 2; half++)
                    {
                        MatMulSmall.Transpose16(w + (long)(nb + 16 * half) * ldw + kb, ldw, t);
                        for (int i = 0; i < 16; i++) t[i].Store(d + (long)(kb + i) * NR + 16 * half);
                    }
            }
            for (; kb < k; kb += 16)
            {
                int ke = Math.Min(kb + 16, k);
                for (int j = 0; j < NR; j++)
                {
                    if (j < nr)
                    {
                        float* s = w + (long)(nb + j) * ldw;
                        for (int kk = kb; kk < ke; kk++) d[kk * NR + j] = s[kk];
                    }
                    else
                        for (int kk = kb; kk < ke; kk++) d[kk * NR + j] = 0f;
                }
            }
        }
    }

    /// <summary>C[m,n] += Σ_k A(m,k)·B(k,n) for m in [m0,m1), n in [n0,n1). With pre-packed B, n0 must be a multiple of NR.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in GemmOperands op, int m0, int m1, int n0, int n1, float* scratch)
    {
        int k = op.K;
        if (m0 >= m1 || n0 >= n1 || k == 0) return;
        if (!UseVector512)
        {
            Fallback(op, m0, m1, n0, n1);
            return;
        }
        float* aBuf = scratch, bBuf = scratch + MC * AS, edge = bBuf + KC * NC;
        int ncBlock = op.BPrepacked ? int.MaxValue : NC;
        for (int jc = n0; jc < n1; jc += Math.Min(ncBlock, n1 - jc))
        {
            int nc = Math.Min(ncBlock, n1 - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                float* packedB;
                int panelStride; // floats from one NR panel to the next
                if (op.BPrepacked)
                {
                    packedB = op.B + (long)(jc / NR) * k * NR + (long)pc * NR;
                    panelStride = k * NR;
                }
                else
                {
                    PackB(bBuf, op.B + (long)pc * op.Ldb + jc, op.Ldb, kc, nc);
                    packedB = bBuf;
                    panelStride = kc * NR;
                }
                for (int ic = m0; ic < m1; ic += MC)
                {
                    int mc = Math.Min(MC, m1 - ic);
                    if (op.InitC && pc == 0)
                    {
                        // set this block of C to the bias just before its first use (it is then in cache)
                        for (int r = ic; r < ic + mc; r++)
                        {
                            var row = new Span<float>(op.C + (long)r * op.Ldc + jc, nc);
                            if (op.Bias == null) row.Clear();
                            else new ReadOnlySpan<float>(op.Bias + jc, nc).CopyTo(row);
                        }
                    }
                    if (op.ARowsOverK) CopyRowsA(aBuf, op.A + (long)ic * op.Lda + pc, op.Lda, kc, mc);
                    else PackA(aBuf, op.A + (long)pc * op.Lda + ic, op.Lda, kc, mc);
                    int aPanel = op.ARowsOverK ? MR * AS : MR * kc;
                    for (int jr = 0; jr < nc; jr += NR)
                    {
                        int nr = Math.Min(NR, nc - jr);
                        float* pb = packedB + (long)(jr / NR) * panelStride;
                        for (int ir = 0; ir < mc; ir += MR)
                        {
                            int mr = Math.Min(MR, mc - ir);
                            float* pa = aBuf + (long)(ir / MR) * aPanel;
                            float* ct = op.C + (long)(ic + ir) * op.Ldc + jc + jr;
                            if (ir + MR < mc) PrefetchTile(ct + (long)MR * op.Ldc, op.Ldc);
                            if (mr == MR && (nr == NR || nr == NR / 2))
                                Kernel(op.ARowsOverK, nr <= NR / 2, kc, pa, pb, ct, op.Ldc);
                            else
                            {
                                // partial tile: the same kernel on a copy; padding rows and columns hold whatever the
                                // scratch held, each element being independent, and are discarded
                                for (int r = 0; r < mr; r++)
                                    for (int q = 0; q < nr; q++) edge[r * NR + q] = ct[(long)r * op.Ldc + q];
                                Kernel(op.ARowsOverK, nr <= NR / 2, kc, pa, pb, edge, NR);
                                for (int r = 0; r < mr; r++)
                                    for (int q = 0; q < nr; q++) ct[(long)r * op.Ldc + q] = edge[r * NR + q];
                            }
                        }
                    }
                }
            }
        }
    }

    // Narrow column edges (≤ 16 columns, e.g. OC = 65) use a 12×16 tile: half the wasted FMAs of the 12×32 one.
    // The per-element arithmetic is the same FMA chain, so results do not depend on which tile width ran.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel(bool rowsA, bool narrow, int kc, float* pa, float* pb, float* c, int ldc)
    {
        if (narrow)
        {
            if (rowsA) Kernel16(kc, pa, 1, AS, pb, c, ldc);
            else Kernel16(kc, pa, MR, 1, pb, c, ldc);
        }
        else if (rowsA) KernelRowsA(kc, pa, pb, c, ldc);
        else KernelPackedA(kc, pa, pb, c, ldc);
    }

    // C[12×16] += A-panel · first 16 columns of a B panel; A(r,k) = pa[k*kStep + r*rStep].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel16(int kc, float* pa, int kStep, int rStep, float* pb, float* c, int ldc)
    {
        Vector512<float> r0 = Vector512.Load(c), r1 = Vector512.Load(c + ldc), r2 = Vector512.Load(c + 2 * ldc), r3 = Vector512.Load(c + 3 * ldc);
        Vector512<float> r4 = Vector512.Load(c + 4 * ldc), r5 = Vector512.Load(c + 5 * ldc), r6 = Vector512.Load(c + 6 * ldc), r7 = Vector512.Load(c + 7 * ldc);
        Vector512<float> r8 = Vector512.Load(c + 8 * ldc), r9 = Vector512.Load(c + 9 * ldc), rA = Vector512.Load(c + 10 * ldc), rB = Vector512.Load(c + 11 * ldc);
        for (int p = 0; p < kc; p++)
        {
            var b = Vector512.Load(pb);
            r0 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[0]), b, r0);
            r1 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[rStep]), b, r1);
            r2 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[2 * rStep]), b, r2);
            r3 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[3 * rStep]), b, r3);
            r4 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[4 * rStep]), b, r4);
            r5 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[5 * rStep]), b, r5);
            r6 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[6 * rStep]), b, r6);
            r7 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[7 * rStep]), b, r7);
            r8 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[8 * rStep]), b, r8);
            r9 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[9 * rStep]), b, r9);
            rA = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[10 * rStep]), b, rA);
            rB = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[11 * rStep]), b, rB);
            pa += kStep; pb += NR;
        }
        r0.Store(c); r1.Store(c + ldc); r2.Store(c + 2 * ldc); r3.Store(c + 3 * ldc);
        r4.Store(c + 4 * ldc); r5.Store(c + 5 * ldc); r6.Store(c + 6 * ldc); r7.Store(c + 7 * ldc);
        r8.Store(c + 8 * ldc); r9.Store(c + 9 * ldc); rA.Store(c + 10 * ldc); rB.Store(c + 11 * ldc);
    }

    // C tiles of large outputs live in DRAM: ask for the next one while this one computes.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchTile(float* c, int ldc)
    {
        for (int r = 0; r < MR; r++)
        {
            Sse.Prefetch0(c + (long)r * ldc);
            Sse.Prefetch0(c + (long)r * ldc + 16);
        }
    }

    // aBuf[panel][r][AS]: rows of A over k, copied with vector loads; rows beyond mc are zero.
    private static void CopyRowsA(float* dst, float* a, int lda, int kc, int mc)
    {
        int panels = (mc + MR - 1) / MR;
        for (int r = 0; r < panels * MR; r++)
        {
            float* d = dst + (long)(r / MR) * MR * AS + (r % MR) * AS;
            if (r < mc)
            {
                float* s = a + (long)r * lda;
                int i = 0;
                for (; i + 16 <= kc; i += 16) Vector512.Store(Vector512.Load(s + i), d + i);
                for (; i < kc; i++) d[i] = s[i];
            }
            else new Span<float>(d, kc).Clear();
        }
    }

    // aBuf[panel][k][MR]: MR consecutive values of A's row k (A[k, m..]), zero beyond mc.
    private static void PackA(float* dst, float* a, int lda, int kc, int mc)
    {
        for (int ir = 0; ir < mc; ir += MR)
        {
            int mr = Math.Min(MR, mc - ir);
            float* src = a + ir;
            if (mr == MR)
            {
                for (int p = 0; p < kc; p++)
                {
                    float* s = src + (long)p * lda;
                    Vector256.Store(Vector256.Load(s), dst);
                    Vector128.Store(Vector128.Load(s + 8), dst + 8);
                    dst += MR;
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    float* s = src + (long)p * lda;
                    for (int r = 0; r < MR; r++) dst[r] = r < mr ? s[r] : 0f;
                    dst += MR;
                }
            }
        }
    }

    // bBuf[panel][k][NR]: NR consecutive values of B's row k, zero beyond nc.
    private static void PackB(float* dst, float* b, int ldb, int kc, int nc)
    {
        for (int jr = 0; jr < nc; jr += NR)
        {
            int nr = Math.Min(NR, nc - jr);
            float* src = b + jr;
            if (nr == NR)
            {
                for (int p = 0; p < kc; p++)
                {
                    float* s = src + (long)p * ldb;
                    Vector512.Store(Vector512.Load(s), dst);
                    Vector512.Store(Vector512.Load(s + 16), dst + 16);
                    dst += NR;
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    float* s = src + (long)p * ldb;
                    for (int q = 0; q < NR; q++) dst[q] = q < nr ? s[q] : 0f;
                    dst += NR;
                }
            }
        }
    }

    // C[12×32] += A-panel · B-panel where A is packed [k][12].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelPackedA(int kc, float* pa, float* pb, float* c, int ldc)
    {
        float* c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc, c4 = c + 4 * ldc, c5 = c + 5 * ldc;
        float* c6 = c + 6 * ldc, c7 = c + 7 * ldc, c8 = c + 8 * ldc, c9 = c + 9 * ldc, c10 = c + 10 * ldc, c11 = c + 11 * ldc;
        var r00 = Vector512.Load(c0); var r01 = Vector512.Load(c0 + 16);
        var r10 = Vector512.Load(c1); var r11 = Vector512.Load(c1 + 16);
        var r20 = Vector512.Load(c2); var r21 = Vector512.Load(c2 + 16);
        var r30 = Vector512.Load(c3); var r31 = Vector512.Load(c3 + 16);
        var r40 = Vector512.Load(c4); var r41 = Vector512.Load(c4 + 16);
        var r50 = Vector512.Load(c5); var r51 = Vector512.Load(c5 + 16);
        var r60 = Vector512.Load(c6); var r61 = Vector512.Load(c6 + 16);
        var r70 = Vector512.Load(c7); var r71 = Vector512.Load(c7 + 16);
        var r80 = Vector512.Load(c8); var r81 = Vector512.Load(c8 + 16);
        var r90 = Vector512.Load(c9); var r91 = Vector512.Load(c9 + 16);
        var rA0 = Vector512.Load(c10); var rA1 = Vector512.Load(c10 + 16);
        var rB0 = Vector512.Load(c11); var rB1 = Vector512.Load(c11 + 16);
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(pb); var b1 = Vector512.Load(pb + 16);
            var x = Vector512.Create(pa[0]); r00 = Avx512F.FusedMultiplyAdd(x, b0, r00); r01 = Avx512F.FusedMultiplyAdd(x, b1, r01);
            x = Vector512.Create(pa[1]); r10 = Avx512F.FusedMultiplyAdd(x, b0, r10); r11 = Avx512F.FusedMultiplyAdd(x, b1, r11);
            x = Vector512.Create(pa[2]); r20 = Avx512F.FusedMultiplyAdd(x, b0, r20); r21 = Avx512F.FusedMultiplyAdd(x, b1, r21);
            x = Vector512.Create(pa[3]); r30 = Avx512F.FusedMultiplyAdd(x, b0, r30); r31 = Avx512F.FusedMultiplyAdd(x, b1, r31);
            x = Vector512.Create(pa[4]); r40 = Avx512F.FusedMultiplyAdd(x, b0, r40); r41 = Avx512F.FusedMultiplyAdd(x, b1, r41);
            x = Vector512.Create(pa[5]); r50 = Avx512F.FusedMultiplyAdd(x, b0, r50); r51 = Avx512F.FusedMultiplyAdd(x, b1, r51);
            x = Vector512.Create(pa[6]); r60 = Avx512F.FusedMultiplyAdd(x, b0, r60); r61 = Avx512F.FusedMultiplyAdd(x, b1, r61);
            x = Vector512.Create(pa[7]); r70 = Avx512F.FusedMultiplyAdd(x, b0, r70); r71 = Avx512F.FusedMultiplyAdd(x, b1, r71);
            x = Vector512.Create(pa[8]); r80 = Avx512F.FusedMultiplyAdd(x, b0, r80); r81 = Avx512F.FusedMultiplyAdd(x, b1, r81);
            x = Vector512.Create(pa[9]); r90 = Avx512F.FusedMultiplyAdd(x, b0, r90); r91 = Avx512F.FusedMultiplyAdd(x, b1, r91);
            x = Vector512.Create(pa[10]); rA0 = Avx512F.FusedMultiplyAdd(x, b0, rA0); rA1 = Avx512F.FusedMultiplyAdd(x, b1, rA1);
            x = Vector512.Create(pa[11]); rB0 = Avx512F.FusedMultiplyAdd(x, b0, rB0); rB1 = Avx512F.FusedMultiplyAdd(x, b1, rB1);
            pa += MR; pb += NR;
        }
        r00.Store(c0); r01.Store(c0 + 16); r10.Store(c1); r11.Store(c1 + 16);
        r20.Store(c2); r21.Store(c2 + 16); r30.Store(c3); r31.Store(c3 + 16);
        r40.Store(c4); r41.Store(c4 + 16); r50.Store(c5); r51.Store(c5 + 16);
        r60.Store(c6); r61.Store(c6 + 16); r70.Store(c7); r71.Store(c7 + 16);
        r80.Store(c8); r81.Store(c8 + 16); r90.Store(c9); r91.Store(c9 + 16);
        rA0.Store(c10); rA1.Store(c10 + 16); rB0.Store(c11); rB1.Store(c11 + 16);
    }

    // C[12×32] += A-panel · B-panel where A is 12 rows over k at stride AS (broadcasts at constant displacements).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelRowsA(int kc, float* pa, float* pb, float* c, int ldc)
    {
        float* c0 = c, c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc, c4 = c + 4 * ldc, c5 = c + 5 * ldc;
        float* c6 = c + 6 * ldc, c7 = c + 7 * ldc, c8 = c + 8 * ldc, c9 = c + 9 * ldc, c10 = c + 10 * ldc, c11 = c + 11 * ldc;
        var r00 = Vector512.Load(c0); var r01 = Vector512.Load(c0 + 16);
        var r10 = Vector512.Load(c1); var r11 = Vector512.Load(c1 + 16);
        var r20 = Vector512.Load(c2); var r21 = Vector512.Load(c2 + 16);
        var r30 = Vector512.Load(c3); var r31 = Vector512.Load(c3 + 16);
        var r40 = Vector512.Load(c4); var r41 = Vector512.Load(c4 + 16);
        var r50 = Vector512.Load(c5); var r51 = Vector512.Load(c5 + 16);
        var r60 = Vector512.Load(c6); var r61 = Vector512.Load(c6 + 16);
        var r70 = Vector512.Load(c7); var r71 = Vector512.Load(c7 + 16);
        var r80 = Vector512.Load(c8); var r81 = Vector512.Load(c8 + 16);
        var r90 = Vector512.Load(c9); var r91 = Vector512.Load(c9 + 16);
        var rA0 = Vector512.Load(c10); var rA1 = Vector512.Load(c10 + 16);
        var rB0 = Vector512.Load(c11); var rB1 = Vector512.Load(c11 + 16);
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(pb); var b1 = Vector512.Load(pb + 16);
            var x = Vector512.Create(pa[0]); r00 = Avx512F.FusedMultiplyAdd(x, b0, r00); r01 = Avx512F.FusedMultiplyAdd(x, b1, r01);
            x = Vector512.Create(pa[AS]); r10 = Avx512F.FusedMultiplyAdd(x, b0, r10); r11 = Avx512F.FusedMultiplyAdd(x, b1, r11);
            x = Vector512.Create(pa[2 * AS]); r20 = Avx512F.FusedMultiplyAdd(x, b0, r20); r21 = Avx512F.FusedMultiplyAdd(x, b1, r21);
            x = Vector512.Create(pa[3 * AS]); r30 = Avx512F.FusedMultiplyAdd(x, b0, r30); r31 = Avx512F.FusedMultiplyAdd(x, b1, r31);
            x = Vector512.Create(pa[4 * AS]); r40 = Avx512F.FusedMultiplyAdd(x, b0, r40); r41 = Avx512F.FusedMultiplyAdd(x, b1, r41);
            x = Vector512.Create(pa[5 * AS]); r50 = Avx512F.FusedMultiplyAdd(x, b0, r50); r51 = Avx512F.FusedMultiplyAdd(x, b1, r51);
            x = Vector512.Create(pa[6 * AS]); r60 = Avx512F.FusedMultiplyAdd(x, b0, r60); r61 = Avx512F.FusedMultiplyAdd(x, b1, r61);
            x = Vector512.Create(pa[7 * AS]); r70 = Avx512F.FusedMultiplyAdd(x, b0, r70); r71 = Avx512F.FusedMultiplyAdd(x, b1, r71);
            x = Vector512.Create(pa[8 * AS]); r80 = Avx512F.FusedMultiplyAdd(x, b0, r80); r81 = Avx512F.FusedMultiplyAdd(x, b1, r81);
            x = Vector512.Create(pa[9 * AS]); r90 = Avx512F.FusedMultiplyAdd(x, b0, r90); r91 = Avx512F.FusedMultiplyAdd(x, b1, r91);
            x = Vector512.Create(pa[10 * AS]); rA0 = Avx512F.FusedMultiplyAdd(x, b0, rA0); rA1 = Avx512F.FusedMultiplyAdd(x, b1, rA1);
            x = Vector512.Create(pa[11 * AS]); rB0 = Avx512F.FusedMultiplyAdd(x, b0, rB0); rB1 = Avx512F.FusedMultiplyAdd(x, b1, rB1);
            pa++; pb += NR;
        }
        r00.Store(c0); r01.Store(c0 + 16); r10.Store(c1); r11.Store(c1 + 16);
        r20.Store(c2); r21.Store(c2 + 16); r30.Store(c3); r31.Store(c3 + 16);
        r40.Store(c4); r41.Store(c4 + 16); r50.Store(c5); r51.Store(c5 + 16);
        r60.Store(c6); r61.Store(c6 + 16); r70.Store(c7); r71.Store(c7 + 16);
        r80.Store(c8); r81.Store(c8 + 16); r90.Store(c9); r91.Store(c9 + 16);
        rA0.Store(c10); rA1.Store(c10 + 16); rB0.Store(c11); rB1.Store(c11 + 16);
    }

    // Without AVX-512: the same FMA chain per element, hence the same bits; with AVX2 a 4-row × 8-column Vector256 tile
    // (B rows, or pre-packed panels whose 8-column groups never cross a panel), scalar FMA for the rest.
    private static void Fallback(in GemmOperands op, int m0, int m1, int n0, int n1)
    {
        int k = op.K;
        if (op.InitC)
            for (int m = m0; m < m1; m++)
                for (int n = n0; n < n1; n++) op.C[(long)m * op.Ldc + n] = op.Bias == null ? 0f : op.Bias[n];
        int nVec = n0;
        if (Vector256.IsHardwareAccelerated && Fma.IsSupported)
        {
            nVec = n0 + (n1 - n0) / 8 * 8;
            for (int m = m0; m < m1; m += 4)
            {
                int rows = Math.Min(4, m1 - m);
                int mA = m, mB = m + Math.Min(1, rows - 1), mC = m + Math.Min(2, rows - 1), mD = m + Math.Min(3, rows - 1);
                for (int n = n0; n < nVec; n += 8)
                {
                    float* c0 = op.C + (long)mA * op.Ldc + n, c1 = op.C + (long)mB * op.Ldc + n, c2 = op.C + (long)mC * op.Ldc + n, c3 = op.C + (long)mD * op.Ldc + n;
                    var a0 = Vector256.Load(c0); var a1 = Vector256.Load(c1); var a2 = Vector256.Load(c2); var a3 = Vector256.Load(c3);
                    for (int p = 0; p < k; p++)
                    {
                        float* bp = op.BPrepacked ? op.B + (long)(n / NR) * k * NR + (long)p * NR + n % NR : op.B + (long)p * op.Ldb + n;
                        var bv = Vector256.Load(bp);
                        a0 = Fma.MultiplyAdd(Vector256.Create(AAt(op, mA, p)), bv, a0);
                        a1 = Fma.MultiplyAdd(Vector256.Create(AAt(op, mB, p)), bv, a1);
                        a2 = Fma.MultiplyAdd(Vector256.Create(AAt(op, mC, p)), bv, a2);
                        a3 = Fma.MultiplyAdd(Vector256.Create(AAt(op, mD, p)), bv, a3);
                    }
                    // a clamped (duplicated) row computes the identical chain, so storing it twice is harmless
                    a3.Store(c3); a2.Store(c2); a1.Store(c1); a0.Store(c0);
                }
            }
        }
        for (int m = m0; m < m1; m++)
        {
            float* crow = op.C + (long)m * op.Ldc;
            for (int n = nVec; n < n1; n++)
            {
                float acc = crow[n];
                for (int p = 0; p < k; p++) acc = MathF.FusedMultiplyAdd(AAt(op, m, p), BAt(op, p, n), acc);
                crow[n] = acc;
            }
        }
    }

    private static float AAt(in GemmOperands op, int m, int k) => op.ARowsOverK ? op.A[(long)m * op.Lda + k] : op.A[(long)k * op.Lda + m];

    private static float BAt(in GemmOperands op, int k, int n) =>
        op.BPrepacked ? op.B[(long)(n / NR) * op.K * NR + (long)k * NR + n % NR] : op.B[(long)k * op.Ldb + n];
}
