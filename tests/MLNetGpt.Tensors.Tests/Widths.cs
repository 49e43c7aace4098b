// Runs kernels at each SIMD width this machine supports (narrowing CpuIsa's width for the duration), so one test run on an
// AVX-512 machine covers the AVX2 and 128-bit kernels too; .ci/run also runs the suite with the wider ISAs disabled.
namespace MLNetGpt.Tensors.Tests;

internal static class Widths
{
    private static readonly Lock Gate = new();

    /// <summary>Every width this process can run, widest first.</summary>
    public static IReadOnlyList<SimdWidth> Supported { get; } =
        new[] { SimdWidth.Vector512, SimdWidth.Vector256, SimdWidth.Vector128, SimdWidth.Scalar }.Where(CpuIsa.Supports).ToArray();

    /// <summary>Widths whose multiply-add is fused, hence bitwise equal to each other (SSE without FMA rounds its own way).</summary>
    public static IReadOnlyList<SimdWidth> Fused { get; } =
        Supported.Where(w => w != SimdWidth.Vector128 || Simd128.IsFused).ToArray();

    /// <summary>Runs <paramref name="body"/> with the kernels at <paramref name="width"/> (one narrowing at a time).</summary>
    public static T At<T>(SimdWidth width, Func<T> body)
    {
        lock (Gate)
        {
            var saved = CpuIsa.s_width;
            CpuIsa.s_width = width;
            try
            {
                return body();
            }
            finally
            {
                CpuIsa.s_width = saved;
            }
        }
    }

    /// <inheritdoc cref="At{T}(SimdWidth, Func{T})"/>
    public static void At(SimdWidth width, Action body) => At(width, () => { body(); return 0; });
}
