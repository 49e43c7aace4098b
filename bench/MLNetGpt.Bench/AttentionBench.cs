// Attention timing for CpuBackend at 1 and 2 threads on the nanogpt-cpu block (B=12, T=64, C=128, NH=4) and the lecture
// model's (B=8, T=256, C=384, NH=6); GFLOP/s count the causal half: forward 4·B·NH·hs·T(T+1)/2 (scores and P·V), backward
// twice that (dP, dQ, dK, dV). The _cold figures start each call with the operands evicted from cache.
using System.Diagnostics;
using MLNetGpt.Tensors;

namespace MLNetGpt.Bench;

internal static class AttentionBench
{
    /// <summary>Both shapes, or the one given as "B,T,C,NH".</summary>
    public static int Run(string? shape)
    {
        var shapes = new[] { (12, 64, 128, 4), (8, 256, 384, 6) };
        if (shape is not null)
        {
            var p = shape.Split(',').Select(int.Parse).ToArray();
            shapes = [(p[0], p[1], p[2], p[3])];
        }
        foreach (var (b, t, c, nh) in shapes) Run(b, t, c, nh);
        return 0;
    }

    private static void Run(int b, int t, int c, int nh)
    {
        var rng = new Random(1);
        float[] R(int n) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)rng.NextDouble() - 0.5f; return a; }
        var qkv = R(b * t * 3 * c); var dout = R(b * t * c);
        var o = new float[b * t * c]; var att = new float[b * nh * t * t]; var dqkv = new float[qkv.Length];
        foreach (int threads in new[] { 1, 2 })
        {
            var be = CpuBackend.Create(threads);
            double fwd = Time(() => be.AttentionForward(o, att, qkv, b, t, c, nh));
            double bwd = Time(() => be.AttentionBackward(dqkv, dout, qkv, att, b, t, c, nh));
            double fwdCold = Time(() => be.AttentionForward(o, att, qkv, b, t, c, nh), cold: true);
            double bwdCold = Time(() => be.AttentionBackward(dqkv, dout, qkv, att, b, t, c, nh), cold: true);
            double gflop = 4.0 * b * c * t * (t + 1) / 2 / 1e9; // c = NH·hs
            Console.WriteLine($"{{\"kernel\":\"attention\",\"shape\":[{b},{t},{c},{nh}],\"threads\":{threads},\"forward_ms\":{fwd:F3},\"backward_ms\":{bwd:F3},\"forward_gflops\":{gflop / fwd * 1e3:F1},\"backward_gflops\":{2 * gflop / bwd * 1e3:F1},\"forward_cold_ms\":{fwdCold:F3},\"backward_cold_ms\":{bwdCold:F3}}}");
        }
    }

    // Larger than the L3 of the machines we measure on: writing it between calls leaves the operands in memory, as they
    // are in a training step (whose activations exceed L2), where the kernels ran ~1.5x slower than warm.
    private static readonly byte[] Evict = new byte[64 << 20];

    private static double Time(Action a, bool cold = false)
    {
        // warm up long enough for tiered JIT to install optimized code (the bodies run few, long calls)
        long w = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(w).TotalSeconds < 0.5) a();
        double best = double.MaxValue;
        for (int i = 0; i < 20; i++)
        {
            if (cold) Evict.AsSpan().Fill((byte)i);
            long s = Stopwatch.GetTimestamp();
            a();
            best = Math.Min(best, Stopwatch.GetElapsedTime(s).TotalMilliseconds);
        }
        return best;
    }
}
