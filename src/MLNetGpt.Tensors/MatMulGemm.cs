// The weight-gradient matmul: C[m,n] += Σ_k A[k,m]·B[k,n] with both operands row-major over k (dW += dout^T·inp),
// as a Goto-style blocked GEMM: panels of A (MR rows) and B (NR columns) are packed into per-thread scratch, and a
// 12×32 register tile (24 Vector512 accumulators) does an outer product per k.
// Each C element is an FMA chain over k in increasing order that starts from C's old value, whatever tile, block or
// thread computes it (k blocks are visited in order and partial sums live in C), so results never depend on the thread count.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MLNetGpt.Tensors;

internal static unsafe class MatMulGemm
{
    public const int MR = 12, NR = 32, KC = 256, MC = 120, NC = 512;

    /// <summary>Scratch floats one thread needs: packed A block, packed B block and an edge tile.</summary>
    public const int ScratchFloats = MC * KC + KC * NC + MR * NR + 64;

    /// <summary>
    /// C[m*ldc+n] += Σ_k a[k*lda+m]·b[k*ldb+n] for m in [m0,m1), n in [n0,n1), k in [0,K).
    /// <paramref name="scratch"/> holds <see cref="ScratchFloats"/> floats, 64-byte aligned.
    /// </summary>
    public static void Run(float* c, int ldc, float* a, int lda, float* b, int ldb, int m0, int m1, int n0, int n1, int k, float* scratch)
    {
        if (m0 >= m1 || n0 >= n1 || k == 0) return;
        if (!Avx512F.IsSupported || !MatMulDot.UseVector512)
        {
            Fallback(c, ldc, a, lda, b, ldb, m0, m1, n0, n1, k);
            return;
        }
        float* packA = scratch, packB = scratch + MC * KC, edge = packB + KC * NC;
        for (int jc = n0; jc < n1; jc += NC)
        {
            int nc = Math.Min(NC, n1 - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                PackB(packB, b + (long)pc * ldb + jc, ldb, kc, nc);
                for (int ic = m0; ic < m1; ic += MC)
                {
                    int mc = Math.Min(MC, m1 - ic);
                    PackA(packA, a + (long)pc * lda + ic, lda, kc, mc);
                    for (int jr = 0; jr < nc; jr += NR)
                    {
                        int nr = Math.Min(NR, nc - jr);
                        float* pb = packB + (long)jr * kc;
                        for (int ir = 0; ir < mc; ir += MR)
                        {
                            int mr = Math.Min(MR, mc - ir);
                            float* pa = packA + (long)ir * kc;
                            float* ct = c + (long)(ic + ir) * ldc + jc + jr;
                            if (mr == MR && nr == NR) Kernel(kc, pa, pb, ct, ldc);
                            else
                            {
                                // partial tile: run the full kernel on a copy (padding rows/columns are zero in the packs)
                                for (int r = 0; r < MR; r++)
                                    for (int q = 0; q < NR; q++)
                                        edge[r * NR + q] = r < mr && q < nr ? ct[(long)r * ldc + q] : 0f;
                                Kernel(kc, pa, pb, edge, NR);
                                for (int r = 0; r < mr; r++)
                                    for (int q = 0; q < nr; q++) ct[(long)r * ldc + q] = edge[r * NR + q];
                            }
                        }
                    }
                }
            }
        }
    }

    // packA[panel][k][MR]: MR consecutive values of A's row k (A[k, ic+panel*MR ..]), zero beyond mc.
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

    // packB[panel][k][NR]: NR consecutive values of B's row k, zero beyond nc.
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

    // C[12×32] += packA[kc×12]ᵀ-outer-packB[kc×32]: per k, two B vectors and 12 broadcasts feed 24 FMAs.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel(int kc, float* pa, float* pb, float* c, int ldc)
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

    // Without AVX-512: the same FMA chain per element, vectorized over n with Vector256 where it fits (bitwise equal results).
    private static void Fallback(float* c, int ldc, float* a, int lda, float* b, int ldb, int m0, int m1, int n0, int n1, int k)
    {
        for (int m = m0; m < m1; m++)
        {
            float* crow = c + (long)m * ldc;
            int n = n0;
            if (Vector256.IsHardwareAccelerated && Fma.IsSupported)
            {
                for (; n + 8 <= n1; n += 8)
                {
                    var acc = Vector256.Load(crow + n);
                    for (int p = 0; p < k; p++)
                        acc = Fma.MultiplyAdd(Vector256.Create(a[(long)p * lda + m]), Vector256.Load(b + (long)p * ldb + n), acc);
                    acc.Store(crow + n);
                }
            }
            for (; n < n1; n++)
            {
                float acc = crow[n];
                for (int p = 0; p < k; p++) acc = MathF.FusedMultiplyAdd(a[(long)p * lda + m], b[(long)p * ldb + n], acc);
                crow[n] = acc;
            }
        }
    }
}
