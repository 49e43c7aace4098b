// The one seam between model code and kernels: every operation a GPT needs, at the level of layers.
// Size legend: B batch, T time, C channels, OC output channels, NH heads, hs = C/NH head size, V vocab, N element count.
// All tensors are row-major float spans. Backward methods ADD into gradient buffers (+=), as in llm.c, so that
// gradients of shared tensors (tied embeddings, residual streams) accumulate without extra copies; MatMulBackwardAssign
// writes its input gradient instead, for buffers that gradient starts.
namespace MLNetGpt.Tensors;

/// <summary>
/// Operations over flat float buffers that model code calls. A CPU implementation exists now
/// (<see cref="CpuBackend"/>, with <see cref="ReferenceBackend"/> as its plain, obviously-correct twin);
/// a GPU backend (MLNetGpt.Tensors.Cuda) implements the same interface, plus the device-memory members at the end.
/// </summary>
public interface IComputeBackend
{
    /// <summary>Short name for logs and benchmarks ("cpu", "reference").</summary>
    string Name { get; }

    /// <summary>Number of threads the backend uses.</summary>
    int ThreadCount { get; }

    /// <summary>out[BT,OC] = inp[BT,C] · weight[OC,C]^T + bias[OC]. An empty <paramref name="bias"/> means no bias.</summary>
    void MatMulForward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int bt, int c, int oc);

    /// <summary>
    /// packed = weight[OC,C] in the <see cref="PackedWeight"/> layout (at least <see cref="PackedWeight.Length"/>(c, oc)
    /// floats), for <see cref="MatMulForwardPacked"/>. Pack again after the weight changes.
    /// </summary>
    void PackMatMulWeight(Span<float> packed, ReadOnlySpan<float> weight, int c, int oc);

    /// <summary>
    /// <see cref="MatMulForward"/> with the weight already packed by <see cref="PackMatMulWeight"/>: the same result, bit for bit,
    /// without the per-call packing (for decoding, which multiplies one or a few rows by every weight at every token).
    /// </summary>
    void MatMulForwardPacked(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias, int bt, int c, int oc);

    /// <summary>
    /// Backward of <see cref="MatMulForward"/>: dinp[BT,C] += dout·W, dweight[OC,C] += dout^T·inp, dbias[OC] += Σ_rows dout.
    /// An empty <paramref name="dinput"/> skips the input gradient (first layer); an empty <paramref name="dbias"/> skips the bias.
    /// </summary>
    void MatMulBackward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput,
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int bt, int c, int oc);

    /// <summary>
    /// <see cref="MatMulBackward"/> with the input gradient assigned instead of added: dinp[BT,C] = (dout·W) ⊙ dinputScale
    /// (an empty <paramref name="dinputScale"/>: ⊙ 1); dweight and dbias are added into as there. A training step calls it
    /// where dinput would otherwise be cleared first, and with the activation derivative its forward kept (see
    /// <see cref="GeluForward(Span{float}, Span{float}, ReadOnlySpan{float}, int)"/>) to take the gradient through the
    /// activation in the same pass.
    /// </summary>
    void MatMulBackwardAssign(Span<float> dinput, ReadOnlySpan<float> dinputScale, Span<float> dweight, Span<float> dbias,
        ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int bt, int c, int oc);

    /// <summary>out[B,T,C] = wte[tokens[b,t],:] + wpe[t,:]. wte is [V,C], wpe is [maxT,C]; tokens must be in [0,V).</summary>
    void EncoderForward(Span<float> output, ReadOnlySpan<int> tokens, ReadOnlySpan<float> wte, ReadOnlySpan<float> wpe, int b, int t, int c);

    /// <summary>dwte[tokens[b,t],:] += dout[b,t,:]; dwpe[t,:] += dout[b,t,:].</summary>
    void EncoderBackward(Span<float> dwte, Span<float> dwpe, ReadOnlySpan<float> doutput, ReadOnlySpan<int> tokens, int b, int t, int c);

    /// <summary>
    /// out[N,C] = (inp - mean) * rstd * weight + bias per row; saves mean[N] and rstd[N] = 1/sqrt(var + 1e-5) for backward.
    /// An empty <paramref name="bias"/> means no bias.
    /// </summary>
    void LayerNormForward(Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int n, int c);

    /// <summary>Backward of <see cref="LayerNormForward"/>; adds into dinp, dweight and dbias (empty dbias: no bias).</summary>
    void LayerNormBackward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput,
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int n, int c);

    /// <summary>
    /// Causal multi-head self-attention. qkv[B,T,3C] holds Q, K, V side by side (as GPT-2's c_attn produces);
    /// out[B,T,C]; att[B,NH,T,T] receives the softmax probabilities (row t uses columns 0..t; the rest are zero),
    /// kept for backward. Scores are scaled by 1/sqrt(hs) and the softmax subtracts the row max.
    /// </summary>
    void AttentionForward(Span<float> output, Span<float> att, ReadOnlySpan<float> qkv, int b, int t, int c, int nh);

    /// <summary>Backward of <see cref="AttentionForward"/>: dqkv[B,T,3C] += ∂loss/∂qkv given dout[B,T,C] and the saved att.</summary>
    void AttentionBackward(Span<float> dqkv, ReadOnlySpan<float> doutput, ReadOnlySpan<float> qkv, ReadOnlySpan<float> att,
        int b, int t, int c, int nh);

    /// <summary>
    /// Attention for incremental decoding with a KV cache. For each row b, the <paramref name="tn"/> new queries
    /// q[B,Tn,C] sit at positions pos[b] .. pos[b]+Tn-1 and attend to the cached keys and values at positions
    /// 0 .. (own position), which the caller has already written. out[B,Tn,C]. No probabilities are kept.
    /// Keys are cached transposed per head, kCache[B,NH,hs,maxT] (key t of head h at [b,h,·,t]), so that scores are computed
    /// for 16 positions at once; values are cached as rows, vCache[B,maxT,C].
    /// </summary>
    void AttentionForwardCached(Span<float> output, ReadOnlySpan<float> q, ReadOnlySpan<float> kCache, ReadOnlySpan<float> vCache,
        ReadOnlySpan<int> pos, int b, int tn, int maxT, int c, int nh);

    /// <summary>
    /// Puts n new tokens into a KV cache (see <see cref="AttentionForwardCached"/> for its layout) and takes out their queries:
    /// token i is row i of qkv[N,3C] (Q, K, V side by side); q[i,:] = its Q; its K goes to cache row rows[i] at position
    /// positions[i] of kCache[R,C,maxT] (keys transposed: channel ch = h·hs + d of the row at [rows[i], ch, ·]); its V to
    /// vCache[rows[i], positions[i], :] of [R,maxT,C]. R, the cache's rows, is kCache.Length / (maxT·C). Host backends run
    /// this default; a device backend runs it where the cache lives, so decoding copies no cache between host and device.
    /// </summary>
    void StoreKeysValues(Span<float> q, Span<float> kCache, Span<float> vCache, ReadOnlySpan<float> qkv,
        ReadOnlySpan<int> rows, ReadOnlySpan<int> positions, int n, int maxT, int c)
    {
        KernelChecks.CheckStoreKeysValues(q.Length, kCache.Length, vCache.Length, qkv.Length, rows, positions, n, maxT, c);
        for (int i = 0; i < n; i++)
        {
            qkv.Slice(i * 3 * c, c).CopyTo(q.Slice(i * c, c));
            qkv.Slice(i * 3 * c + 2 * c, c).CopyTo(vCache.Slice((rows[i] * maxT + positions[i]) * c, c));
        }
        // keys channel by channel: a prefill's tokens (one row, consecutive positions) then write a contiguous run each time
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < n; i++)
                kCache[(rows[i] * c + ch) * maxT + positions[i]] = qkv[i * 3 * c + c + ch];
    }

    /// <summary>out[N] = GELU(inp) with the tanh approximation: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
    void GeluForward(Span<float> output, ReadOnlySpan<float> input, int n);

    /// <summary>dinp[N] += GELU'(inp) * dout.</summary>
    void GeluBackward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, int n);

    /// <summary>
    /// <see cref="GeluForward(Span{float}, ReadOnlySpan{float}, int)"/> that also keeps derivative[N] = GELU'(inp) for
    /// backward, which then multiplies by it (<see cref="MatMulBackwardAssign"/>'s dinputScale) instead of computing the exp
    /// and division again. <paramref name="derivative"/> may be the input buffer itself: training needs the pre-activation
    /// for nothing else.
    /// </summary>
    void GeluForward(Span<float> output, Span<float> derivative, ReadOnlySpan<float> input, int n);

    /// <summary>out[N] = max(inp, 0).</summary>
    void ReluForward(Span<float> output, ReadOnlySpan<float> input, int n);

    /// <summary>dinp[N] += (inp &gt; 0 ? dout : 0).</summary>
    void ReluBackward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, int n);

    /// <summary>out[N] = a + b.</summary>
    void ResidualForward(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int n);

    /// <summary>da[N] += dout; db[N] += dout.</summary>
    void ResidualBackward(Span<float> da, Span<float> db, ReadOnlySpan<float> doutput, int n);

    /// <summary>
    /// Inverted dropout: out[i] = keep(seed, i) ? inp[i] / (1 - p) : 0. The mask is a pure function of (seed, i)
    /// (see <see cref="Dropout.Keep"/>), so backward regenerates it instead of storing it, and it does not depend on threads.
    /// p = 0 copies.
    /// </summary>
    void DropoutForward(Span<float> output, ReadOnlySpan<float> input, float p, ulong seed, int n);

    /// <summary>dinp[i] += keep(seed, i) ? dout[i] / (1 - p) : 0.</summary>
    void DropoutBackward(Span<float> dinput, ReadOnlySpan<float> doutput, float p, ulong seed, int n);

    /// <summary>
    /// Fused softmax + cross-entropy. probs[BT,V] = softmax(logits) (probs may be the same buffer as logits);
    /// losses[BT] = -log probs[target]. A target of -1 means "ignore": loss 0 and, in backward, no gradient.
    /// Targets outside [-1,V) throw.
    /// </summary>
    void SoftmaxCrossEntropyForward(Span<float> losses, Span<float> probs, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int bt, int v);

    /// <summary>
    /// dlogits[BT,V] += (probs - onehot(target)) * dlosses[row]. When <paramref name="dlogits"/> and <paramref name="probs"/>
    /// are the same buffer (in-place, to save a BT×V buffer), the gradient is written (=) instead of added.
    /// </summary>
    void SoftmaxCrossEntropyBackward(Span<float> dlogits, ReadOnlySpan<float> dlosses, ReadOnlySpan<float> probs, ReadOnlySpan<int> targets, int bt, int v);

    /// <summary>
    /// One AdamW step over a slice (PyTorch semantics, decoupled weight decay):
    /// m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²; m̂ = m/(1-β1^step); v̂ = v/(1-β2^step);
    /// param -= lr (m̂ / (√v̂ + eps) + weightDecay·param). <paramref name="step"/> starts at 1.
    /// g is gradients[i]·<paramref name="gradientScale"/> (the gradient-norm clip's factor, applied here rather than in a
    /// pass of its own; the gradients are not changed).
    /// </summary>
    void AdamW(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v,
        float learningRate, float beta1, float beta2, float eps, float weightDecay, int step, float gradientScale = 1f);

    /// <summary>Σ x² in double precision (for the global gradient norm).</summary>
    double SumOfSquares(ReadOnlySpan<float> x);

    /// <summary>
    /// The global-norm clip's factor, written where <paramref name="scale"/> lives: scale[0] = maxNorm / (‖x‖ + 1e-6) when
    /// that is below 1, else 1 (PyTorch's clip_grad_norm_), ‖x‖² summed in double as <see cref="SumOfSquares"/>. With the
    /// <see cref="AdamW(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float, float, float, int, ReadOnlySpan{float})"/>
    /// overload that reads it, a device backend clips without bringing the norm to the host. Host backends run this default.
    /// </summary>
    void ClipScale(Span<float> scale, ReadOnlySpan<float> x, float maxNorm)
    {
        if (scale.IsEmpty) throw new ArgumentException("scale needs one element.", nameof(scale));
        double coef = maxNorm / (Math.Sqrt(SumOfSquares(x)) + 1e-6);
        scale[0] = coef < 1.0 ? (float)coef : 1f;
    }

    /// <summary>
    /// <see cref="AdamW(Span{float}, ReadOnlySpan{float}, Span{float}, Span{float}, float, float, float, float, float, int, float)"/>
    /// with the gradient scale read from gradientScale[0] where it lives (as <see cref="ClipScale"/> leaves it).
    /// </summary>
    void AdamW(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v,
        float learningRate, float beta1, float beta2, float eps, float weightDecay, int step, ReadOnlySpan<float> gradientScale)
    {
        if (gradientScale.IsEmpty) throw new ArgumentException("gradientScale needs one element.", nameof(gradientScale));
        AdamW(parameters, gradients, m, v, learningRate, beta1, beta2, eps, weightDecay, step, gradientScale[0]);
    }

    /// <summary>x *= scale.</summary>
    void Scale(Span<float> x, float scale);

    // ---- Device memory. Host backends (CpuBackend, ReferenceBackend) keep everything in the host arrays and inherit these
    // do-nothing defaults, so model code can call them unconditionally at no cost. A device backend (a GPU) keeps a device
    // copy of each attached array: between an Attach and a Detach that copy is the current one, kernels read and write it,
    // and the host array is only brought up to date by CopyToHost. Spans outside attached arrays are copied in and out on
    // every call (correct, but slow for large buffers), so an unattached buffer always behaves as on the host. ----

    /// <summary>
    /// Keeps a device copy of <paramref name="hostArray"/> (an arena's backing array) from now on, initialised from its
    /// current contents. Attaching an attached array does nothing. Host backends: no-op.
    /// </summary>
    void Attach(float[] hostArray) { }

    /// <summary>Frees the device copy of <paramref name="hostArray"/> (without copying it back). Host backends: no-op.</summary>
    void Detach(float[] hostArray) { }

    /// <summary>
    /// After the host wrote into <paramref name="hostRange"/> (part of an attached array): copies it to the device copy.
    /// Ranges outside attached arrays and host backends: no-op.
    /// </summary>
    void CopyToDevice(ReadOnlySpan<float> hostRange) { }

    /// <summary>
    /// Before the host reads <paramref name="hostRange"/> (part of an attached array): copies the device copy into it.
    /// Ranges outside attached arrays and host backends: no-op.
    /// </summary>
    void CopyToHost(Span<float> hostRange) { }

    /// <summary>
    /// destination = source, where the data lives (on the device for attached arrays); the lengths must match and the two
    /// must not overlap.
    /// </summary>
    void Copy(Span<float> destination, ReadOnlySpan<float> source)
    {
        KernelChecks.CheckCopy(destination.Length, source.Length);
        source.CopyTo(destination);
    }

    /// <summary>x[i] = value, where the data lives (on the device for attached arrays).</summary>
    void Fill(Span<float> x, float value)
    {
        if (value == 0f) x.Clear();
        else x.Fill(value);
    }
}
