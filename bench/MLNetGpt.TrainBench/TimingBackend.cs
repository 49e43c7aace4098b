// A decorator that times every kernel call (for --profile): shows where a training step spends its time.
using System.Diagnostics;
using MLNetGpt.Tensors;

namespace MLNetGpt.TrainBench;

internal sealed class TimingBackend(IComputeBackend inner) : IComputeBackend
{
    private readonly Dictionary<string, (long Ticks, long Calls)> _stats = [];
    // matmuls also by shape: (kernel, BT, C, OC) → time, calls; reported with their in-situ GFLOP/s
    private readonly Dictionary<(string Op, int Bt, int C, int Oc), (long Ticks, long Calls)> _shapes = [];

    private void AddShape(string op, int bt, int c, int oc, long start)
    {
        long t = Stopwatch.GetTimestamp() - start;
        var key = (op, bt, c, oc);
        _shapes[key] = _shapes.TryGetValue(key, out var s) ? (s.Ticks + t, s.Calls + 1) : (t, 1);
    }

    public string Name => inner.Name;
    public int ThreadCount => inner.ThreadCount;

    private void Add(string op, long start)
    {
        long t = Stopwatch.GetTimestamp() - start;
        _stats[op] = _stats.TryGetValue(op, out var s) ? (s.Ticks + t, s.Calls + 1) : (t, 1);
    }

    public void Reset() { _stats.Clear(); _shapes.Clear(); }

    public void Report(TextWriter w, int steps, string unit = "step")
    {
        long total = _stats.Values.Sum(s => s.Ticks);
        foreach (var (op, s) in _stats.OrderByDescending(kv => kv.Value.Ticks))
            w.WriteLine($"{op,-28} {s.Ticks * 1000.0 / Stopwatch.Frequency / steps,9:F3} ms/{unit} {100.0 * s.Ticks / total,6:F1}%  {s.Calls / (double)steps,7:F1} calls/{unit}");
        w.WriteLine($"{"kernels total",-28} {total * 1000.0 / Stopwatch.Frequency / steps,9:F3} ms/{unit}");
        if (_shapes.Count == 0) return;
        w.WriteLine("matmuls by shape [BT,C,OC] (backward: both products, 4·BT·C·OC flops; forward 2·BT·C·OC):");
        foreach (var ((op, bt, c, oc), s) in _shapes.OrderByDescending(kv => kv.Value.Ticks))
        {
            double seconds = s.Ticks / (double)Stopwatch.Frequency, flops = (op == nameof(MatMulBackward) ? 4.0 : 2.0) * bt * c * oc * s.Calls;
            w.WriteLine($"  {op,-22} [{bt},{c},{oc}]".PadRight(46) + $"{seconds * 1000 / steps,9:F3} ms/{unit} {s.Calls / (double)steps,7:F1} calls/{unit} {flops / seconds / 1e9,8:F1} GFLOP/s");
        }
    }

    public void MatMulForward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int bt, int c, int oc) { long s = Stopwatch.GetTimestamp(); inner.MatMulForward(output, input, weight, bias, bt, c, oc); Add(nameof(MatMulForward), s); AddShape(nameof(MatMulForward), bt, c, oc, s); }
    // counted with MatMulBackward: the same two products
    public void MatMulBackwardAssign(Span<float> dinput, ReadOnlySpan<float> dinputScale, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int bt, int c, int oc) { long s = Stopwatch.GetTimestamp(); inner.MatMulBackwardAssign(dinput, dinputScale, dweight, dbias, doutput, input, weight, bt, c, oc); Add(nameof(MatMulBackward), s); AddShape(nameof(MatMulBackward), bt, c, oc, s); }
    public void PackMatMulWeight(Span<float> packed, ReadOnlySpan<float> weight, int c, int oc) { long s = Stopwatch.GetTimestamp(); inner.PackMatMulWeight(packed, weight, c, oc); Add(nameof(PackMatMulWeight), s); }
    public void MatMulForwardPacked(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias, int bt, int c, int oc) { long s = Stopwatch.GetTimestamp(); inner.MatMulForwardPacked(output, input, packedWeight, bias, bt, c, oc); Add(nameof(MatMulForwardPacked), s); }
    public void MatMulBackward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int bt, int c, int oc) { long s = Stopwatch.GetTimestamp(); inner.MatMulBackward(dinput, dweight, dbias, doutput, input, weight, bt, c, oc); Add(nameof(MatMulBackward), s); AddShape(nameof(MatMulBackward), bt, c, oc, s); }
    public void EncoderForward(Span<float> output, ReadOnlySpan<int> tokens, ReadOnlySpan<float> wte, ReadOnlySpan<float> wpe, int b, int t, int c) { long s = Stopwatch.GetTimestamp(); inner.EncoderForward(output, tokens, wte, wpe, b, t, c); Add(nameof(EncoderForward), s); }
    public void EncoderBackward(Span<float> dwte, Span<float> dwpe, ReadOnlySpan<float> doutput, ReadOnlySpan<int> tokens, int b, int t, int c) { long s = Stopwatch.GetTimestamp(); inner.EncoderBackward(dwte, dwpe, doutput, tokens, b, t, c); Add(nameof(EncoderBackward), s); }
    public void LayerNormForward(Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int n, int c) { long s = Stopwatch.GetTimestamp(); inner.LayerNormForward(output, mean, rstd, input, weight, bias, n, c); Add(nameof(LayerNormForward), s); }
    public void LayerNormBackward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int n, int c) { long s = Stopwatch.GetTimestamp(); inner.LayerNormBackward(dinput, dweight, dbias, doutput, input, weight, mean, rstd, n, c); Add(nameof(LayerNormBackward), s); }
    public void AttentionForward(Span<float> output, Span<float> att, ReadOnlySpan<float> qkv, int b, int t, int c, int nh) { long s = Stopwatch.GetTimestamp(); inner.AttentionForward(output, att, qkv, b, t, c, nh); Add(nameof(AttentionForward), s); }
    public void AttentionBackward(Span<float> dqkv, ReadOnlySpan<float> doutput, ReadOnlySpan<float> qkv, ReadOnlySpan<float> att, int b, int t, int c, int nh) { long s = Stopwatch.GetTimestamp(); inner.AttentionBackward(dqkv, doutput, qkv, att, b, t, c, nh); Add(nameof(AttentionBackward), s); }
    public void AttentionForwardCached(Span<float> output, ReadOnlySpan<float> q, ReadOnlySpan<float> kCache, ReadOnlySpan<float> vCache, ReadOnlySpan<int> pos, int b, int tn, int maxT, int c, int nh) { long s = Stopwatch.GetTimestamp(); inner.AttentionForwardCached(output, q, kCache, vCache, pos, b, tn, maxT, c, nh); Add(nameof(AttentionForwardCached), s); }
    public void GeluForward(Span<float> output, ReadOnlySpan<float> input, int n) { long s = Stopwatch.GetTimestamp(); inner.GeluForward(output, input, n); Add(nameof(GeluForward), s); }
    public void GeluForward(Span<float> output, Span<float> derivative, ReadOnlySpan<float> input, int n) { long s = Stopwatch.GetTimestamp(); inner.GeluForward(output, derivative, input, n); Add(nameof(GeluForward), s); }
    public void GeluBackward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, int n) { long s = Stopwatch.GetTimestamp(); inner.GeluBackward(dinput, input, doutput, n); Add(nameof(GeluBackward), s); }
    public void ReluForward(Span<float> output, ReadOnlySpan<float> input, int n) { long s = Stopwatch.GetTimestamp(); inner.ReluForward(output, input, n); Add(nameof(ReluForward), s); }
    public void ReluBackward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, int n) { long s = Stopwatch.GetTimestamp(); inner.ReluBackward(dinput, input, doutput, n); Add(nameof(ReluBackward), s); }
    public void ResidualForward(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int n) { long s = Stopwatch.GetTimestamp(); inner.ResidualForward(output, a, b, n); Add(nameof(ResidualForward), s); }
    public void ResidualBackward(Span<float> da, Span<float> db, ReadOnlySpan<float> doutput, int n) { long s = Stopwatch.GetTimestamp(); inner.ResidualBackward(da, db, doutput, n); Add(nameof(ResidualBackward), s); }
    public void DropoutForward(Span<float> output, ReadOnlySpan<float> input, float p, ulong seed, int n) { long s = Stopwatch.GetTimestamp(); inner.DropoutForward(output, input, p, seed, n); Add(nameof(DropoutForward), s); }
    public void DropoutBackward(Span<float> dinput, ReadOnlySpan<float> doutput, float p, ulong seed, int n) { long s = Stopwatch.GetTimestamp(); inner.DropoutBackward(dinput, doutput, p, seed, n); Add(nameof(DropoutBackward), s); }
    public void SoftmaxCrossEntropyForward(Span<float> losses, Span<float> probs, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int bt, int v) { long s = Stopwatch.GetTimestamp(); inner.SoftmaxCrossEntropyForward(losses, probs, logits, targets, bt, v); Add(nameof(SoftmaxCrossEntropyForward), s); }
    public void SoftmaxCrossEntropyBackward(Span<float> dlogits, ReadOnlySpan<float> dlosses, ReadOnlySpan<float> probs, ReadOnlySpan<int> targets, int bt, int v) { long s = Stopwatch.GetTimestamp(); inner.SoftmaxCrossEntropyBackward(dlogits, dlosses, probs, targets, bt, v); Add(nameof(SoftmaxCrossEntropyBackward), s); }
    public void AdamW(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v, float learningRate, float beta1, float beta2, float eps, float weightDecay, int step, float gradientScale = 1f) { long s = Stopwatch.GetTimestamp(); inner.AdamW(parameters, gradients, m, v, learningRate, beta1, beta2, eps, weightDecay, step, gradientScale); Add(nameof(AdamW), s); }
    public double SumOfSquares(ReadOnlySpan<float> x) { long s = Stopwatch.GetTimestamp(); var r = inner.SumOfSquares(x); Add(nameof(SumOfSquares), s); return r; }
    public void Scale(Span<float> x, float scale) { long s = Stopwatch.GetTimestamp(); inner.Scale(x, scale); Add(nameof(Scale), s); }

    // device memory: forwarded untimed (no-ops on the CPU backends), except Fill (the model clears gradient buffers with it)
    public void Attach(float[] hostArray) => inner.Attach(hostArray);
    public void Detach(float[] hostArray) => inner.Detach(hostArray);
    public void CopyToDevice(ReadOnlySpan<float> hostRange) => inner.CopyToDevice(hostRange);
    public void CopyToHost(Span<float> hostRange) => inner.CopyToHost(hostRange);
    public void Fill(Span<float> x, float value) { long s = Stopwatch.GetTimestamp(); inner.Fill(x, value); Add(nameof(Fill), s); }
}
