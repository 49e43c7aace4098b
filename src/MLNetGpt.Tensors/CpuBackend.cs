// The fast CPU backend. PLACEHOLDER: forwards to ReferenceBackend until the SIMD, multi-threaded kernels land (issue 2).
namespace MLNetGpt.Tensors;

/// <summary>SIMD (Vector512/Vector256) multi-threaded kernels; results deterministic for a given thread count.</summary>
public sealed unsafe class CpuBackend : IComputeBackend
{
    private static readonly ReferenceBackend R = ReferenceBackend.Instance;
    private readonly WorkerPool _pool;
    private readonly Scratch _scratch;

    private CpuBackend(int threads)
    {
        ThreadCount = threads;
        _pool = WorkerPool.Shared(threads);
        _scratch = new Scratch(threads);
    }

    /// <summary>The worker pool the kernels run on (process-wide, shared by backends with the same thread count).</summary>
    public WorkerPool Pool => _pool;

    /// <summary>Creates a backend using <paramref name="threads"/> threads (0 = all cores).</summary>
    public static CpuBackend Create(int threads = 0)
    {
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Thread count must be 0 (all cores) or positive.");
        return new CpuBackend(threads == 0 ? Environment.ProcessorCount : threads);
    }

    public string Name => "cpu";
    public int ThreadCount { get; }
    public void MatMulForward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int bt, int c, int oc)
    {
        ReferenceBackend.CheckMatMulForward(output.Length, input.Length, weight.Length, bias.Length, bt, c, oc);
        fixed (float* o = output, x = input, w = weight, b = bias)
            CpuMatMul.Forward(_pool, _scratch, o, x, w, bias.Length == 0 ? null : b, bt, c, oc);
    }

    public void MatMulBackward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int bt, int c, int oc)
    {
        ReferenceBackend.CheckMatMulBackward(dinput.Length, dweight.Length, dbias.Length, doutput.Length, input.Length, weight.Length, bt, c, oc);
        fixed (float* di = dinput, dw = dweight, db = dbias, d = doutput, x = input, w = weight)
            CpuMatMul.Backward(_pool, _scratch, dinput.Length == 0 ? null : di, dw, dbias.Length == 0 ? null : db, d, x, w, bt, c, oc);
    }
    public void EncoderForward(Span<float> output, ReadOnlySpan<int> tokens, ReadOnlySpan<float> wte, ReadOnlySpan<float> wpe, int b, int t, int c) => R.EncoderForward(output, tokens, wte, wpe, b, t, c);
    public void EncoderBackward(Span<float> dwte, Span<float> dwpe, ReadOnlySpan<float> doutput, ReadOnlySpan<int> tokens, int b, int t, int c) => R.EncoderBackward(dwte, dwpe, doutput, tokens, b, t, c);
    public void LayerNormForward(Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int n, int c) => R.LayerNormForward(output, mean, rstd, input, weight, bias, n, c);
    public void LayerNormBackward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int n, int c) => R.LayerNormBackward(dinput, dweight, dbias, doutput, input, weight, mean, rstd, n, c);
    public void AttentionForward(Span<float> output, Span<float> att, ReadOnlySpan<float> qkv, int b, int t, int c, int nh) => R.AttentionForward(output, att, qkv, b, t, c, nh);
    public void AttentionBackward(Span<float> dqkv, ReadOnlySpan<float> doutput, ReadOnlySpan<float> qkv, ReadOnlySpan<float> att, int b, int t, int c, int nh) => R.AttentionBackward(dqkv, doutput, qkv, att, b, t, c, nh);
    public void AttentionForwardCached(Span<float> output, ReadOnlySpan<float> q, ReadOnlySpan<float> kCache, ReadOnlySpan<float> vCache, ReadOnlySpan<int> pos, int b, int tn, int maxT, int c, int nh) => R.AttentionForwardCached(output, q, kCache, vCache, pos, b, tn, maxT, c, nh);
    public void GeluForward(Span<float> output, ReadOnlySpan<float> input, int n) => R.GeluForward(output, input, n);
    public void GeluBackward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, int n) => R.GeluBackward(dinput, input, doutput, n);
    public void ReluForward(Span<float> output, ReadOnlySpan<float> input, int n) => R.ReluForward(output, input, n);
    public void ReluBackward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, int n) => R.ReluBackward(dinput, input, doutput, n);
    public void ResidualForward(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int n) => R.ResidualForward(output, a, b, n);
    public void ResidualBackward(Span<float> da, Span<float> db, ReadOnlySpan<float> doutput, int n) => R.ResidualBackward(da, db, doutput, n);
    public void DropoutForward(Span<float> output, ReadOnlySpan<float> input, float p, ulong seed, int n) => R.DropoutForward(output, input, p, seed, n);
    public void DropoutBackward(Span<float> dinput, ReadOnlySpan<float> doutput, float p, ulong seed, int n) => R.DropoutBackward(dinput, doutput, p, seed, n);
    public void SoftmaxCrossEntropyForward(Span<float> losses, Span<float> probs, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int bt, int v) => R.SoftmaxCrossEntropyForward(losses, probs, logits, targets, bt, v);
    public void SoftmaxCrossEntropyBackward(Span<float> dlogits, ReadOnlySpan<float> dlosses, ReadOnlySpan<float> probs, ReadOnlySpan<int> targets, int bt, int v) => R.SoftmaxCrossEntropyBackward(dlogits, dlosses, probs, targets, bt, v);
    public void AdamW(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v, float learningRate, float beta1, float beta2, float eps, float weightDecay, int step) => R.AdamW(parameters, gradients, m, v, learningRate, beta1, beta2, eps, weightDecay, step);
    public double SumOfSquares(ReadOnlySpan<float> x) => R.SumOfSquares(x);
    public void Scale(Span<float> x, float scale) => R.Scale(x, scale);
}
