// Attention timing (B=8, T=256, C=384, NH=6, the large reference model's block) for CpuBackend at 1 and 2 threads.
using System.Diagnostics;
using MLNetGpt.Tensors;

namespace MLNetGpt.Bench;

internal static class AttentionBench
{
    public static int Run()
    {
        const int b = 8, t = 256, c = 384, nh = 6;
        var rng = new Random(1);
        float[] R(int n) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)rng.NextDouble() - 0.5f; return a; }
        var qkv = R(b * t * 3 * c); var dout = R(b * t * c);
        var o = new float[b * t * c]; var att = new float[b * nh * t * t]; var dqkv = new float[qkv.Length];
        foreach (int threads in new[] { 1, 2 })
        {
            var be = CpuBackend.Create(threads);
            double fwd = Time(() => be.AttentionForward(o, att, qkv, b, t, c, nh));
            double bwd = Time(() => be.AttentionBackward(dqkv, dout, qkv, att, b, t, c, nh));
            Console.WriteLine($"{{\"kernel\":\"attention\",\"shape\":[{b},{t},{c},{nh}],\"threads\":{threads},\"forward_ms\":{fwd:F2},\"backward_ms\":{bwd:F2}}}");
        }
        return 0;
    }

    private static double Time(Action a)
    {
        // warm up long enough for tiered JIT to install optimized code (the bodies run few, long calls)
        long w = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(w).TotalSeconds < 1.0) a();
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            long s = Stopwatch.GetTimestamp();
            a();
            best = Math.Min(best, Stopwatch.GetElapsedTime(s).TotalMilliseconds);
        }
        return best;
    }
}
