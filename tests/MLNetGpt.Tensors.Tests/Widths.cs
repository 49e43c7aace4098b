// Runs kernels at each SIMD width this machine supports (backends created on this thread inside At get that width), so one
// test run on an AVX-512 machine covers the AVX2 and 128-bit kernels too; .ci/run also runs the suite with the wider ISAs
// disabled. A backend keeps the width it was created with, so tests running in parallel are not affected.
namespace MLNetGpt.Tensors.Tests;

internal static class Widths
{
    /// <summary>Every width this process can run, widest first.</summary>
    public static IReadOnlyList<SimdWidth> Supported { get; } =
        new[] { SimdWidth.Vector512, SimdWidth.Vector256, SimdWidth.Vector128, SimdWidth.Scalar }.Where(CpuIsa.Supports).ToArray();

    /// <summary>Runs <paramref name="body"/>; the backends it creates on this thread without a width run at <paramref name="width"/>.</summary>
    public static T At<T>(SimdWidth width, Func<T> body)
    {
        var saved = CpuIsa.t_default;
        CpuIsa.t_default = width;
        try
        {
            return body();
        }
        finally
        {
            CpuIsa.t_default = saved;
        }
    }

    /// <inheritdoc cref="At{T}(SimdWidth, Func{T})"/>
    public static void At(SimdWidth width, Action body) => At(width, () => { body(); return 0; });
}
