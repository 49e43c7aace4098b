// The fast CPU backend: SIMD kernels at one vector width (AVX-512, AVX2 or 128-bit: see CpuIsa), multi-threaded on a
// persistent worker pool.
// Every method validates shapes with the checks every backend shares (KernelChecks), then pins its spans and runs a parallel body.
// Results are deterministic for a given thread count; matmul results do not even depend on it (see MatMulGemm).
// Size legend: B batch, T time, C channels, OC output channels, NH heads, V vocab, N element count.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MLNetGpt.Tensors;

/// <summary>
/// SIMD multi-threaded kernels at one vector width (<see cref="Width"/>); results deterministic for a given width and thread count.
/// An instance owns scratch buffers: use one instance from one thread at a time (instances are cheap; worker threads are
/// shared per thread count). Scratch grows during the first calls, after which no call allocates.
/// </summary>
public sealed unsafe class CpuBackend : IComputeBackend
{
    private readonly WorkerPool _pool;
    private readonly Scratch _scratch;

    private CpuBackend(int threads, SimdWidth width)
    {
        ThreadCount = threads;
        Width = width;
        _pool = WorkerPool.Shared(threads);
        _scratch = new Scratch(threads);
    }

    /// <summary>Creates a backend using <paramref name="threads"/> threads (0 = all cores) at the widest vector width this machine runs.</summary>
    /// <exception cref="ArgumentOutOfRangeException">threads is negative or above 1024.</exception>
    public static CpuBackend Create(int threads = 0) => Create(threads, CpuIsa.DefaultForNewBackends);

    /// <summary>Creates a backend at vector width <paramref name="width"/> (any width up to <see cref="CpuIsa.Best"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">threads is negative or above 1024, or the machine cannot run <paramref name="width"/>.</exception>
    public static CpuBackend Create(int threads, SimdWidth width)
    {
        if (threads < 0 || threads > 1024)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "Thread count must be 0 (all cores) or in [1, 1024].");
        if (!CpuIsa.Supports(width))
            throw new ArgumentOutOfRangeException(nameof(width), width, $"This machine runs vector widths up to {CpuIsa.Best}.");
        return new CpuBackend(threads == 0 ? Environment.ProcessorCount : threads, width);
    }

    /// <summary>The vector width every kernel of this backend runs at.</summary>
    public SimdWidth Width { get; }

    /// <inheritdoc/>
    public string Name => "cpu";

    /// <inheritdoc/>
    public int ThreadCount { get; }

    /// <summary>The worker pool the kernels run on (process-wide, shared by backends with the same thread count).</summary>
    public WorkerPool Pool => _pool;

    /// <inheritdoc/>
    public void MatMulForward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int bt, int c, int oc)
    {
        KernelChecks.CheckMatMulForward(output.Length, input.Length, weight.Length, bias.Length, bt, c, oc);
        fixed (float* o = output, x = input, w = weight, b = bias)
            CpuMatMul.Forward(_pool, _scratch, Width, o, x, w, bias.Length == 0 ? null : b, bt, c, oc);
    }

    /// <inheritdoc/>
    public void PackMatMulWeight(Span<float> packed, ReadOnlySpan<float> weight, int c, int oc)
    {
        KernelChecks.CheckPackMatMulWeight(packed.Length, weight.Length, c, oc);
        fixed (float* p = packed, w = weight) CpuMatMul.Pack(_pool, Width, p, w, c, oc);
    }

    /// <inheritdoc/>
    public void MatMulForwardPacked(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias, int bt, int c, int oc)
    {
        KernelChecks.CheckMatMulForwardPacked(output.Length, input.Length, packedWeight.Length, bias.Length, bt, c, oc);
        fixed (float* o = output, x = input, w = packedWeight, b = bias)
            CpuMatMul.ForwardPacked(_pool, _scratch, Width, o, x, w, bias.Length == 0 ? null : b, bt, c, oc);
    }

    /// <inheritdoc/>
    public void MatMulBackward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput,
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int bt, int c, int oc) =>
        Backward(dinput, [], dweight, dbias, doutput, input, weight, bt, c, oc, assign: false);

    /// <inheritdoc/>
    public void MatMulBackwardAssign(Span<float> dinput, ReadOnlySpan<float> dinputScale, Span<float> dweight, Span<float> dbias,
        ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int bt, int c, int oc) =>
        Backward(dinput, dinputScale, dweight, dbias, doutput, input, weight, bt, c, oc, assign: true);

    private void Backward(Span<float> dinput, ReadOnlySpan<float> dinputScale, Span<float> dweight, Span<float> dbias,
        ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int bt, int c, int oc, bool assign)
    {
        KernelChecks.CheckMatMulBackward(dinput.Length, dweight.Length, dbias.Length, doutput.Length, input.Length, weight.Length, bt, c, oc);
        KernelChecks.CheckMatMulBackwardAssign(dinput.Length, dinputScale.Length, bt, c);
        fixed (float* di = dinput, s = dinputScale, dw = dweight, db = dbias, d = doutput, x = input, w = weight)
            CpuMatMul.Backward(_pool, _scratch, Width, dinput.Length == 0 ? null : di, dw, dbias.Length == 0 ? null : db, d, x, w, bt, c, oc,
                assign, dinputScale.Length == 0 ? null : s);
    }

    /// <summary>
    /// Work per element of LayerNorm and softmax rows for the serial-or-parallel decision (WorkerPool.DefaultMinParallelWork,
    /// 2^21): they read rows a matmul just wrote, and split the rows as the matmul split its output rows (contiguous halves),
    /// so each thread reads what its own core wrote; on the calling thread alone, half of those rows come from the other
    /// core. Counted at ~4-8 operations an element they ran serially at nanogpt-cpu's 768 × 128; with 2 threads (AVX2,
    /// Zen 4, `TrainBench --profile`) LayerNorm backward then took 1.07 ms a step against 0.69 on one thread; split, 0.41-0.48 ms
    /// (forward 0.66 → 0.43), and the step 31.6-34.0 → 30.3-34.1 ms in alternating runs. Rows of a few tokens (decoding,
    /// seed-tiny's 256 × 32) stay on the calling thread.
    /// </summary>
    private const int RowKernelCost = 48;

    // Row-wise kernels over a few rows (decoding) run on the calling thread: a hand-off to a worker costs more than the work,
    // and a worker that stays idle goes to sleep, so the next large call would also pay its wake-up.
    private void RowsFor<TBody>(int rows, int c, ref TBody body) where TBody : struct, IParallelBody
    {
        _pool.For(rows, ref body, (long)rows * c * 4); // ~4 operations an element
    }

    /// <inheritdoc/>
    public void EncoderForward(Span<float> output, ReadOnlySpan<int> tokens, ReadOnlySpan<float> wte, ReadOnlySpan<float> wpe, int b, int t, int c)
    {
        KernelChecks.CheckEncoder(output.Length, tokens, wte.Length, wpe.Length, b, t, c);
        fixed (float* o = output, te = wte, pe = wpe)
        fixed (int* tok = tokens)
        {
            var body = new CpuRows.EncoderForwardBody { Out = o, Wte = te, Wpe = pe, Tokens = tok, T = t, C = c };
            RowsFor(b * t, c, ref body);
        }
    }

    /// <inheritdoc/>
    public void EncoderBackward(Span<float> dwte, Span<float> dwpe, ReadOnlySpan<float> doutput, ReadOnlySpan<int> tokens, int b, int t, int c)
    {
        KernelChecks.CheckEncoder(doutput.Length, tokens, dwte.Length, dwpe.Length, b, t, c, "doutput", "dwte", "dwpe");
        if (b * t == 0) return;
        fixed (float* te = dwte, pe = dwpe, d = doutput)
        fixed (int* tok = tokens)
        {
            var body = new CpuRows.EncoderBackwardBody { Dwte = te, Dwpe = pe, Dout = d, Tokens = tok, Rows = b * t, T = t, C = c };
            _pool.For((c + CpuRows.ChannelBlock - 1) / CpuRows.ChannelBlock, ref body, (long)b * t * c);
        }
    }

    /// <inheritdoc/>
    public void LayerNormForward(Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int n, int c)
    {
        KernelChecks.CheckLayerNorm(output.Length, mean.Length, rstd.Length, input.Length, weight.Length, bias.Length, n, c);
        fixed (float* o = output, m = mean, r = rstd, x = input, w = weight, bb = bias)
        {
            var body = new CpuRows.LayerNormForwardBody { Width = Width, Out = o, Mean = m, Rstd = r, In = x, W = w, Bias = bias.Length == 0 ? null : bb, C = c };
            _pool.For(n, ref body, (long)n * c * RowKernelCost);
        }
    }

    /// <inheritdoc/>
    public void LayerNormBackward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput,
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int n, int c)
    {
        KernelChecks.CheckLayerNormBackward(dinput.Length, dweight.Length, dbias.Length, doutput.Length, input.Length, weight.Length, mean.Length, rstd.Length, n, c);
        if (n == 0) return;
        fixed (float* di = dinput, dw = dweight, db = dbias, d = doutput, x = input, w = weight, m = mean, r = rstd)
        {
            var rows = new CpuRows.LayerNormBackwardInputBody { Width = Width, Din = di, Dout = d, In = x, W = w, Mean = m, Rstd = r, C = c };
            _pool.For(n, ref rows, (long)n * c * RowKernelCost);
            var cols = new CpuRows.LayerNormBackwardParamsBody { Width = Width, Dw = dw, Db = dbias.Length == 0 ? null : db, Dout = d, In = x, Mean = m, Rstd = r, N = n, C = c };
            _pool.For((c + CpuRows.ChannelBlock - 1) / CpuRows.ChannelBlock, ref cols, (long)n * c * RowKernelCost);
        }
    }

    /// <inheritdoc/>
    public void AttentionForward(Span<float> output, Span<float> att, ReadOnlySpan<float> qkv, int b, int t, int c, int nh)
    {
        KernelChecks.CheckAttention(output.Length, att.Length, qkv.Length, b, t, c, nh);
        fixed (float* o = output, a = att, q = qkv)
        {
            if (nh > 0 && CpuAttentionBlocked.Supports(c / nh, Width))
            {
                _scratch.EnsurePerWorker(checked((int)Math.Max(CpuAttentionBlocked.ScratchFloats(t, c / nh), MatMulGemm.ScratchFloats)));
                var blocked = new CpuAttentionBlocked.ForwardBody { Width = Width, Out = o, Att = a, Qkv = q, T = t, C = c, NH = nh, Scratch = _scratch };
                _pool.For(b * nh, ref blocked, (long)b * t * t * c);
                return;
            }
            var body = new CpuAttention.ForwardBody { Out = o, Att = a, Qkv = q, T = t, C = c, NH = nh };
            _pool.For(b * nh, ref body, (long)b * t * t * c);
        }
    }

    /// <inheritdoc/>
    public void AttentionBackward(Span<float> dqkv, ReadOnlySpan<float> doutput, ReadOnlySpan<float> qkv, ReadOnlySpan<float> att,
        int b, int t, int c, int nh)
    {
        KernelChecks.CheckAttention(doutput.Length, att.Length, qkv.Length, b, t, c, nh, "doutput");
        Shapes.Require(dqkv.Length, (long)b * t * 3 * c, $"[{b},{t},{3 * c}]");
        _scratch.EnsurePerWorker(Math.Max(t, MatMulGemm.ScratchFloats));
        fixed (float* dq = dqkv, d = doutput, q = qkv, a = att)
        {
            if (nh > 0 && CpuAttentionBlocked.Supports(c / nh, Width))
            {
                _scratch.EnsurePerWorker(checked((int)Math.Max(CpuAttentionBlocked.ScratchFloats(t, c / nh), MatMulGemm.ScratchFloats)));
                var blocked = new CpuAttentionBlocked.BackwardBody { Width = Width, Dqkv = dq, Dout = d, Qkv = q, Att = a, T = t, C = c, NH = nh, Scratch = _scratch };
                _pool.For(b * nh, ref blocked, 2L * b * t * t * c);
                return;
            }
            var body = new CpuAttention.BackwardBody { Dqkv = dq, Dout = d, Qkv = q, Att = a, T = t, C = c, NH = nh, Scratch = _scratch };
            _pool.For(b * nh, ref body, 2L * b * t * t * c);
        }
    }

    /// <inheritdoc/>
    public void AttentionForwardCached(Span<float> output, ReadOnlySpan<float> q, ReadOnlySpan<float> kCache, ReadOnlySpan<float> vCache,
        ReadOnlySpan<int> pos, int b, int tn, int maxT, int c, int nh)
    {
        KernelChecks.CheckCached(output.Length, q.Length, kCache.Length, vCache.Length, pos, b, tn, maxT, c, nh);
        _scratch.EnsurePerWorker(Math.Max(4 * maxT, MatMulGemm.ScratchFloats));
        fixed (float* o = output, qq = q, k = kCache, v = vCache)
        fixed (int* p = pos)
        {
            // Decoding attention stays on the calling thread up to 64 rows: split over 2 threads in batch-32 generation it
            // took 153 ms instead of 125 (each row's cache was last written by the other core), though alone it runs 2× faster.
            long work = (long)b * tn * maxT * c;
            if (nh > 0 && maxT % 16 == 0 && CpuAttentionBlocked.Supports(c / nh, Width))
            {
                var blocked = new CpuAttentionBlocked.CachedBody { Width = Width, Out = o, Q = qq, K = k, V = v, Pos = p, Tn = tn, MaxT = maxT, C = c, NH = nh, Scratch = _scratch };
                _pool.For(b * nh, ref blocked, work);
                return;
            }
            var body = new CpuAttention.CachedBody { Out = o, Q = qq, K = k, V = v, Pos = p, Tn = tn, MaxT = maxT, C = c, NH = nh, Scratch = _scratch };
            _pool.For(b * nh, ref body, work);
        }
    }

    /// <inheritdoc/>
    public void GeluForward(Span<float> output, ReadOnlySpan<float> input, int n)
    {
        KernelChecks.CheckElementwise(n, output.Length, input.Length);
        fixed (float* o = output, x = input)
        {
            var body = new CpuElementwise.GeluForwardBody { Width = Width, Out = o, In = x, N = n };
            _pool.For(CpuElementwise.Chunks(n), ref body, (long)n * 20);
        }
    }

    /// <inheritdoc/>
    public void GeluForward(Span<float> output, Span<float> derivative, ReadOnlySpan<float> input, int n)
    {
        KernelChecks.CheckElementwise(n, output.Length, derivative.Length, input.Length);
        fixed (float* o = output, g = derivative, x = input)
        {
            var body = new CpuElementwise.GeluForwardBody { Width = Width, Out = o, Derivative = g, In = x, N = n };
            _pool.For(CpuElementwise.Chunks(n), ref body, (long)n * 24);
        }
    }

    /// <inheritdoc/>
    public void GeluBackward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, int n)
    {
        KernelChecks.CheckElementwise(n, dinput.Length, input.Length, doutput.Length);
        fixed (float* di = dinput, x = input, d = doutput)
        {
            var body = new CpuElementwise.GeluBackwardBody { Width = Width, Din = di, In = x, Dout = d, N = n };
            _pool.For(CpuElementwise.Chunks(n), ref body, (long)n * 24);
        }
    }

    /// <inheritdoc/>
    public void ReluForward(Span<float> output, ReadOnlySpan<float> input, int n)
    {
        KernelChecks.CheckElementwise(n, output.Length, input.Length);
        fixed (float* o = output, x = input)
        {
            var body = new CpuElementwise.ReluForwardBody { Out = o, In = x, N = n };
            _pool.For(CpuElementwise.Chunks(n), ref body, (long)n * 1);
        }
    }

    /// <inheritdoc/>
    public void ReluBackward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, int n)
    {
        KernelChecks.CheckElementwise(n, dinput.Length, input.Length, doutput.Length);
        fixed (float* di = dinput, x = input, d = doutput)
        {
            var body = new CpuElementwise.ReluBackwardBody { Width = Width, Din = di, In = x, Dout = d, N = n };
            _pool.For(CpuElementwise.Chunks(n), ref body, (long)n * 1);
        }
    }

    /// <inheritdoc/>
    public void ResidualForward(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int n)
    {
        KernelChecks.CheckElementwise(n, output.Length, a.Length, b.Length);
        fixed (float* o = output, x = a, y = b)
        {
            var body = new CpuElementwise.AddBody { Out = o, A = x, B = y, N = n };
            _pool.For(CpuElementwise.Chunks(n), ref body, (long)n * 1);
        }
    }

    /// <inheritdoc/>
    public void ResidualBackward(Span<float> da, Span<float> db, ReadOnlySpan<float> doutput, int n)
    {
        KernelChecks.CheckElementwise(n, da.Length, db.Length, doutput.Length);
        fixed (float* x = da, y = db, d = doutput)
        {
            var body = new CpuElementwise.ResidualBackwardBody { Da = x, Db = y, Dout = d, N = n };
            _pool.For(CpuElementwise.Chunks(n), ref body, (long)n * 2);
        }
    }

    /// <inheritdoc/>
    public void DropoutForward(Span<float> output, ReadOnlySpan<float> input, float p, ulong seed, int n)
    {
        KernelChecks.CheckElementwise(n, output.Length, input.Length);
        KernelChecks.CheckDropout(p);
        fixed (float* o = output, x = input)
        {
            var body = new CpuElementwise.DropoutBody { Out = o, In = x, P = p, Seed = seed, N = n, Accumulate = false };
            _pool.For(CpuElementwise.Chunks(n), ref body, (long)n * 10);
        }
    }

    /// <inheritdoc/>
    public void DropoutBackward(Span<float> dinput, ReadOnlySpan<float> doutput, float p, ulong seed, int n)
    {
        KernelChecks.CheckElementwise(n, dinput.Length, doutput.Length);
        KernelChecks.CheckDropout(p);
        fixed (float* di = dinput, d = doutput)
        {
            var body = new CpuElementwise.DropoutBody { Out = di, In = d, P = p, Seed = seed, N = n, Accumulate = true };
            _pool.For(CpuElementwise.Chunks(n), ref body, (long)n * 10);
        }
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyForward(Span<float> losses, Span<float> probs, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int bt, int v)
    {
        KernelChecks.CheckSoftmax(losses.Length, probs.Length, logits.Length, targets, bt, v);
        fixed (float* l = losses, p = probs, x = logits)
        fixed (int* tg = targets)
        {
            var body = new CpuRows.SoftmaxForwardBody { Losses = l, Probs = p, Logits = x, Targets = tg, V = v, Width = Width };
            _pool.For(bt, ref body, (long)bt * v * RowKernelCost);
        }
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(Span<float> dlogits, ReadOnlySpan<float> dlosses, ReadOnlySpan<float> probs, ReadOnlySpan<int> targets, int bt, int v)
    {
        KernelChecks.CheckSoftmax(dlosses.Length, dlogits.Length, probs.Length, targets, bt, v, "dlosses", "dlogits", "probs");
        bool inPlace = Unsafe.AreSame(ref MemoryMarshal.GetReference(dlogits), ref MemoryMarshal.GetReference(probs));
        fixed (float* d = dlogits, dl = dlosses, p = probs)
        fixed (int* tg = targets)
        {
            var body = new CpuRows.SoftmaxBackwardBody { Dlogits = d, Dlosses = dl, Probs = p, Targets = tg, V = v, InPlace = inPlace };
            _pool.For(bt, ref body, (long)bt * v);
        }
    }

    /// <inheritdoc/>
    public void AdamW(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v,
        float learningRate, float beta1, float beta2, float eps, float weightDecay, int step, float gradientScale = 1f)
    {
        int n = parameters.Length;
        KernelChecks.CheckElementwise(n, gradients.Length, m.Length, v.Length);
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, "AdamW step counts from 1.");
        fixed (float* p = parameters, g = gradients, mm = m, vv = v)
        {
            var body = new CpuElementwise.AdamWBody
            {
                Width = Width,
                P = p, G = g, M = mm, V = vv, N = n, Gs = gradientScale, Lr = learningRate, Beta1 = beta1, Beta2 = beta2, Eps = eps, Wd = weightDecay,
                Rc1 = 1f / (1f - MathF.Pow(beta1, step)), Rc2 = 1f / (1f - MathF.Pow(beta2, step)),
            };
            // AdamW streams four arrays laid out by parameter, which no other kernel's partition matches: with 2 threads a
            // nanogpt-cpu update (0.8M parameters) took 0.74 ms split and 0.62 ms on the calling thread (1 thread: 0.54).
            // So it is split from 2M parameters on (work = n against the 2M threshold).
            _pool.For(CpuElementwise.Chunks(n), ref body, n);
        }
    }

    /// <inheritdoc/>
    public double SumOfSquares(ReadOnlySpan<float> x)
    {
        int chunks = CpuElementwise.Chunks(x.Length);
        double* partial = _scratch.SharedDoubles(Math.Max(chunks, 1));
        fixed (float* p = x)
        {
            var body = new CpuElementwise.SumSquaresBody { X = p, Partial = partial, N = x.Length, Width = Width };
            _pool.For(chunks, ref body, 2L * x.Length);
        }
        double s = 0;
        for (int i = 0; i < chunks; i++) s += partial[i]; // fixed order: independent of the thread count
        return s;
    }

    /// <summary>
    /// x[i] = value, split over the threads like the row kernels (<see cref="RowKernelCost"/>): the model clears each
    /// gradient buffer before a kernel accumulates into it, and with 2 threads those clears, left on the calling thread,
    /// took 3.0 ms of a 35 ms nanogpt-cpu step (AVX2, Zen 4), half of every buffer having last been written by the other core.
    /// </summary>
    public void Fill(Span<float> x, float value)
    {
        fixed (float* p = x)
        {
            var body = new CpuElementwise.FillBody { X = p, Value = value, N = x.Length };
            _pool.For(CpuElementwise.Chunks(x.Length), ref body, (long)x.Length * RowKernelCost);
        }
    }

    /// <inheritdoc/>
    public void Scale(Span<float> x, float scale)
    {
        fixed (float* p = x)
        {
            var body = new CpuElementwise.ScaleBody { X = p, S = scale, N = x.Length };
            _pool.For(CpuElementwise.Chunks(x.Length), ref body, x.Length);
        }
    }
}
