// The GPU kernels, written in C# and compiled by ILGPU (to PTX on a CUDA device, run as .NET code on ILGPU's CPU accelerator).
// One static method per operation; CudaBackend loads each once. Elementwise kernels take one index per element; row kernels
// (LayerNorm, softmaxes) run one group of threads per row and reduce through shared memory in a fixed order, so results
// are deterministic. Column sums (parameter gradients) go through fixed row chunks, never atomics, for the same reason.
// Size legend: B batch, T time, C channels, NH heads, hs head size, V vocab, N element count, G threads per group.
using ILGPU;
using ILGPU.Algorithms;

namespace MLNetGpt.Tensors.Cuda;

/// <summary>Scalars of <see cref="Kernels.AdamW"/>: the bias corrections c1 = 1-β1^step and c2 = 1-β2^step come from the host.</summary>
internal struct AdamWArgs
{
    public float LearningRate, Beta1, Beta2, Eps, WeightDecay, C1, C2, GradientScale;
}

/// <summary>Scalars of the dropout kernels.</summary>
internal struct DropoutArgs
{
    public float P, KeepScale;
    public ulong Seed;
}

/// <summary>
/// C[m,n] = alpha·op(A)[m,k]·op(B)[k,n] + beta·C, row-major, for <see cref="Kernels.Gemm"/>: lda/ldb/ldc are row strides of the
/// stored matrices, and batch i adds i·stride to each. transA: A is stored [k,m]; transB: B is stored [n,k].
/// </summary>
internal struct GemmArgs
{
    public int M, N, K, Lda, Ldb, Ldc, TransA, TransB;
    public long StrideA, StrideB, StrideC;
    public float Alpha, Beta;
}

internal static class Kernels
{
    /// <summary>Shared-memory size of a group reduction: the largest group the backend launches.</summary>
    public const int MaxGroup = 256;

    // ---- elementwise ----

    public static void Fill(Index1D i, ArrayView<float> x, float value) => x[i] = value;

    public static void Scale(Index1D i, ArrayView<float> x, float scale) => x[i] *= scale;

    public static void Copy(Index1D i, ArrayView<float> destination, ArrayView<float> source) => destination[i] = source[i];

    public static void Residual(Index1D i, ArrayView<float> output, ArrayView<float> a, ArrayView<float> b) => output[i] = a[i] + b[i];

    public static void ResidualBackward(Index1D i, ArrayView<float> da, ArrayView<float> db, ArrayView<float> doutput)
    {
        float d = doutput[i];
        da[i] += d;
        db[i] += d;
    }

    // GELU, tanh approximation; same formulas as ReferenceBackend (the constant √(2/π), KernelConstants.GeluScale, is passed in).
    public static void Gelu(Index1D i, ArrayView<float> output, ArrayView<float> input, float geluScale)
    {
        float x = input[i];
        output[i] = 0.5f * x * (1f + XMath.Tanh(geluScale * (x + 0.044715f * x * x * x)));
    }

    // GELU and its derivative, kept for backward; derivative may be input's own memory (x is read first).
    public static void GeluWithDerivative(Index1D i, ArrayView<float> output, ArrayView<float> derivative, ArrayView<float> input, float geluScale)
    {
        float x = input[i];
        float th = XMath.Tanh(geluScale * (x + 0.044715f * x * x * x));
        output[i] = 0.5f * x * (1f + th);
        derivative[i] = 0.5f * (1f + th) + 0.5f * x * (1f - th * th) * geluScale * (1f + 3f * 0.044715f * x * x);
    }

    public static void Multiply(Index1D i, ArrayView<float> x, ArrayView<float> y) => x[i] *= y[i];

    public static void GeluBackward(Index1D i, ArrayView<float> dinput, ArrayView<float> input, ArrayView<float> doutput, float geluScale)
    {
        float x = input[i];
        float th = XMath.Tanh(geluScale * (x + 0.044715f * x * x * x));
        float sech2 = 1f - th * th;
        float grad = 0.5f * (1f + th) + 0.5f * x * sech2 * geluScale * (1f + 3f * 0.044715f * x * x);
        dinput[i] += grad * doutput[i];
    }

    public static void Relu(Index1D i, ArrayView<float> output, ArrayView<float> input)
    {
        float x = input[i];
        output[i] = x > 0f ? x : 0f;
    }

    public static void ReluBackward(Index1D i, ArrayView<float> dinput, ArrayView<float> input, ArrayView<float> doutput)
    {
        if (input[i] > 0f) dinput[i] += doutput[i];
    }

    // The mask is Dropout.Keep itself (a pure hash of seed and index), so it equals the CPU backends' mask bit for bit.
    public static void DropoutForward(Index1D i, ArrayView<float> output, ArrayView<float> input, DropoutArgs a) =>
        output[i] = Dropout.Keep(a.Seed, i.X, a.P) ? input[i] * a.KeepScale : 0f;

    public static void DropoutBackward(Index1D i, ArrayView<float> dinput, ArrayView<float> doutput, DropoutArgs a)
    {
        if (Dropout.Keep(a.Seed, i.X, a.P)) dinput[i] += doutput[i] * a.KeepScale;
    }

    /// <summary>ReferenceBackend.AdamW, one element per thread, the same operations in the same order.</summary>
    public static void AdamW(Index1D i, ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m, ArrayView<float> v, AdamWArgs a)
    {
        float g = gradients[i] * a.GradientScale;
        float mi = a.Beta1 * m[i] + (1f - a.Beta1) * g;
        float vi = a.Beta2 * v[i] + (1f - a.Beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float mh = mi / a.C1, vh = vi / a.C2;
        float p = parameters[i];
        parameters[i] = p - a.LearningRate * (mh / (XMath.Sqrt(vh) + a.Eps) + a.WeightDecay * p);
    }

    /// <summary><see cref="AdamW"/> with the gradient scale read from scale[0] on the device (see <see cref="ClipScale"/>).</summary>
    public static void AdamWScaled(Index1D i, ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m, ArrayView<float> v,
        ArrayView<float> scale, AdamWArgs a)
    {
        a.GradientScale = scale[0];
        AdamW(i, parameters, gradients, m, v, a);
    }

    // ---- embeddings ----

    /// <summary>out[B,T,C] = wte[tokens[b,t],:] + wpe[t,:]; one thread per output element.</summary>
    public static void EncoderForward(Index1D i, ArrayView<float> output, ArrayView<int> tokens, ArrayView<float> wte, ArrayView<float> wpe, int t, int c)
    {
        int row = i / c, ch = i - row * c;
        int pos = row % t;
        output[i] = wte[tokens[row] * c + ch] + wpe[pos * c + ch];
    }

    /// <summary>dwpe[t,c] += Σ_b dout[b,t,c], one thread per (t,c), b in order (ReferenceBackend's order).</summary>
    public static void EncoderBackwardWpe(Index1D i, ArrayView<float> dwpe, ArrayView<float> doutput, int b, int t, int c)
    {
        float sum = dwpe[i];
        for (int bi = 0; bi < b; bi++) sum += doutput[bi * t * c + i];
        dwpe[i] = sum;
    }

    /// <summary>
    /// dwte[token,c] += Σ dout[row,c] over the rows holding that token. The host sorts the rows by token (stable: rows in
    /// order within a bucket); thread (u, c) adds bucket u in that order, so no two threads write one element and no
    /// atomics are needed.
    /// </summary>
    public static void EncoderBackwardWte(Index1D i, ArrayView<float> dwte, ArrayView<float> doutput, ArrayView<int> uniqueTokens,
        ArrayView<int> bucketStarts, ArrayView<int> rows, int c)
    {
        int u = i / c, ch = i - u * c;
        int index = uniqueTokens[u] * c + ch;
        float sum = dwte[index];
        int end = bucketStarts[u + 1];
        for (int j = bucketStarts[u]; j < end; j++) sum += doutput[rows[j] * c + ch];
        dwte[index] = sum;
    }

    // ---- matmul helpers ----

    /// <summary>out[rows,OC] += bias[OC].</summary>
    public static void AddBias(Index1D i, ArrayView<float> output, ArrayView<float> bias, int oc) => output[i] += bias[i % oc];

    /// <summary>partial[chunk, col] = Σ x[row, col] over the rows of chunk (rowsPerChunk rows each, the last may be short).</summary>
    public static void ColumnSumPartial(Index1D i, ArrayView<float> partial, ArrayView<float> x, int rows, int cols, int rowsPerChunk)
    {
        int chunk = i / cols, col = i - chunk * cols;
        int start = chunk * rowsPerChunk, end = start + rowsPerChunk < rows ? start + rowsPerChunk : rows;
        float sum = 0f;
        for (int r = start; r < end; r++) sum += x[r * cols + col];
        partial[i] = sum;
    }

    /// <summary>dst[col] += Σ_chunk partial[chunk, col], chunks in order.</summary>
    public static void ColumnSumFinal(Index1D col, ArrayView<float> dst, ArrayView<float> partial, int chunks, int cols)
    {
        float sum = 0f;
        for (int k = 0; k < chunks; k++) sum += partial[k * cols + col];
        dst[col] += sum;
    }

    /// <summary>The plain GEMM of <see cref="GemmArgs"/>: one thread per element of C. The CPU accelerator's stand-in for cuBLAS.</summary>
    public static void Gemm(Index1D idx, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmArgs g)
    {
        int mn = g.M * g.N;
        int batch = idx / mn, rem = idx - batch * mn;
        int i = rem / g.N, j = rem - i * g.N;
        long aBase = batch * g.StrideA, bBase = batch * g.StrideB;
        float sum = 0f;
        for (int p = 0; p < g.K; p++)
        {
            float av = g.TransA != 0 ? a[aBase + (long)p * g.Lda + i] : a[aBase + (long)i * g.Lda + p];
            float bv = g.TransB != 0 ? b[bBase + (long)j * g.Ldb + p] : b[bBase + (long)p * g.Ldb + j];
            sum += av * bv;
        }
        long ci = batch * g.StrideC + (long)i * g.Ldc + j;
        c[ci] = g.Beta == 0f ? g.Alpha * sum : g.Alpha * sum + g.Beta * c[ci];
    }

    // ---- group reductions (G a power of two, at most MaxGroup) ----

    private static float GroupSum(ArrayView<float> shared, float value)
    {
        int tid = Group.IdxX;
        shared[tid] = value;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (tid < s) shared[tid] += shared[tid + s];
            Group.Barrier();
        }
        float result = shared[0];
        Group.Barrier();
        return result;
    }

    private static float GroupMax(ArrayView<float> shared, float value)
    {
        int tid = Group.IdxX;
        shared[tid] = value;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (tid < s) shared[tid] = XMath.Max(shared[tid], shared[tid + s]);
            Group.Barrier();
        }
        float result = shared[0];
        Group.Barrier();
        return result;
    }

    // ---- LayerNorm ----

    /// <summary>One group per row: mean, variance (two passes), then out = (x-mean)·rstd·w + b; saves mean and rstd.</summary>
    public static void LayerNormForward(ArrayView<float> output, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> input,
        ArrayView<float> weight, ArrayView<float> bias, int hasBias, int c, float eps)
    {
        var shared = SharedMemory.Allocate<float>(MaxGroup);
        int row = Grid.IdxX, tid = Group.IdxX, g = Group.DimX;
        long off = (long)row * c;
        float s = 0f;
        for (int k = tid; k < c; k += g) s += input[off + k];
        float m = GroupSum(shared, s) / c;
        float v = 0f;
        for (int k = tid; k < c; k += g) { float d = input[off + k] - m; v += d * d; }
        float var = GroupSum(shared, v) / c;
        float r = 1f / XMath.Sqrt(var + eps);
        for (int k = tid; k < c; k += g)
        {
            float norm = (input[off + k] - m) * r;
            output[off + k] = norm * weight[k] + (hasBias != 0 ? bias[k] : 0f);
        }
        if (tid == 0) { mean[row] = m; rstd[row] = r; }
    }

    /// <summary>One group per row: dinp += rstd·(dnorm - mean(dnorm) - norm·mean(dnorm·norm)), dnorm = w·dout.</summary>
    public static void LayerNormBackwardInput(ArrayView<float> dinput, ArrayView<float> doutput, ArrayView<float> input, ArrayView<float> weight,
        ArrayView<float> mean, ArrayView<float> rstd, int c)
    {
        var shared = SharedMemory.Allocate<float>(MaxGroup);
        int row = Grid.IdxX, tid = Group.IdxX, g = Group.DimX;
        long off = (long)row * c;
        float m = mean[row], r = rstd[row];
        float s1 = 0f, s2 = 0f;
        for (int k = tid; k < c; k += g)
        {
            float norm = (input[off + k] - m) * r;
            float dnorm = weight[k] * doutput[off + k];
            s1 += dnorm;
            s2 += dnorm * norm;
        }
        float dnormMean = GroupSum(shared, s1) / c;
        float dnormNormMean = GroupSum(shared, s2) / c;
        for (int k = tid; k < c; k += g)
        {
            float norm = (input[off + k] - m) * r;
            float dnorm = weight[k] * doutput[off + k];
            dinput[off + k] += (dnorm - dnormMean - norm * dnormNormMean) * r;
        }
    }

    /// <summary>Per row chunk and channel: partial dweight = Σ norm·dout and partial dbias = Σ dout (finished by ColumnSumFinal).</summary>
    public static void LayerNormBackwardParamsPartial(Index1D i, ArrayView<float> partialW, ArrayView<float> partialB, ArrayView<float> doutput,
        ArrayView<float> input, ArrayView<float> mean, ArrayView<float> rstd, int n, int c, int rowsPerChunk)
    {
        int chunk = i / c, ch = i - chunk * c;
        int start = chunk * rowsPerChunk, end = start + rowsPerChunk < n ? start + rowsPerChunk : n;
        float sw = 0f, sb = 0f;
        for (int r = start; r < end; r++)
        {
            long k = (long)r * c + ch;
            float d = doutput[k];
            sw += (input[k] - mean[r]) * rstd[r] * d;
            sb += d;
        }
        partialW[i] = sw;
        partialB[i] = sb;
    }

    // ---- attention (batched products by the GEMM; these move data and do the softmaxes) ----

    /// <summary>q, k, v [B,NH,T,hs] from qkv [B,T,3C]; one thread per element of q.</summary>
    public static void PermuteQkv(Index1D i, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> qkv, int t, int c, int nh)
    {
        int hs = c / nh;
        int d = i % hs, rest = i / hs;
        int ti = rest % t; rest /= t;
        int h = rest % nh, b = rest / nh;
        long src = ((long)b * t + ti) * 3 * c + h * hs + d;
        q[i] = qkv[src];
        k[i] = qkv[src + c];
        v[i] = qkv[src + 2 * c];
    }

    /// <summary>dst[B,NH,T,hs] = src[B,T,C] (heads split out).</summary>
    public static void SplitHeads(Index1D i, ArrayView<float> dst, ArrayView<float> src, int t, int c, int nh)
    {
        int hs = c / nh;
        int d = i % hs, rest = i / hs;
        int ti = rest % t; rest /= t;
        int h = rest % nh, b = rest / nh;
        dst[i] = src[((long)b * t + ti) * c + h * hs + d];
    }

    /// <summary>dst[B,T,C] = src[B,NH,T,hs] (heads merged back); one thread per element of src.</summary>
    public static void MergeHeads(Index1D i, ArrayView<float> dst, ArrayView<float> src, int t, int c, int nh)
    {
        int hs = c / nh;
        int d = i % hs, rest = i / hs;
        int ti = rest % t; rest /= t;
        int h = rest % nh, b = rest / nh;
        dst[((long)b * t + ti) * c + h * hs + d] = src[i];
    }

    /// <summary>dqkv[B,T,3C] += (dq, dk, dv) [B,NH,T,hs]; one thread per element of dq.</summary>
    public static void MergeQkvGradients(Index1D i, ArrayView<float> dqkv, ArrayView<float> dq, ArrayView<float> dk, ArrayView<float> dv, int t, int c, int nh)
    {
        int hs = c / nh;
        int d = i % hs, rest = i / hs;
        int ti = rest % t; rest /= t;
        int h = rest % nh, b = rest / nh;
        long dst = ((long)b * t + ti) * 3 * c + h * hs + d;
        dqkv[dst] += dq[i];
        dqkv[dst + c] += dk[i];
        dqkv[dst + 2 * c] += dv[i];
    }

    /// <summary>
    /// One group per row (b,h,t) of att [B,NH,T,T], which holds q·k on entry: att = softmax(scale·row) over columns 0..t
    /// (max subtracted), zero beyond.
    /// </summary>
    public static void AttentionSoftmax(ArrayView<float> att, int t, float scale)
    {
        var shared = SharedMemory.Allocate<float>(MaxGroup);
        int row = Grid.IdxX, tid = Group.IdxX, g = Group.DimX;
        int ti = row % t;
        long off = (long)row * t;
        float mx = float.NegativeInfinity;
        for (int k = tid; k <= ti; k += g) mx = XMath.Max(mx, att[off + k] * scale);
        mx = GroupMax(shared, mx);
        float s = 0f;
        for (int k = tid; k <= ti; k += g) s += XMath.Exp(att[off + k] * scale - mx);
        float sum = GroupSum(shared, s);
        float inv = sum == 0f ? 0f : 1f / sum;
        for (int k = tid; k < t; k += g) att[off + k] = k <= ti ? XMath.Exp(att[off + k] * scale - mx) * inv : 0f;
    }

    /// <summary>One group per row: datt = scale·att·(datt - Σ att·datt) in place (the softmax and the score scale, backward).</summary>
    public static void AttentionSoftmaxBackward(ArrayView<float> datt, ArrayView<float> att, int t, float scale)
    {
        var shared = SharedMemory.Allocate<float>(MaxGroup);
        int row = Grid.IdxX, tid = Group.IdxX, g = Group.DimX;
        int ti = row % t;
        long off = (long)row * t;
        float s = 0f;
        for (int k = tid; k <= ti; k += g) s += att[off + k] * datt[off + k];
        float dot = GroupSum(shared, s);
        for (int k = tid; k < t; k += g) datt[off + k] = k <= ti ? att[off + k] * (datt[off + k] - dot) * scale : 0f;
    }

    /// <summary>
    /// Token i = index / C of qkv[N,3C], channel ch: q[i,ch] = its Q; its K to kCache[rows[i], ch, positions[i]] of
    /// [R,C,maxT] (keys transposed per head); its V to vCache[rows[i], positions[i], ch] of [R,maxT,C].
    /// </summary>
    public static void StoreKeysValues(Index1D index, ArrayView<float> q, ArrayView<float> kCache, ArrayView<float> vCache,
        ArrayView<float> qkv, ArrayView<int> rows, ArrayView<int> positions, int maxT, int c)
    {
        int i = index / c, ch = index % c;
        long src = (long)i * 3 * c + ch, row = rows[i], p = positions[i];
        q[(long)i * c + ch] = qkv[src];
        kCache[(row * c + ch) * maxT + p] = qkv[src + c];
        vCache[(row * maxT + p) * c + ch] = qkv[src + 2 * c];
    }

    /// <summary>
    /// Cached attention for decoding: one group per (b, new token, head), its threads over the keys 0..pos[b]+ti (the scores,
    /// kept in that group's row of <paramref name="scores"/> [B·Tn·NH, maxT]: consecutive threads read consecutive keys of
    /// the transposed cache), then over (position lane, channel) for the weighted sum of values, the lanes' partial sums
    /// added in a fixed order. Keys are cached [B,NH,hs,maxT], values [B,maxT,C].
    /// </summary>
    public static void AttentionCached(ArrayView<float> output, ArrayView<float> q, ArrayView<float> kCache, ArrayView<float> vCache,
        ArrayView<int> pos, ArrayView<float> scores, int tn, int maxT, int c, int nh)
    {
        var shared = SharedMemory.Allocate<float>(MaxGroup);
        int i = Grid.IdxX, tid = Group.IdxX, g = Group.DimX;
        int hs = c / nh;
        int h = i % nh, rest = i / nh;
        int ti = rest % tn, b = rest / tn;
        int p = pos[b] + ti;
        float scale = 1f / XMath.Sqrt(hs);
        long qOff = ((long)b * tn + ti) * c + h * hs;
        long kOff = ((long)b * nh + h) * hs * maxT;
        long vOff = (long)b * maxT * c + h * hs;
        long sOff = (long)i * maxT;
        float mx = float.NegativeInfinity;
        for (int t2 = tid; t2 <= p; t2 += g)
        {
            float dot = 0f;
            for (int d = 0; d < hs; d++) dot += q[qOff + d] * kCache[kOff + (long)d * maxT + t2];
            dot *= scale;
            scores[sOff + t2] = dot;
            mx = XMath.Max(mx, dot);
        }
        mx = GroupMax(shared, mx);
        float sum = 0f;
        for (int t2 = tid; t2 <= p; t2 += g)
        {
            float e = XMath.Exp(scores[sOff + t2] - mx);
            scores[sOff + t2] = e;
            sum += e;
        }
        float inv = 1f / GroupSum(shared, sum); // its barriers also make every score visible to the whole group
        if (hs > g)
        {
            for (int d = tid; d < hs; d += g)
            {
                float o = 0f;
                for (int t2 = 0; t2 <= p; t2++) o += scores[sOff + t2] * vCache[vOff + (long)t2 * c + d];
                output[qOff + d] = o * inv;
            }
            return;
        }
        int lanes = g / hs, lane = tid / hs, dd = tid % hs;
        float part = 0f;
        if (lane < lanes)
            for (int t2 = lane; t2 <= p; t2 += lanes) part += scores[sOff + t2] * vCache[vOff + (long)t2 * c + dd];
        shared[tid] = part;
        Group.Barrier();
        if (tid < hs)
        {
            float o = 0f;
            for (int l = 0; l < lanes; l++) o += shared[l * hs + tid];
            output[qOff + tid] = o * inv;
        }
    }

    // ---- softmax cross-entropy ----

    /// <summary>One group per row: probs = softmax(logits) (may alias logits), losses = -log probs[target] (0 for target -1).</summary>
    public static void SoftmaxCrossEntropyForward(ArrayView<float> losses, ArrayView<float> probs, ArrayView<float> logits, ArrayView<int> targets, int v)
    {
        var shared = SharedMemory.Allocate<float>(MaxGroup);
        int row = Grid.IdxX, tid = Group.IdxX, g = Group.DimX;
        long off = (long)row * v;
        float mx = float.NegativeInfinity;
        for (int k = tid; k < v; k += g) mx = XMath.Max(mx, logits[off + k]);
        mx = GroupMax(shared, mx);
        float s = 0f;
        for (int k = tid; k < v; k += g) s += XMath.Exp(logits[off + k] - mx);
        float inv = 1f / GroupSum(shared, s); // every thread has read its logits: the group barriers make the in-place write safe
        for (int k = tid; k < v; k += g) probs[off + k] = XMath.Exp(logits[off + k] - mx) * inv;
        Group.Barrier();
        if (tid == 0)
        {
            int target = targets[row];
            losses[row] = target < 0 ? 0f : -XMath.Log(XMath.Max(probs[off + target], float.Epsilon));
        }
    }

    /// <summary>dlogits = (probs - onehot(target))·dloss[row]: written when in place (dlogits is probs), added otherwise.</summary>
    public static void SoftmaxCrossEntropyBackward(Index1D i, ArrayView<float> dlogits, ArrayView<float> dlosses, ArrayView<float> probs,
        ArrayView<int> targets, int v, int inPlace)
    {
        int row = i / v, j = i - row * v;
        int target = targets[row];
        float dl = target < 0 ? 0f : dlosses[row];
        float g = (probs[i] - (j == target ? 1f : 0f)) * dl;
        if (inPlace != 0) dlogits[i] = g;
        else dlogits[i] += g;
    }

    // ---- reductions ----

    /// <summary>
    /// Σ x² in double: group g sums elements g·G + tid, stepping by the whole grid, then reduces in shared memory; the host
    /// adds the per-group partials in order. Fixed grid, fixed order: deterministic.
    /// </summary>
    public static void SumOfSquaresPartial(ArrayView<double> partial, ArrayView<float> x, int n)
    {
        var shared = SharedMemory.Allocate<double>(MaxGroup);
        int tid = Group.IdxX, g = Group.DimX;
        int stride = Grid.DimX * g;
        double s = 0;
        for (int k = Grid.IdxX * g + tid; k < n; k += stride) { double f = x[k]; s += f * f; }
        shared[tid] = s;
        Group.Barrier();
        for (int h = g / 2; h > 0; h >>= 1)
        {
            if (tid < h) shared[tid] += shared[tid + h];
            Group.Barrier();
        }
        if (tid == 0) partial[Grid.IdxX] = shared[0];
    }

    /// <summary>
    /// One thread: the clip's factor from <see cref="SumOfSquaresPartial"/>'s partial sums, added in order in double (as the
    /// host adds them): scale[0] = maxNorm / (√Σ + 1e-6) when below 1, else 1.
    /// </summary>
    public static void ClipScale(Index1D i, ArrayView<float> scale, ArrayView<double> partial, int groups, float maxNorm)
    {
        double sum = 0;
        for (int k = 0; k < groups; k++) sum += partial[k];
        double coef = maxNorm / (XMath.Sqrt(sum) + 1e-6);
        scale[0] = coef < 1.0 ? (float)coef : 1f;
    }
}
