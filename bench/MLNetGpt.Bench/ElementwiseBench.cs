// Timing of the row and elementwise kernels of a nanogpt-cpu training step (BT = 768 rows, C = 128, the MLP's 4C = 512)
// for CpuBackend at 1 and 2 threads, at the width this process runs (bench/isa-env narrows it): GELU forward and backward
// over BT·4C (and the forward that keeps its derivative, as training runs it), LayerNorm forward and backward over BT×C, a
// clear (Fill) of BT·4C, and an AdamW update of nanogpt-cpu's 804,096 parameters. Best of 20 calls after a warm-up.
using System.Diagnostics;
using MLNetGpt.Tensors;

namespace MLNetGpt.Bench;

internal static class ElementwiseBench
{
    public static int Run()
    {
        const int bt = 768, c = 128, n = bt * 4 * c;
        var rng = new Random(1);
        float[] R(int len, float scale) { var a = new float[len]; for (int i = 0; i < len; i++) a[i] = ((float)rng.NextDouble() - 0.5f) * scale; return a; }
        var x4 = R(n, 6f); var d4 = R(n, 1f); var y4 = new float[n]; var dx4 = new float[n];
        var x = R(bt * c, 2f); var d = R(bt * c, 1f); var w = R(c, 1f); var b = R(c, 1f);
        var y = new float[bt * c]; var dx = new float[bt * c]; var dw = new float[c]; var db = new float[c];
        var mean = new float[bt]; var rstd = new float[bt];
        const int np = 804_096; // nanogpt-cpu's parameter count
        var pp = R(np, 0.1f); var pg = R(np, 0.01f); var pm = R(np, 0.001f); var pv = new float[np];
        for (int i = 0; i < np; i++) pv[i] = pg[i] * pg[i];
        Console.WriteLine($"{{\"ours\":\"{CpuIsa.Describe()}\",\"cpu\":\"{FmaPeak.CpuName}\"}}");
        foreach (int threads in new[] { 1, 2 })
        {
            var be = CpuBackend.Create(threads);
            be.LayerNormForward(y, mean, rstd, x, w, b, bt, c);
            void Line(string kernel, int[] shape, Action a) =>
                Console.WriteLine($"{{\"kernel\":\"{kernel}\",\"shape\":[{string.Join(",", shape)}],\"threads\":{threads},\"ms\":{Time(a):F4}}}");
            Line("gelu_forward", [n], () => be.GeluForward(y4, x4, n));
            Line("gelu_backward", [n], () => be.GeluBackward(dx4, x4, d4, n));
            Line("gelu_forward_keep_derivative", [n], () => be.GeluForward(y4, dx4, x4, n)); // training's forward
            Line("layernorm_forward", [bt, c], () => be.LayerNormForward(y, mean, rstd, x, w, b, bt, c));
            Line("layernorm_backward", [bt, c], () => be.LayerNormBackward(dx, dw, db, d, x, w, mean, rstd, bt, c));
            int step = 1000; // bias corrections of a late step; the update's cost does not depend on the values
            Line("adamw", [np], () => be.AdamW(pp, pg, pm, pv, 1e-3f, 0.9f, 0.99f, 1e-8f, 0.1f, step));
            Line("fill", [n], () => ((IComputeBackend)be).Fill(dx4, 0f)); // through the interface: older builds had only its default
        }
        return 0;
    }

    private static double Time(Action a)
    {
        // warm up long enough for tiered JIT to install optimized code
        long w = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(w).TotalSeconds < 1.0) a();
        double best = double.MaxValue;
        for (int i = 0; i < 20; i++)
        {
            long s = Stopwatch.GetTimestamp();
            a();
            best = Math.Min(best, Stopwatch.GetElapsedTime(s).TotalMilliseconds);
        }
        return best;
    }
}
