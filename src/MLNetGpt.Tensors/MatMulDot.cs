// The forward matmul micro-kernels (also used for the input gradient): out[m,n] = Σ_k x[m,k]·w[n,k], both operands
// k-contiguous, so nothing is packed (important for decoding, where BT is 1..32 and packing W would cost as much as the product).
//
// Determinism contract: every output element is computed by the same arithmetic whatever BT, tile or thread handles it.
// With Vector512, lane j of a 16-wide accumulator sums k ≡ j (mod 16) in increasing k with FMA; a K%16 tail is loaded
// as the last 16 elements with the already-counted lanes masked to zero; the 16 lanes are then added by a fixed halving
// tree (j+8, j+4, j+2, j+1). The 4×4 tile reduces 16 accumulators at once with shuffles that keep exactly these pairings,
// and the one-row paths use the same routine, so a row of a BT=37 product equals the BT=1 product of that row bitwise.
// K < 16 (and machines without Vector512) use a plain FMA chain over k, again the same for every element.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MLNetGpt.Tensors;

internal static unsafe class MatMulDot
{
    /// <summary>True when the Vector512 path is used (AVX-512F hardware); tests may switch it off to cover the fallback.</summary>
    internal static bool UseVector512 = Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    private static readonly Vector512<int> ItemOrder = ComputeItemOrder();

    /// <summary>
    /// out[m*ldo+n] = (accumulate ? out : 0) + (Σ_k x[m*ldx+k]·w[n*ldw+k] + bias[n]) for m in [m0,m1), n in [n0,n1).
    /// <paramref name="bias"/> may be null.
    /// </summary>
    public static void Run(float* o, int ldo, float* x, int ldx, float* w, int ldw, float* bias, bool accumulate,
        int m0, int m1, int n0, int n1, int k)
    {
        if (m0 >= m1 || n0 >= n1) return;
        if (!UseVector512 || k < 16)
        {
            for (int m = m0; m < m1; m++)
                for (int n = n0; n < n1; n++)
                    Store(o + (long)m * ldo + n, ScalarChain(x + (long)m * ldx, w + (long)n * ldw, k), bias == null ? 0f : bias[n], bias != null, accumulate);
            return;
        }
        // Block rows so that the block of x stays in L2 while 4-row groups of w cycle through L1.
        int mb = Math.Clamp(48 * 1024 / k, 4, 512) & ~3;
        for (int mBlock = m0; mBlock < m1; mBlock += mb)
        {
            int mEnd = Math.Min(mBlock + mb, m1);
            int m4End = mBlock + (mEnd - mBlock) / 4 * 4;
            int n4End = n0 + (n1 - n0) / 4 * 4;
            if (m4End > mBlock)
            {
                for (int n = n0; n < n4End; n += 4)
                    for (int m = mBlock; m < m4End; m += 4)
                        Tile4x4(o + (long)m * ldo + n, ldo, x + (long)m * ldx, ldx, w + (long)n * ldw, ldw, bias == null ? null : bias + n, accumulate, k);
                for (int m = mBlock; m < m4End; m++)
                    for (int n = n4End; n < n1; n++)
                        One(o + (long)m * ldo + n, x + (long)m * ldx, w + (long)n * ldw, bias == null ? null : bias + n, accumulate, k);
            }
            for (int m = m4End; m < mEnd; m++) Row(o + (long)m * ldo, x + (long)m * ldx, w, ldw, bias, accumulate, n0, n1, k);
        }
    }

    // One row against columns [n0,n1): 8 columns at a time (8 independent accumulators hide the FMA latency), then singles.
    private static void Row(float* o, float* x, float* w, int ldw, float* bias, bool accumulate, int n0, int n1, int k)
    {
        int n = n0;
        for (; n + 8 <= n1; n += 8) Tile1x8(o + n, x, w + (long)n * ldw, ldw, bias == null ? null : bias + n, accumulate, k);
        for (; n < n1; n++) One(o + n, x, w + (long)n * ldw, bias == null ? null : bias + n, accumulate, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* o, float sum, float bias, bool hasBias, bool accumulate)
    {
        if (hasBias) sum += bias;
        *o = accumulate ? *o + sum : sum;
    }

    private static float ScalarChain(float* x, float* w, int k)
    {
        float acc = 0f;
        for (int i = 0; i < k; i++) acc = MathF.FusedMultiplyAdd(x[i], w[i], acc);
        return acc;
    }

    // Lanes j ≥ 16 - r kept: the K%16 tail is read as the last 16 elements, whose first 16 - r were already counted.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> TailMask(int r) =>
        Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create(16 - r)).AsSingle();

    private static void Tile4x4(float* o, int ldo, float* x, int ldx, float* w, int ldw, float* bias, bool accumulate, int k)
    {
        float* x0 = x, x1 = x + ldx, x2 = x + 2 * ldx, x3 = x + 3 * ldx;
        float* w0 = w, w1 = w + ldw, w2 = w + 2 * ldw, w3 = w + 3 * ldw;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        int i = 0;
        for (; i <= k - 16; i += 16)
        {
            var b0 = Vector512.Load(w0 + i); var b1 = Vector512.Load(w1 + i); var b2 = Vector512.Load(w2 + i); var b3 = Vector512.Load(w3 + i);
            var v = Vector512.Load(x0 + i);
            a00 = Avx512F.FusedMultiplyAdd(v, b0, a00); a01 = Avx512F.FusedMultiplyAdd(v, b1, a01); a02 = Avx512F.FusedMultiplyAdd(v, b2, a02); a03 = Avx512F.FusedMultiplyAdd(v, b3, a03);
            v = Vector512.Load(x1 + i);
            a10 = Avx512F.FusedMultiplyAdd(v, b0, a10); a11 = Avx512F.FusedMultiplyAdd(v, b1, a11); a12 = Avx512F.FusedMultiplyAdd(v, b2, a12); a13 = Avx512F.FusedMultiplyAdd(v, b3, a13);
            v = Vector512.Load(x2 + i);
            a20 = Avx512F.FusedMultiplyAdd(v, b0, a20); a21 = Avx512F.FusedMultiplyAdd(v, b1, a21); a22 = Avx512F.FusedMultiplyAdd(v, b2, a22); a23 = Avx512F.FusedMultiplyAdd(v, b3, a23);
            v = Vector512.Load(x3 + i);
            a30 = Avx512F.FusedMultiplyAdd(v, b0, a30); a31 = Avx512F.FusedMultiplyAdd(v, b1, a31); a32 = Avx512F.FusedMultiplyAdd(v, b2, a32); a33 = Avx512F.FusedMultiplyAdd(v, b3, a33);
        }
        if (i < k)
        {
            var mask = TailMask(k - i);
            int t = k - 16;
            var b0 = Vector512.Load(w0 + t) & mask; var b1 = Vector512.Load(w1 + t) & mask; var b2 = Vector512.Load(w2 + t) & mask; var b3 = Vector512.Load(w3 + t) & mask;
            var v = Vector512.Load(x0 + t) & mask;
            a00 = Avx512F.FusedMultiplyAdd(v, b0, a00); a01 = Avx512F.FusedMultiplyAdd(v, b1, a01); a02 = Avx512F.FusedMultiplyAdd(v, b2, a02); a03 = Avx512F.FusedMultiplyAdd(v, b3, a03);
            v = Vector512.Load(x1 + t) & mask;
            a10 = Avx512F.FusedMultiplyAdd(v, b0, a10); a11 = Avx512F.FusedMultiplyAdd(v, b1, a11); a12 = Avx512F.FusedMultiplyAdd(v, b2, a12); a13 = Avx512F.FusedMultiplyAdd(v, b3, a13);
            v = Vector512.Load(x2 + t) & mask;
            a20 = Avx512F.FusedMultiplyAdd(v, b0, a20); a21 = Avx512F.FusedMultiplyAdd(v, b1, a21); a22 = Avx512F.FusedMultiplyAdd(v, b2, a22); a23 = Avx512F.FusedMultiplyAdd(v, b3, a23);
            v = Vector512.Load(x3 + t) & mask;
            a30 = Avx512F.FusedMultiplyAdd(v, b0, a30); a31 = Avx512F.FusedMultiplyAdd(v, b1, a31); a32 = Avx512F.FusedMultiplyAdd(v, b2, a32); a33 = Avx512F.FusedMultiplyAdd(v, b3, a33);
        }
        var sums = Reduce16(a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33);
        Vector128<float> bv = bias == null ? default : Vector128.Load(bias);
        StoreQuad(o, sums.GetLower().GetLower(), bv, bias != null, accumulate);
        StoreQuad(o + ldo, sums.GetLower().GetUpper(), bv, bias != null, accumulate);
        StoreQuad(o + 2 * ldo, sums.GetUpper().GetLower(), bv, bias != null, accumulate);
        StoreQuad(o + 3 * ldo, sums.GetUpper().GetUpper(), bv, bias != null, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreQuad(float* o, Vector128<float> sum, Vector128<float> bias, bool hasBias, bool accumulate)
    {
        if (hasBias) sum += bias;
        if (accumulate) sum = Vector128.Load(o) + sum;
        sum.Store(o);
    }

    private static void Tile1x8(float* o, float* x, float* w, int ldw, float* bias, bool accumulate, int k)
    {
        float* w0 = w, w1 = w + ldw, w2 = w + 2 * ldw, w3 = w + 3 * ldw, w4 = w + 4 * ldw, w5 = w + 5 * ldw, w6 = w + 6 * ldw, w7 = w + 7 * ldw;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        int i = 0;
        for (; i <= k - 16; i += 16)
        {
            var v = Vector512.Load(x + i);
            a0 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w0 + i), a0); a1 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w1 + i), a1);
            a2 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w2 + i), a2); a3 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w3 + i), a3);
            a4 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w4 + i), a4); a5 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w5 + i), a5);
            a6 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w6 + i), a6); a7 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w7 + i), a7);
        }
        if (i < k)
        {
            var mask = TailMask(k - i);
            int t = k - 16;
            var v = Vector512.Load(x + t) & mask;
            a0 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w0 + t) & mask, a0); a1 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w1 + t) & mask, a1);
            a2 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w2 + t) & mask, a2); a3 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w3 + t) & mask, a3);
            a4 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w4 + t) & mask, a4); a5 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w5 + t) & mask, a5);
            a6 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w6 + t) & mask, a6); a7 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(w7 + t) & mask, a7);
        }
        var z = Vector512<float>.Zero;
        var sums = Reduce16(a0, a1, a2, a3, a4, a5, a6, a7, z, z, z, z, z, z, z, z).GetLower();
        if (bias != null) sums += Vector256.Load(bias);
        if (accumulate) sums = Vector256.Load(o) + sums;
        sums.Store(o);
    }

    private static void One(float* o, float* x, float* w, float* bias, bool accumulate, int k)
    {
        Vector512<float> a = default;
        int i = 0;
        for (; i <= k - 16; i += 16) a = Avx512F.FusedMultiplyAdd(Vector512.Load(x + i), Vector512.Load(w + i), a);
        if (i < k)
        {
            var mask = TailMask(k - i);
            a = Avx512F.FusedMultiplyAdd(Vector512.Load(x + k - 16) & mask, Vector512.Load(w + k - 16) & mask, a);
        }
        var z = Vector512<float>.Zero;
        float sum = Reduce16(a, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z).ToScalar();
        Store(o, sum, bias == null ? 0f : *bias, bias != null, accumulate);
    }

    /// <summary>Reduces 16 accumulators to one vector whose lane i is the fixed-tree sum of accumulator i's 16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Reduce16(
        Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7,
        Vector512<float> v8, Vector512<float> v9, Vector512<float> v10, Vector512<float> v11,
        Vector512<float> v12, Vector512<float> v13, Vector512<float> v14, Vector512<float> v15)
    {
        var raw = ReduceRaw(v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13, v14, v15);
        return Avx512F.PermuteVar16x32(raw, ItemOrder);
    }

    // Level 1 pairs lanes (j, j+8), level 2 (j, j+4), level 3 (j, j+2), level 4 (j, j+1), for every accumulator alike.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ReduceRaw(
        Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7,
        Vector512<float> v8, Vector512<float> v9, Vector512<float> v10, Vector512<float> v11,
        Vector512<float> v12, Vector512<float> v13, Vector512<float> v14, Vector512<float> v15)
    {
        var l0 = L1(v0, v1); var l1 = L1(v2, v3); var l2 = L1(v4, v5); var l3 = L1(v6, v7);
        var l4 = L1(v8, v9); var l5 = L1(v10, v11); var l6 = L1(v12, v13); var l7 = L1(v14, v15);
        var m0 = L2(l0, l1); var m1 = L2(l2, l3); var m2 = L2(l4, l5); var m3 = L2(l6, l7);
        var n0 = L3(m0, m1); var n1 = L3(m2, m3);
        return L4(n0, n1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> L1(Vector512<float> a, Vector512<float> b) =>
        Avx512F.Shuffle4x128(a, b, 0x44) + Avx512F.Shuffle4x128(a, b, 0xEE);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> L2(Vector512<float> a, Vector512<float> b) =>
        Avx512F.Shuffle4x128(a, b, 0x88) + Avx512F.Shuffle4x128(a, b, 0xDD);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> L3(Vector512<float> a, Vector512<float> b) =>
        Avx512F.Shuffle(a, b, 0x44) + Avx512F.Shuffle(a, b, 0xEE);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> L4(Vector512<float> a, Vector512<float> b) =>
        Avx512F.Shuffle(a, b, 0x88) + Avx512F.Shuffle(a, b, 0xDD);

    // Where ReduceRaw puts accumulator i: feed accumulator i = i everywhere, so its sum is 16·i.
    private static Vector512<int> ComputeItemOrder()
    {
        if (!Avx512F.IsSupported) return Vector512<int>.Indices;
        var raw = ReduceRaw(
            Vector512.Create(0f), Vector512.Create(1f), Vector512.Create(2f), Vector512.Create(3f),
            Vector512.Create(4f), Vector512.Create(5f), Vector512.Create(6f), Vector512.Create(7f),
            Vector512.Create(8f), Vector512.Create(9f), Vector512.Create(10f), Vector512.Create(11f),
            Vector512.Create(12f), Vector512.Create(13f), Vector512.Create(14f), Vector512.Create(15f));
        Span<int> order = stackalloc int[16];
        for (int lane = 0; lane < 16; lane++) order[(int)(raw[lane] / 16f)] = lane;
        return Vector512.Create((ReadOnlySpan<int>)order);
    }
}
