// The core's FMA peak at the width the kernels run: a register-only loop of independent FMA chains (no loads or stores),
// so benchmark GFLOP/s can be reported as a fraction of what the hardware can do.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MLNetGpt.Tensors;

namespace MLNetGpt.Bench;

internal static class FmaPeak
{
    /// <summary>GFLOP/s of <paramref name="threads"/> threads each running the loop (best of a few runs).</summary>
    public static double Measure(int threads)
    {
        double best = 0;
        for (int run = 0; run < 3; run++)
        {
            const long iterations = 20_000_000;
            var watch = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => Loop(iterations));
            double flops = 2.0 * 12 * Lanes * iterations * threads;
            best = Math.Max(best, flops / watch.Elapsed.TotalSeconds / 1e9);
        }
        return best;
    }

    private static int Lanes => CpuIsa.Best switch
    {
        SimdWidth.Vector512 => 16,
        SimdWidth.Vector256 => 8,
        SimdWidth.Vector128 => 4,
        _ => 1,
    };

    private static float Loop(long n) => CpuIsa.Best switch
    {
        SimdWidth.Vector512 => Chains<Simd512, Vector512<float>>(n),
        SimdWidth.Vector256 => Chains<Simd256, Vector256<float>>(n),
        SimdWidth.Vector128 => Chains<Simd128, Vector128<float>>(n),
        _ => ScalarChains(n),
    };

    // 12 independent accumulators hide the FMA latency (4 cycles × 2 pipes needs 8); the result is returned so the JIT keeps it.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains<TOps, TVec>(long n) where TOps : ISimd<TVec> where TVec : struct
    {
        var m = TOps.Broadcast(0.999999f);
        var x = TOps.Broadcast(1e-7f);
        TVec a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (long i = 0; i < n; i++)
        {
            a0 = TOps.MultiplyAdd(a0, m, x); a1 = TOps.MultiplyAdd(a1, m, x); a2 = TOps.MultiplyAdd(a2, m, x);
            a3 = TOps.MultiplyAdd(a3, m, x); a4 = TOps.MultiplyAdd(a4, m, x); a5 = TOps.MultiplyAdd(a5, m, x);
            a6 = TOps.MultiplyAdd(a6, m, x); a7 = TOps.MultiplyAdd(a7, m, x); a8 = TOps.MultiplyAdd(a8, m, x);
            a9 = TOps.MultiplyAdd(a9, m, x); a10 = TOps.MultiplyAdd(a10, m, x); a11 = TOps.MultiplyAdd(a11, m, x);
        }
        var s = TOps.Add(TOps.Add(TOps.Add(a0, a1), TOps.Add(a2, a3)), TOps.Add(TOps.Add(a4, a5), TOps.Add(a6, a7)));
        return TOps.Sum(TOps.Add(s, TOps.Add(TOps.Add(a8, a9), TOps.Add(a10, a11))));
    }

    private static float ScalarChains(long n)
    {
        float a = 1e-7f;
        for (long i = 0; i < n; i++) a = MathF.FusedMultiplyAdd(a, 0.999999f, 1e-7f);
        return a;
    }

    /// <summary>The CPU's model name (from /proc/cpuinfo on Linux).</summary>
    public static string CpuName
    {
        get
        {
            try
            {
                var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                return line is null ? "unknown" : line[(line.IndexOf(':') + 1)..].Trim();
            }
            catch (IOException)
            {
                return "unknown";
            }
        }
    }
}
