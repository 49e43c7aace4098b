// Plain, single-threaded, obviously-correct kernels (llm.c's train_gpt2.c in C#). Finite differences test these;
// these test the fast kernels in CpuBackend. Speed is not a goal here, clarity is.
// Size legend: B batch, T time, C channels, OC output channels, NH heads, hs head size, V vocab, N element count.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MLNetGpt.Tensors;

/// <summary>The reference implementation of <see cref="IComputeBackend"/>: scalar loops, double accumulators where it matters.</summary>
public sealed class ReferenceBackend : IComputeBackend
{
    /// <summary>The single instance (the backend has no state).</summary>
    public static ReferenceBackend Instance { get; } = new();

    private ReferenceBackend() { }

    /// <inheritdoc/>
    public string Name => "reference";

    /// <inheritdoc/>
    public int ThreadCount => 1;

    /// <inheritdoc/>
    public void MatMulForward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int bt, int c, int oc)
    {
        KernelChecks.CheckMatMulForward(output.Length, input.Length, weight.Length, bias.Length, bt, c, oc);
        for (int i = 0; i < bt; i++)
        {
            var x = input.Slice(i * c, c);
            for (int o = 0; o < oc; o++)
            {
                var w = weight.Slice(o * c, c);
                float sum = bias.Length == 0 ? 0f : bias[o];
                for (int k = 0; k < c; k++) sum += x[k] * w[k];
                output[i * oc + o] = sum;
            }
        }
    }

    /// <inheritdoc/>
    public void PackMatMulWeight(Span<float> packed, ReadOnlySpan<float> weight, int c, int oc)
    {
        KernelChecks.CheckPackMatMulWeight(packed.Length, weight.Length, c, oc);
        const int pw = PackedWeight.PanelWidth;
        int panels = (oc + pw - 1) / pw;
        for (int p = 0; p < panels; p++)
            for (int k = 0; k < c; k++)
                for (int j = 0; j < pw; j++)
                {
                    int o = p * pw + j;
                    packed[(p * c + k) * pw + j] = o < oc ? weight[o * c + k] : 0f;
                }
    }

    /// <inheritdoc/>
    public void MatMulForwardPacked(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias, int bt, int c, int oc)
    {
        KernelChecks.CheckMatMulForwardPacked(output.Length, input.Length, packedWeight.Length, bias.Length, bt, c, oc);
        const int pw = PackedWeight.PanelWidth;
        for (int i = 0; i < bt; i++)
        {
            var x = input.Slice(i * c, c);
            for (int o = 0; o < oc; o++)
            {
                var w = packedWeight[((o / pw) * c * pw + o % pw)..];
                float sum = bias.Length == 0 ? 0f : bias[o];
                for (int k = 0; k < c; k++) sum += x[k] * w[k * pw];
                output[i * oc + o] = sum;
            }
        }
    }

    /// <inheritdoc/>
    public void MatMulBackward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput,
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int bt, int c, int oc)
    {
        KernelChecks.CheckMatMulBackward(dinput.Length, dweight.Length, dbias.Length, doutput.Length, input.Length, weight.Length, bt, c, oc);
        if (dinput.Length != 0)
        {
            for (int i = 0; i < bt; i++)
                for (int o = 0; o < oc; o++)
                {
                    float d = doutput[i * oc + o];
                    for (int k = 0; k < c; k++) dinput[i * c + k] += d * weight[o * c + k];
                }
        }
        for (int o = 0; o < oc; o++)
        {
            for (int i = 0; i < bt; i++)
            {
                float d = doutput[i * oc + o];
                if (dbias.Length != 0) dbias[o] += d;
                for (int k = 0; k < c; k++) dweight[o * c + k] += d * input[i * c + k];
            }
        }
    }

    /// <inheritdoc/>
    public void MatMulBackwardAssign(Span<float> dinput, ReadOnlySpan<float> dinputScale, Span<float> dweight, Span<float> dbias,
        ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int bt, int c, int oc)
    {
        KernelChecks.CheckMatMulBackward(dinput.Length, dweight.Length, dbias.Length, doutput.Length, input.Length, weight.Length, bt, c, oc);
        KernelChecks.CheckMatMulBackwardAssign(dinput.Length, dinputScale.Length, bt, c);
        if (dinput.Length != 0) dinput[..(bt * c)].Clear();
        MatMulBackward(dinput, dweight, dbias, doutput, input, weight, bt, c, oc);
        if (dinputScale.Length != 0)
            for (int i = 0; i < bt * c; i++) dinput[i] *= dinputScale[i];
    }

    /// <inheritdoc/>
    public void EncoderForward(Span<float> output, ReadOnlySpan<int> tokens, ReadOnlySpan<float> wte, ReadOnlySpan<float> wpe, int b, int t, int c)
    {
        KernelChecks.CheckEncoder(output.Length, tokens, wte.Length, wpe.Length, b, t, c);
        for (int bi = 0; bi < b; bi++)
            for (int ti = 0; ti < t; ti++)
            {
                int ix = tokens[bi * t + ti];
                var o = output.Slice((bi * t + ti) * c, c);
                for (int k = 0; k < c; k++) o[k] = wte[ix * c + k] + wpe[ti * c + k];
            }
    }

    /// <inheritdoc/>
    public void EncoderBackward(Span<float> dwte, Span<float> dwpe, ReadOnlySpan<float> doutput, ReadOnlySpan<int> tokens, int b, int t, int c)
    {
        KernelChecks.CheckEncoder(doutput.Length, tokens, dwte.Length, dwpe.Length, b, t, c, "doutput", "dwte", "dwpe");
        for (int bi = 0; bi < b; bi++)
            for (int ti = 0; ti < t; ti++)
            {
                int ix = tokens[bi * t + ti];
                var d = doutput.Slice((bi * t + ti) * c, c);
                for (int k = 0; k < c; k++)
                {
                    dwte[ix * c + k] += d[k];
                    dwpe[ti * c + k] += d[k];
                }
            }
    }

    /// <inheritdoc/>
    public void LayerNormForward(Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int n, int c)
    {
        KernelChecks.CheckLayerNorm(output.Length, mean.Length, rstd.Length, input.Length, weight.Length, bias.Length, n, c);
        for (int i = 0; i < n; i++)
        {
            var x = input.Slice(i * c, c);
            double m = 0;
            for (int k = 0; k < c; k++) m += x[k];
            m /= c;
            double var = 0;
            for (int k = 0; k < c; k++) { double d = x[k] - m; var += d * d; }
            var /= c;
            float s = (float)(1.0 / Math.Sqrt(var + KernelConstants.LayerNormEpsilon));
            for (int k = 0; k < c; k++)
            {
                float norm = (float)(x[k] - m) * s;
                output[i * c + k] = norm * weight[k] + (bias.Length == 0 ? 0f : bias[k]);
            }
            mean[i] = (float)m;
            rstd[i] = s;
        }
    }

    /// <inheritdoc/>
    public void LayerNormBackward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput,
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int n, int c)
    {
        KernelChecks.CheckLayerNormBackward(dinput.Length, dweight.Length, dbias.Length, doutput.Length, input.Length, weight.Length, mean.Length, rstd.Length, n, c);
        for (int i = 0; i < n; i++)
        {
            var x = input.Slice(i * c, c);
            var dout = doutput.Slice(i * c, c);
            float m = mean[i], s = rstd[i];
            // dnorm = dout * w; dx = s * (dnorm - mean(dnorm) - norm * mean(dnorm * norm))
            double dnormMean = 0, dnormNormMean = 0;
            for (int k = 0; k < c; k++)
            {
                float norm = (x[k] - m) * s;
                float dnorm = weight[k] * dout[k];
                dnormMean += dnorm;
                dnormNormMean += dnorm * norm;
            }
            dnormMean /= c;
            dnormNormMean /= c;
            for (int k = 0; k < c; k++)
            {
                float norm = (x[k] - m) * s;
                float dnorm = weight[k] * dout[k];
                if (dbias.Length != 0) dbias[k] += dout[k];
                dweight[k] += norm * dout[k];
                dinput[i * c + k] += (float)((dnorm - dnormMean - norm * dnormNormMean) * s);
            }
        }
    }

    /// <inheritdoc/>
    public void AttentionForward(Span<float> output, Span<float> att, ReadOnlySpan<float> qkv, int b, int t, int c, int nh)
    {
        int hs = KernelChecks.CheckAttention(output.Length, att.Length, qkv.Length, b, t, c, nh);
        float scale = 1f / MathF.Sqrt(hs);
        int c3 = 3 * c;
        for (int bi = 0; bi < b; bi++)
            for (int h = 0; h < nh; h++)
                for (int ti = 0; ti < t; ti++)
                {
                    var q = qkv.Slice(bi * t * c3 + ti * c3 + h * hs, hs);
                    var row = att.Slice(((bi * nh + h) * t + ti) * t, t);
                    float max = float.NegativeInfinity;
                    for (int t2 = 0; t2 <= ti; t2++)
                    {
                        var k = qkv.Slice(bi * t * c3 + t2 * c3 + c + h * hs, hs);
                        float dot = 0;
                        for (int i = 0; i < hs; i++) dot += q[i] * k[i];
                        dot *= scale;
                        row[t2] = dot;
                        if (dot > max) max = dot;
                    }
                    float sum = 0;
                    for (int t2 = 0; t2 <= ti; t2++) { float e = MathF.Exp(row[t2] - max); row[t2] = e; sum += e; }
                    float inv = sum == 0 ? 0 : 1f / sum;
                    for (int t2 = 0; t2 < t; t2++) row[t2] = t2 <= ti ? row[t2] * inv : 0f;
                    var o = output.Slice((bi * t + ti) * c + h * hs, hs);
                    o.Clear();
                    for (int t2 = 0; t2 <= ti; t2++)
                    {
                        var v = qkv.Slice(bi * t * c3 + t2 * c3 + 2 * c + h * hs, hs);
                        float a = row[t2];
                        for (int i = 0; i < hs; i++) o[i] += a * v[i];
                    }
                }
    }

    /// <inheritdoc/>
    public void AttentionBackward(Span<float> dqkv, ReadOnlySpan<float> doutput, ReadOnlySpan<float> qkv, ReadOnlySpan<float> att,
        int b, int t, int c, int nh)
    {
        int hs = KernelChecks.CheckAttention(doutput.Length, att.Length, qkv.Length, b, t, c, nh, "doutput");
        Shapes.Require(dqkv.Length, (long)b * t * 3 * c, $"[{b},{t},{3 * c}]");
        float scale = 1f / MathF.Sqrt(hs);
        int c3 = 3 * c;
        var datt = new float[t];
        var dpre = new float[t];
        for (int bi = 0; bi < b; bi++)
            for (int h = 0; h < nh; h++)
                for (int ti = 0; ti < t; ti++)
                {
                    var row = att.Slice(((bi * nh + h) * t + ti) * t, t);
                    var dout = doutput.Slice((bi * t + ti) * c + h * hs, hs);
                    // out = Σ att[t2] v[t2]  →  datt[t2] = dout·v[t2], dv[t2] += att[t2] dout
                    for (int t2 = 0; t2 <= ti; t2++)
                    {
                        int vOff = bi * t * c3 + t2 * c3 + 2 * c + h * hs;
                        float d = 0;
                        for (int i = 0; i < hs; i++)
                        {
                            d += dout[i] * qkv[vOff + i];
                            dqkv[vOff + i] += row[t2] * dout[i];
                        }
                        datt[t2] = d;
                    }
                    // softmax backward: dpre = att * (datt - Σ att·datt)
                    float dot = 0;
                    for (int t2 = 0; t2 <= ti; t2++) dot += row[t2] * datt[t2];
                    for (int t2 = 0; t2 <= ti; t2++) dpre[t2] = row[t2] * (datt[t2] - dot);
                    // pre = scale q·k  →  dq += scale Σ dpre k, dk += scale dpre q
                    int qOff = bi * t * c3 + ti * c3 + h * hs;
                    for (int t2 = 0; t2 <= ti; t2++)
                    {
                        int kOff = bi * t * c3 + t2 * c3 + c + h * hs;
                        float g = dpre[t2] * scale;
                        for (int i = 0; i < hs; i++)
                        {
                            dqkv[qOff + i] += g * qkv[kOff + i];
                            dqkv[kOff + i] += g * qkv[qOff + i];
                        }
                    }
                }
    }

    /// <inheritdoc/>
    public void AttentionForwardCached(Span<float> output, ReadOnlySpan<float> q, ReadOnlySpan<float> kCache, ReadOnlySpan<float> vCache,
        ReadOnlySpan<int> pos, int b, int tn, int maxT, int c, int nh)
    {
        int hs = KernelChecks.CheckCached(output.Length, q.Length, kCache.Length, vCache.Length, pos, b, tn, maxT, c, nh);
        float scale = 1f / MathF.Sqrt(hs);
        var scores = new float[maxT];
        for (int bi = 0; bi < b; bi++)
            for (int ti = 0; ti < tn; ti++)
            {
                int p = pos[bi] + ti; // keys 0..p are visible
                for (int h = 0; h < nh; h++)
                {
                    var qh = q.Slice((bi * tn + ti) * c + h * hs, hs);
                    float max = float.NegativeInfinity;
                    for (int t2 = 0; t2 <= p; t2++)
                    {
                        var k = kCache.Slice((bi * nh + h) * hs * maxT + t2); // [hs] with stride maxT
                        float dot = 0;
                        for (int i = 0; i < hs; i++) dot += qh[i] * k[i * maxT];
                        scores[t2] = dot * scale;
                        if (scores[t2] > max) max = scores[t2];
                    }
                    float sum = 0;
                    for (int t2 = 0; t2 <= p; t2++) { scores[t2] = MathF.Exp(scores[t2] - max); sum += scores[t2]; }
                    var o = output.Slice((bi * tn + ti) * c + h * hs, hs);
                    o.Clear();
                    for (int t2 = 0; t2 <= p; t2++)
                    {
                        var v = vCache.Slice((bi * maxT + t2) * c + h * hs, hs);
                        float a = scores[t2] / sum;
                        for (int i = 0; i < hs; i++) o[i] += a * v[i];
                    }
                }
            }
    }


    /// <inheritdoc/>
    public void GeluForward(Span<float> output, ReadOnlySpan<float> input, int n)
    {
        KernelChecks.CheckElementwise(n, output.Length, input.Length);
        for (int i = 0; i < n; i++)
        {
            float x = input[i];
            output[i] = 0.5f * x * (1f + MathF.Tanh(KernelConstants.GeluScale * (x + 0.044715f * x * x * x)));
        }
    }

    /// <inheritdoc/>
    public void GeluBackward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, int n)
    {
        KernelChecks.CheckElementwise(n, dinput.Length, input.Length, doutput.Length);
        for (int i = 0; i < n; i++)
        {
            float x = input[i];
            float u = KernelConstants.GeluScale * (x + 0.044715f * x * x * x);
            float th = MathF.Tanh(u);
            float sech2 = 1f - th * th;
            float grad = 0.5f * (1f + th) + 0.5f * x * sech2 * KernelConstants.GeluScale * (1f + 3f * 0.044715f * x * x);
            dinput[i] += grad * doutput[i];
        }
    }

    /// <inheritdoc/>
    public void GeluForward(Span<float> output, Span<float> derivative, ReadOnlySpan<float> input, int n)
    {
        KernelChecks.CheckElementwise(n, output.Length, derivative.Length, input.Length);
        for (int i = 0; i < n; i++)
        {
            float x = input[i]; // read before derivative[i] is written: the two may be one buffer
            float th = MathF.Tanh(KernelConstants.GeluScale * (x + 0.044715f * x * x * x));
            output[i] = 0.5f * x * (1f + th);
            derivative[i] = 0.5f * (1f + th) + 0.5f * x * (1f - th * th) * KernelConstants.GeluScale * (1f + 3f * 0.044715f * x * x);
        }
    }

    /// <inheritdoc/>
    public void ReluForward(Span<float> output, ReadOnlySpan<float> input, int n)
    {
        KernelChecks.CheckElementwise(n, output.Length, input.Length);
        for (int i = 0; i < n; i++) output[i] = input[i] > 0 ? input[i] : 0f;
    }

    /// <inheritdoc/>
    public void ReluBackward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, int n)
    {
        KernelChecks.CheckElementwise(n, dinput.Length, input.Length, doutput.Length);
        for (int i = 0; i < n; i++) if (input[i] > 0) dinput[i] += doutput[i];
    }

    /// <inheritdoc/>
    public void ResidualForward(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int n)
    {
        KernelChecks.CheckElementwise(n, output.Length, a.Length, b.Length);
        for (int i = 0; i < n; i++) output[i] = a[i] + b[i];
    }

    /// <inheritdoc/>
    public void ResidualBackward(Span<float> da, Span<float> db, ReadOnlySpan<float> doutput, int n)
    {
        KernelChecks.CheckElementwise(n, da.Length, db.Length, doutput.Length);
        for (int i = 0; i < n; i++) { da[i] += doutput[i]; db[i] += doutput[i]; }
    }

    /// <inheritdoc/>
    public void DropoutForward(Span<float> output, ReadOnlySpan<float> input, float p, ulong seed, int n)
    {
        KernelChecks.CheckElementwise(n, output.Length, input.Length);
        KernelChecks.CheckDropout(p);
        float keepScale = 1f / (1f - p);
        for (int i = 0; i < n; i++) output[i] = p == 0f ? input[i] : Dropout.Keep(seed, i, p) ? input[i] * keepScale : 0f;
    }

    /// <inheritdoc/>
    public void DropoutBackward(Span<float> dinput, ReadOnlySpan<float> doutput, float p, ulong seed, int n)
    {
        KernelChecks.CheckElementwise(n, dinput.Length, doutput.Length);
        KernelChecks.CheckDropout(p);
        float keepScale = 1f / (1f - p);
        for (int i = 0; i < n; i++) if (p == 0f || Dropout.Keep(seed, i, p)) dinput[i] += doutput[i] * (p == 0f ? 1f : keepScale);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyForward(Span<float> losses, Span<float> probs, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int bt, int v)
    {
        KernelChecks.CheckSoftmax(losses.Length, probs.Length, logits.Length, targets, bt, v);
        for (int i = 0; i < bt; i++)
        {
            var row = logits.Slice(i * v, v);
            var p = probs.Slice(i * v, v);
            float max = float.NegativeInfinity;
            for (int j = 0; j < v; j++) if (row[j] > max) max = row[j];
            double sum = 0;
            for (int j = 0; j < v; j++) { float e = MathF.Exp(row[j] - max); p[j] = e; sum += e; }
            float inv = (float)(1.0 / sum);
            for (int j = 0; j < v; j++) p[j] *= inv;
            int target = targets[i];
            losses[i] = target < 0 ? 0f : -MathF.Log(MathF.Max(p[target], float.Epsilon));
        }
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(Span<float> dlogits, ReadOnlySpan<float> dlosses, ReadOnlySpan<float> probs, ReadOnlySpan<int> targets, int bt, int v)
    {
        KernelChecks.CheckSoftmax(dlosses.Length, dlogits.Length, probs.Length, targets, bt, v, "dlosses", "dlogits", "probs");
        bool inPlace = Unsafe.AreSame(ref MemoryMarshal.GetReference(dlogits), ref MemoryMarshal.GetReference(probs));
        for (int i = 0; i < bt; i++)
        {
            int target = targets[i];
            float dl = target < 0 ? 0f : dlosses[i];
            for (int j = 0; j < v; j++)
            {
                int idx = i * v + j;
                float g = (probs[idx] - (j == target ? 1f : 0f)) * dl;
                if (inPlace) dlogits[idx] = g; else dlogits[idx] += g;
            }
        }
    }

    /// <inheritdoc/>
    public void AdamW(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v,
        float learningRate, float beta1, float beta2, float eps, float weightDecay, int step, float gradientScale = 1f)
    {
        int n = parameters.Length;
        KernelChecks.CheckElementwise(n, gradients.Length, m.Length, v.Length);
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, "AdamW step counts from 1.");
        float c1 = 1f - MathF.Pow(beta1, step), c2 = 1f - MathF.Pow(beta2, step);
        for (int i = 0; i < n; i++)
        {
            float g = gradients[i] * gradientScale;
            m[i] = beta1 * m[i] + (1f - beta1) * g;
            v[i] = beta2 * v[i] + (1f - beta2) * g * g;
            float mh = m[i] / c1, vh = v[i] / c2;
            parameters[i] -= learningRate * (mh / (MathF.Sqrt(vh) + eps) + weightDecay * parameters[i]);
        }
    }

    /// <inheritdoc/>
    public double SumOfSquares(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (float f in x) s += (double)f * f;
        return s;
    }

    /// <inheritdoc/>
    public void Scale(Span<float> x, float scale)
    {
        for (int i = 0; i < x.Length; i++) x[i] *= scale;
    }
}
