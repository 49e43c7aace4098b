// One vector vocabulary for every SIMD width .NET offers: kernels are written once, generic over an ISimd operator struct
// (TensorPrimitives' pattern), and the JIT specialises them for Vector512 (AVX-512), Vector256 (AVX2+FMA) and Vector128
// (NEON, SSE). CpuIsa picks the widest width the machine runs well and the register tiles that fit its register file.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace MLNetGpt.Tensors;

/// <summary>
/// The vector operations kernels use, for one vector type <typeparamref name="TVec"/> of <see cref="Count"/> floats.
/// <see cref="MultiplyAdd(TVec, TVec, TVec)"/> and its scalar twin round the same way (fused where the width has FMA, a
/// multiply then an add where it has not), so a kernel's vector body and scalar tail compute identical chains.
/// </summary>
internal unsafe interface ISimd<TVec> where TVec : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }

    /// <summary>Rows of the GEMM register tile: MR × 2 accumulators, 2 B vectors and a broadcast fit the register file.</summary>
    static abstract int GemmRows { get; }

    static abstract TVec Load(float* p);
    static abstract void Store(TVec v, float* p);
    static abstract TVec Broadcast(float x);
    static abstract TVec Zero { get; }

    /// <summary>a·b + c, fused where the width has FMA.</summary>
    static abstract TVec MultiplyAdd(TVec a, TVec b, TVec c);

    /// <summary>a·b + c rounded exactly as <see cref="MultiplyAdd(TVec, TVec, TVec)"/> rounds each lane.</summary>
    static abstract float MultiplyAdd(float a, float b, float c);

    static abstract TVec Add(TVec a, TVec b);
    static abstract TVec Subtract(TVec a, TVec b);
    static abstract TVec Multiply(TVec a, TVec b);
    // The hardware's max and min (maxps, fmax): VectorNNN.Max orders ±0 and NaN as IEEE 754-2019 asks, which costs ten
    // instructions per call and doubled GELU's time at AVX2. When b is NaN the result is NaN on x86 and ARM alike, so a
    // clamp is written Min(hi, Max(lo, x)) and lets NaN through.
    static abstract TVec Max(TVec a, TVec b);
    static abstract TVec Min(TVec a, TVec b);
    static abstract TVec Divide(TVec a, TVec b);

    /// <summary>
    /// 1/a within about 2 ulp for normal a (0 where 1/a is subnormal): the hardware's reciprocal estimate refined by Newton
    /// steps below 512 bits, a division at 512 bits (16 lanes per divide) and where no estimate exists. With GELU's two
    /// vectors per iteration it took AVX2 GELU from 0.267 to 0.243 ms (forward) and 0.346 to 0.320 ms (backward) per
    /// nanogpt-cpu call (Zen 4, `bench/MLNetGpt.Bench elementwise`).
    /// </summary>
    static abstract TVec Reciprocal(TVec a);
    static abstract TVec Sqrt(TVec a);

    /// <summary>Round to nearest, ties to even.</summary>
    static abstract TVec Round(TVec a);

    /// <summary>y·2^k for integral k in [-126, 127] (2^k built in the exponent field, then one multiply).</summary>
    static abstract TVec ScaleByPowerOfTwo(TVec y, TVec k);

    /// <summary>Lanes where <paramref name="condition"/> &gt; 0 keep <paramref name="value"/>, the others are 0.</summary>
    static abstract TVec WherePositive(TVec condition, TVec value);

    /// <summary>Lanes whose index (plus <paramref name="offset"/>) is below <paramref name="limit"/> keep <paramref name="a"/>, the others get <paramref name="fill"/>.</summary>
    static abstract TVec SelectBelow(TVec a, int offset, int limit, TVec fill);

    static abstract float Sum(TVec v);
    static abstract float MaxAcross(TVec v);
}

/// <summary>AVX-512: 16 floats, 32 registers, a 12×32 GEMM tile.</summary>
internal unsafe struct Simd512 : ISimd<Vector512<float>>
{
    public static int Count => 16;
    public static int GemmRows => 12;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float x) => Vector512.Create(x);
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Avx512F.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MultiplyAdd(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Reciprocal(Vector512<float> a) => Vector512<float>.One / a;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sqrt(Vector512<float> a) => Vector512.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Round(Vector512<float> a) => Vector512.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ScaleByPowerOfTwo(Vector512<float> y, Vector512<float> k) =>
        y * Vector512.ShiftLeft(Vector512.ConvertToInt32Native(k) + Vector512.Create(127), 23).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> WherePositive(Vector512<float> condition, Vector512<float> value) => Vector512.GreaterThan(condition, Vector512<float>.Zero) & value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SelectBelow(Vector512<float> a, int offset, int limit, Vector512<float> fill) =>
        Vector512.ConditionalSelect(Vector512.LessThan(Vector512<int>.Indices + Vector512.Create(offset), Vector512.Create(limit)).AsSingle(), a, fill);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> v) => Vector512.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector512<float> v) => Simd256.MaxAcross(Vector256.Max(v.GetLower(), v.GetUpper()));
}

/// <summary>AVX2 with FMA: 8 floats, 16 registers, a 6×16 GEMM tile (the BLIS/OpenBLAS Haswell shape).</summary>
internal unsafe struct Simd256 : ISimd<Vector256<float>>
{
    public static int Count => 8;
    public static int GemmRows => 6;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float x) => Vector256.Create(x);
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Fma.MultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MultiplyAdd(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Reciprocal(Vector256<float> a)
    {
        var y = Avx.Reciprocal(a); // 12 bits; one Newton step y + y·(1 − a·y) gives ~23
        return Fma.MultiplyAdd(y, Fma.MultiplyAddNegated(a, y, Vector256<float>.One), y);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sqrt(Vector256<float> a) => Vector256.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Round(Vector256<float> a) => Vector256.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ScaleByPowerOfTwo(Vector256<float> y, Vector256<float> k) =>
        y * Vector256.ShiftLeft(Vector256.ConvertToInt32Native(k) + Vector256.Create(127), 23).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> WherePositive(Vector256<float> condition, Vector256<float> value) => Vector256.GreaterThan(condition, Vector256<float>.Zero) & value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SelectBelow(Vector256<float> a, int offset, int limit, Vector256<float> fill) =>
        Vector256.ConditionalSelect(Vector256.LessThan(Vector256<int>.Indices + Vector256.Create(offset), Vector256.Create(limit)).AsSingle(), a, fill);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> v) => Vector256.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector256<float> v) => Simd128.MaxAcross(Vector128.Max(v.GetLower(), v.GetUpper()));
}

/// <summary>
/// 128-bit vectors: NEON (32 registers, FMA: a 12×8 GEMM tile) or SSE (16 registers: 6×8; FMA only where the CPU has it,
/// otherwise a multiply and an add, which rounds differently, so results are deterministic per width, not across widths).
/// </summary>
internal unsafe struct Simd128 : ISimd<Vector128<float>>
{
    public static int Count => 4;
    public static int GemmRows => AdvSimd.IsSupported ? 12 : 6;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(float* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Broadcast(float x) => Vector128.Create(x);
    public static Vector128<float> Zero => Vector128<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c)
    {
        if (Fma.IsSupported) return Fma.MultiplyAdd(a, b, c);
        if (AdvSimd.IsSupported) return AdvSimd.FusedMultiplyAdd(c, a, b);
        return a * b + c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float a, float b, float c) => Fma.IsSupported || AdvSimd.IsSupported ? MathF.FusedMultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.MaxNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Min(Vector128<float> a, Vector128<float> b) => Vector128.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Reciprocal(Vector128<float> a)
    {
        if (AdvSimd.IsSupported)
        {
            var e = AdvSimd.ReciprocalEstimate(a); // 8 bits; each step (2 − a·e)·e doubles them
            e = AdvSimd.Multiply(e, AdvSimd.ReciprocalStep(a, e));
            return AdvSimd.Multiply(e, AdvSimd.ReciprocalStep(a, e));
        }
        if (Sse.IsSupported)
        {
            var y = Sse.Reciprocal(a); // 12 bits; one Newton step gives ~23
            return MultiplyAdd(y, Vector128<float>.One - a * y, y);
        }
        return Vector128<float>.One / a;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sqrt(Vector128<float> a) => Vector128.Sqrt(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Round(Vector128<float> a) => Vector128.Round(a);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ScaleByPowerOfTwo(Vector128<float> y, Vector128<float> k) =>
        y * Vector128.ShiftLeft(Vector128.ConvertToInt32Native(k) + Vector128.Create(127), 23).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> WherePositive(Vector128<float> condition, Vector128<float> value) => Vector128.GreaterThan(condition, Vector128<float>.Zero) & value;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> SelectBelow(Vector128<float> a, int offset, int limit, Vector128<float> fill) =>
        Vector128.ConditionalSelect(Vector128.LessThan(Vector128<int>.Indices + Vector128.Create(offset), Vector128.Create(limit)).AsSingle(), a, fill);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector128<float> v) => Vector128.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector128<float> v)
    {
        v = Vector128.Max(v, Vector128.Shuffle(v, Vector128.Create(2, 3, 0, 1)));
        return Vector128.Max(v, Vector128.Shuffle(v, Vector128.Create(1, 0, 3, 2))).ToScalar();
    }

}

/// <summary>Functions written once over the width.</summary>
internal static class SimdMath
{
    /// <summary>dst[i·ldd + j] = src[j·lds + i] for i, j &lt; 4: a 4×4 block transposed in 128-bit registers (SSE, NEON).</summary>
    // Every width has 128-bit vectors, so one helper serves all of them; scalar copies of the same block ran at ~1 ns a
    // float and made weight packing and the attention's key transpose 4 % of an AVX2 training step.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Transpose4x4(float* src, long lds, float* dst, long ldd)
    {
        var r0 = Vector128.Load(src); var r1 = Vector128.Load(src + lds);
        var r2 = Vector128.Load(src + 2 * lds); var r3 = Vector128.Load(src + 3 * lds);
        if (Sse.IsSupported)
        {
            var t0 = Sse.UnpackLow(r0, r1); var t1 = Sse.UnpackLow(r2, r3);   // a0 b0 a1 b1 | c0 d0 c1 d1
            var t2 = Sse.UnpackHigh(r0, r1); var t3 = Sse.UnpackHigh(r2, r3); // a2 b2 a3 b3 | c2 d2 c3 d3
            Sse.MoveLowToHigh(t0, t1).Store(dst);
            Sse.MoveHighToLow(t1, t0).Store(dst + ldd);
            Sse.MoveLowToHigh(t2, t3).Store(dst + 2 * ldd);
            Sse.MoveHighToLow(t3, t2).Store(dst + 3 * ldd);
        }
        else if (AdvSimd.Arm64.IsSupported)
        {
            var t0 = AdvSimd.Arm64.ZipLow(r0, r1).AsUInt64(); var t1 = AdvSimd.Arm64.ZipLow(r2, r3).AsUInt64();
            var t2 = AdvSimd.Arm64.ZipHigh(r0, r1).AsUInt64(); var t3 = AdvSimd.Arm64.ZipHigh(r2, r3).AsUInt64();
            AdvSimd.Arm64.ZipLow(t0, t1).AsSingle().Store(dst);
            AdvSimd.Arm64.ZipHigh(t0, t1).AsSingle().Store(dst + ldd);
            AdvSimd.Arm64.ZipLow(t2, t3).AsSingle().Store(dst + 2 * ldd);
            AdvSimd.Arm64.ZipHigh(t2, t3).AsSingle().Store(dst + 3 * ldd);
        }
        else
        {
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) dst[i * ldd + j] = src[j * lds + i];
        }
    }

    /// <summary>dst[i·ldd + j] = src[j·lds + i] for i, j &lt; 8: an 8×8 block in 256-bit registers (x86 with AVX only).</summary>
    // Twice the floats of Transpose4x4 per shuffle: weight packing and the attention's key and value transposes at AVX2
    // took 1.6 % of a nanogpt-cpu training step with 4×4 blocks.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Transpose8x8(float* src, long lds, float* dst, long ldd)
    {
        var r0 = Avx.LoadVector256(src); var r1 = Avx.LoadVector256(src + lds);
        var r2 = Avx.LoadVector256(src + 2 * lds); var r3 = Avx.LoadVector256(src + 3 * lds);
        var r4 = Avx.LoadVector256(src + 4 * lds); var r5 = Avx.LoadVector256(src + 5 * lds);
        var r6 = Avx.LoadVector256(src + 6 * lds); var r7 = Avx.LoadVector256(src + 7 * lds);
        // within each 128-bit lane: pairs, then 4×4 blocks; then the lanes are exchanged
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1); var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5); var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE); var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE); var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + ldd, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * ldd, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * ldd, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * ldd, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * ldd, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * ldd, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * ldd, Avx.Permute2x128(u3, u7, 0x31));
    }

    // exp in float only (Cephes expf: x = k·ln2 + r, |r| ≤ ln2/2, degree-6 polynomial, relative error about 2e-7).
    // VectorNNN.Exp widens to double for 1-ulp accuracy, which made GELU 7 % of a nanogpt-cpu training step (softmax
    // inputs are x − max ≤ 0, where 2e-7 relative is well inside what attention needs).
    // Inputs are clamped to [-87.3, 88.3] so 2^k stays a normal float; GELU's sigmoid saturates long before that.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Exp<TOps, TVec>(TVec x) where TOps : ISimd<TVec> where TVec : struct
    {
        x = TOps.Min(TOps.Broadcast(88.3f), TOps.Max(TOps.Broadcast(-87.3f), x));
        var k = TOps.Round(TOps.Multiply(x, TOps.Broadcast(1.44269504088896341f)));
        var r = TOps.MultiplyAdd(k, TOps.Broadcast(-0.693359375f), x);
        r = TOps.MultiplyAdd(k, TOps.Broadcast(2.12194440e-4f), r);
        var p = TOps.Broadcast(1.9875691500e-4f);
        p = TOps.MultiplyAdd(p, r, TOps.Broadcast(1.3981999507e-3f));
        p = TOps.MultiplyAdd(p, r, TOps.Broadcast(8.3334519073e-3f));
        p = TOps.MultiplyAdd(p, r, TOps.Broadcast(4.1665795894e-2f));
        p = TOps.MultiplyAdd(p, r, TOps.Broadcast(1.6666665459e-1f));
        p = TOps.MultiplyAdd(p, r, TOps.Broadcast(5.0000001201e-1f));
        var y = TOps.MultiplyAdd(p, TOps.Multiply(r, r), TOps.Add(r, TOps.Broadcast(1f)));
        return TOps.ScaleByPowerOfTwo(y, k);
    }
}

/// <summary>The vector widths the CPU kernels can run at.</summary>
public enum SimdWidth
{
    /// <summary>No vectors: scalar loops.</summary>
    Scalar = 0,

    /// <summary>128-bit vectors (NEON, SSE).</summary>
    Vector128 = 128,

    /// <summary>256-bit vectors with FMA (AVX2).</summary>
    Vector256 = 256,

    /// <summary>512-bit vectors (AVX-512).</summary>
    Vector512 = 512,
}

/// <summary>Which width the CPU kernels use on this machine (the widest it runs: DOTNET_EnableAVX512=0 or DOTNET_EnableAVX=0 narrow it).</summary>
public static class CpuIsa
{
    /// <summary>The widest width this process can run.</summary>
    public static SimdWidth Best { get; } =
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? SimdWidth.Vector512
        : Vector256.IsHardwareAccelerated && Fma.IsSupported ? SimdWidth.Vector256
        : Vector128.IsHardwareAccelerated ? SimdWidth.Vector128
        : SimdWidth.Scalar;

    /// <summary>
    /// The width a <see cref="CpuBackend"/> created on this thread without an explicit width gets: <see cref="Best"/>,
    /// unless a test on this thread narrows it (a backend keeps its width, so other threads are never affected).
    /// </summary>
    internal static SimdWidth DefaultForNewBackends => t_default ?? Best;

    [ThreadStatic] internal static SimdWidth? t_default;

    /// <summary>Whether this process can run <paramref name="width"/>.</summary>
    public static bool Supports(SimdWidth width) => width <= Best;

    /// <summary>A line for logs and benchmarks: the width backends use by default and what the hardware reports.</summary>
    public static string Describe() =>
        $"kernels {DefaultForNewBackends} (best {Best}); Vector512 {Vector512.IsHardwareAccelerated}, Vector256 {Vector256.IsHardwareAccelerated}, " +
        $"Vector128 {Vector128.IsHardwareAccelerated}, FMA {Fma.IsSupported || AdvSimd.IsSupported}, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}";
}
