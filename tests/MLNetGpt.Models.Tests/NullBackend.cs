// A backend whose kernels do nothing: it isolates the model's own allocations from the kernels' (shape-check messages, scratch).
using MLNetGpt.Tensors;

namespace MLNetGpt.Models.Tests;

internal sealed class NullBackend : IComputeBackend
{
    public string Name => "null";
    public int ThreadCount => 1;
    public void MatMulForward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int bt, int c, int oc) { }
    public void PackMatMulWeight(Span<float> packed, ReadOnlySpan<float> weight, int c, int oc) { }
    public void MatMulForwardPacked(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias, int bt, int c, int oc) { }
    public void MatMulBackward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int bt, int c, int oc) { }
    public void MatMulBackwardAssign(Span<float> dinput, ReadOnlySpan<float> dinputScale, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int bt, int c, int oc) { }
    public void EncoderForward(Span<float> output, ReadOnlySpan<int> tokens, ReadOnlySpan<float> wte, ReadOnlySpan<float> wpe, int b, int t, int c) { }
    public void EncoderBackward(Span<float> dwte, Span<float> dwpe, ReadOnlySpan<float> doutput, ReadOnlySpan<int> tokens, int b, int t, int c) { }
    public void LayerNormForward(Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int n, int c) { }
    public void LayerNormBackward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int n, int c) { }
    public void AttentionForward(Span<float> output, Span<float> att, ReadOnlySpan<float> qkv, int b, int t, int c, int nh) { }
    public void AttentionBackward(Span<float> dqkv, ReadOnlySpan<float> doutput, ReadOnlySpan<float> qkv, ReadOnlySpan<float> att, int b, int t, int c, int nh) { }
    public void AttentionForwardCached(Span<float> output, ReadOnlySpan<float> q, ReadOnlySpan<float> kCache, ReadOnlySpan<float> vCache, ReadOnlySpan<int> pos, int b, int tn, int maxT, int c, int nh) { }
    public void GeluForward(Span<float> output, ReadOnlySpan<float> input, int n) { }
    public void GeluForward(Span<float> output, Span<float> derivative, ReadOnlySpan<float> input, int n) { }
    public void GeluBackward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, int n) { }
    public void ReluForward(Span<float> output, ReadOnlySpan<float> input, int n) { }
    public void ReluBackward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, int n) { }
    public void ResidualForward(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int n) { }
    public void ResidualBackward(Span<float> da, Span<float> db, ReadOnlySpan<float> doutput, int n) { }
    public void DropoutForward(Span<float> output, ReadOnlySpan<float> input, float p, ulong seed, int n) { }
    public void DropoutBackward(Span<float> dinput, ReadOnlySpan<float> doutput, float p, ulong seed, int n) { }
    public void SoftmaxCrossEntropyForward(Span<float> losses, Span<float> probs, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int bt, int v) { }
    public void SoftmaxCrossEntropyBackward(Span<float> dlogits, ReadOnlySpan<float> dlosses, ReadOnlySpan<float> probs, ReadOnlySpan<int> targets, int bt, int v) { }
    public void AdamW(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v, float learningRate, float beta1, float beta2, float eps, float weightDecay, int step, float gradientScale = 1f) { }
    public double SumOfSquares(ReadOnlySpan<float> x) => 0;
    public void Scale(Span<float> x, float scale) { }
}
