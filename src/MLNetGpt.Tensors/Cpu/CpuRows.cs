// Fast row-wise kernels for CpuBackend: encoder, layernorm, softmax + cross-entropy, parallel over rows (or over channel
// blocks where rows would write a shared destination, e.g. dweight of layernorm or dwte of the encoder, which keeps the
// row order fixed and the result independent of the thread count).
// Size legend: B batch, T time, C channels, V vocab, N rows.
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace MLNetGpt.Tensors;

internal static unsafe class CpuRows
{
    /// <summary>Channels per work item when parallelizing over channels.</summary>
    public const int ChannelBlock = 16;

    public struct EncoderForwardBody : IParallelBody
    {
        public float* Out, Wte, Wpe; public int* Tokens; public int T, C;
        public readonly void Execute(int start, int end, int worker)
        {
            for (int row = start; row < end; row++)
            {
                int t = row % T;
                TensorPrimitives.Add(new ReadOnlySpan<float>(Wte + (long)Tokens[row] * C, C), new ReadOnlySpan<float>(Wpe + (long)t * C, C),
                    new Span<float>(Out + (long)row * C, C));
            }
        }
    }

    // Items are blocks of 16 channels; rows are visited in order, so repeated tokens accumulate deterministically.
    public struct EncoderBackwardBody : IParallelBody
    {
        public float* Dwte, Dwpe, Dout; public int* Tokens; public int Rows, T, C;
        public readonly void Execute(int start, int end, int worker)
        {
            int c0 = start * ChannelBlock, len = Math.Min(end * ChannelBlock, C) - c0;
            for (int row = 0; row < Rows; row++)
            {
                var d = new ReadOnlySpan<float>(Dout + (long)row * C + c0, len);
                var wte = new Span<float>(Dwte + (long)Tokens[row] * C + c0, len);
                var wpe = new Span<float>(Dwpe + (long)(row % T) * C + c0, len);
                TensorPrimitives.Add(wte, d, wte);
                TensorPrimitives.Add(wpe, d, wpe);
            }
        }
    }

    public struct LayerNormForwardBody : IParallelBody
    {
        public float* Out, Mean, Rstd, In, W, Bias; public int C;
        public SimdWidth Width;

        public readonly void Execute(int start, int end, int worker)
        {
            switch (Width)
            {
                case SimdWidth.Vector512: Run<Simd512, Vector512<float>>(start, end); break;
                case SimdWidth.Vector256: Run<Simd256, Vector256<float>>(start, end); break;
                case SimdWidth.Vector128: Run<Simd128, Vector128<float>>(start, end); break;
                default: Run<Simd128, Vector128<float>>(start, end, vectors: false); break;
            }
        }

        private readonly void Run<TOps, TVec>(int start, int end, bool vectors = true) where TOps : ISimd<TVec> where TVec : struct
        {
            int c = C, w = vectors ? TOps.Count : int.MaxValue;
            for (int row = start; row < end; row++)
            {
                float* x = In + (long)row * c;
                float* o = Out + (long)row * c;
                // the mean over two accumulators (TensorPrimitives.Sum took ~120 cycles a 128-float row: 0.5 % of an AVX2 step)
                float sum = 0;
                int k = 0;
                if (c >= w)
                {
                    var s0 = TOps.Zero; var s1 = TOps.Zero;
                    for (; k + 2 * w <= c; k += 2 * w) { s0 = TOps.Add(s0, TOps.Load(x + k)); s1 = TOps.Add(s1, TOps.Load(x + k + w)); }
                    for (; k + w <= c; k += w) s0 = TOps.Add(s0, TOps.Load(x + k));
                    sum = TOps.Sum(TOps.Add(s0, s1));
                }
                for (; k < c; k++) sum += x[k];
                float m = sum / c;
                // two-pass variance: Σ (x - m)² is stable where E[x²] - m² is not
                float var = 0;
                k = 0;
                if (c >= w)
                {
                    // two accumulators: one is a chain of C/w dependent adds (AVX2, C = 128: 16 × 3 cycles a row)
                    var acc = TOps.Zero; var acc1 = TOps.Zero; var mv = TOps.Broadcast(m);
                    for (; k + 2 * w <= c; k += 2 * w)
                    {
                        var d0 = TOps.Subtract(TOps.Load(x + k), mv); var d1 = TOps.Subtract(TOps.Load(x + k + w), mv);
                        acc = TOps.Add(acc, TOps.Multiply(d0, d0)); acc1 = TOps.Add(acc1, TOps.Multiply(d1, d1));
                    }
                    for (; k + w <= c; k += w) { var d = TOps.Subtract(TOps.Load(x + k), mv); acc = TOps.Add(acc, TOps.Multiply(d, d)); }
                    var = TOps.Sum(TOps.Add(acc, acc1));
                }
                for (; k < c; k++) { float d = x[k] - m; var += d * d; }
                float s = 1f / MathF.Sqrt(var / c + KernelConstants.LayerNormEpsilon);
                k = 0;
                if (vectors)
                {
                    var mv = TOps.Broadcast(m); var sv = TOps.Broadcast(s);
                    for (; k + w <= c; k += w)
                    {
                        var n = TOps.Multiply(TOps.Multiply(TOps.Subtract(TOps.Load(x + k), mv), sv), TOps.Load(W + k));
                        if (Bias != null) n = TOps.Add(n, TOps.Load(Bias + k));
                        TOps.Store(n, o + k);
                    }
                }
                for (; k < c; k++) o[k] = (x[k] - m) * s * W[k] + (Bias == null ? 0f : Bias[k]);
                Mean[row] = m;
                Rstd[row] = s;
            }
        }
    }

    // dinp per row: dx = s·(dnorm - mean(dnorm) - norm·mean(dnorm·norm)), dnorm = w·dout.
    public struct LayerNormBackwardInputBody : IParallelBody
    {
        public float* Din, Dout, In, W, Mean, Rstd; public int C;
        public SimdWidth Width;

        public readonly void Execute(int start, int end, int worker)
        {
            switch (Width)
            {
                case SimdWidth.Vector512: Run<Simd512, Vector512<float>>(start, end); break;
                case SimdWidth.Vector256: Run<Simd256, Vector256<float>>(start, end); break;
                case SimdWidth.Vector128: Run<Simd128, Vector128<float>>(start, end); break;
                default: Run<Simd128, Vector128<float>>(start, end, vectors: false); break;
            }
        }

        private readonly void Run<TOps, TVec>(int start, int end, bool vectors = true) where TOps : ISimd<TVec> where TVec : struct
        {
            int c = C, w = vectors ? TOps.Count : int.MaxValue;
            for (int row = start; row < end; row++)
            {
                float* x = In + (long)row * c, d = Dout + (long)row * c, di = Din + (long)row * c;
                float m = Mean[row], s = Rstd[row];
                float a = 0, b = 0;
                int k = 0;
                if (c >= w)
                {
                    var mv = TOps.Broadcast(m); var sv = TOps.Broadcast(s);
                    var av = TOps.Zero; var bv = TOps.Zero;
                    for (; k + w <= c; k += w)
                    {
                        var norm = TOps.Multiply(TOps.Subtract(TOps.Load(x + k), mv), sv);
                        var dn = TOps.Multiply(TOps.Load(W + k), TOps.Load(d + k));
                        av = TOps.Add(av, dn); bv = TOps.Add(bv, TOps.Multiply(dn, norm));
                    }
                    a = TOps.Sum(av); b = TOps.Sum(bv);
                }
                for (; k < c; k++) { float norm = (x[k] - m) * s; float dn = W[k] * d[k]; a += dn; b += dn * norm; }
                a /= c; b /= c;
                k = 0;
                if (vectors)
                {
                    var mv = TOps.Broadcast(m); var sv = TOps.Broadcast(s); var av = TOps.Broadcast(a); var bv = TOps.Broadcast(b);
                    for (; k + w <= c; k += w)
                    {
                        var norm = TOps.Multiply(TOps.Subtract(TOps.Load(x + k), mv), sv);
                        var dn = TOps.Multiply(TOps.Load(W + k), TOps.Load(d + k));
                        var delta = TOps.Multiply(TOps.Subtract(TOps.Subtract(dn, av), TOps.Multiply(norm, bv)), sv);
                        TOps.Store(TOps.Add(TOps.Load(di + k), delta), di + k);
                    }
                }
                for (; k < c; k++)
                {
                    float norm = (x[k] - m) * s;
                    di[k] += (W[k] * d[k] - a - norm * b) * s;
                }
            }
        }
    }

    // dweight[k] += Σ_rows norm·dout, dbias[k] += Σ_rows dout; items are 16-channel blocks, rows in order.
    public struct LayerNormBackwardParamsBody : IParallelBody
    {
        public float* Dw, Db, Dout, In, Mean, Rstd; public int N, C;
        public SimdWidth Width;

        public readonly void Execute(int start, int end, int worker)
        {
            switch (Width)
            {
                case SimdWidth.Vector512: Run<Simd512, Vector512<float>>(start, end); break;
                case SimdWidth.Vector256: Run<Simd256, Vector256<float>>(start, end); break;
                case SimdWidth.Vector128: Run<Simd128, Vector128<float>>(start, end); break;
                default: Run<Simd128, Vector128<float>>(start, end, vectors: false); break;
            }
        }

        // Each channel's sums run over the rows in order (vector lanes are channels), so the width does not change the bits.
        // Rows outer, the item's channels inner, the sums kept in a buffer on this thread's stack (L1; in dweight itself,
        // two threads' lines could share a cache line): each row of dout and input is read once, front to back. Column by
        // column (a 16-channel block down all rows at a time) every line was fetched from L2 once per block it holds, and a
        // nanogpt-cpu LayerNorm backward (768 × 128) took 0.058 ms against 0.045 now (1 thread, AVX2, Zen 4).
        private readonly void Run<TOps, TVec>(int start, int end, bool vectors = true) where TOps : ISimd<TVec> where TVec : struct
        {
            const int MaxChannels = 1024; // 8 KB of stack
            float* dw = stackalloc float[MaxChannels], db = stackalloc float[MaxChannels];
            int last = Math.Min(end * ChannelBlock, C);
            for (int c0 = start * ChannelBlock; c0 < last; c0 += MaxChannels)
                Run<TOps, TVec>(c0, Math.Min(c0 + MaxChannels, last), dw, db, vectors);
        }

        private readonly void Run<TOps, TVec>(int c0, int c1, float* dw, float* db, bool vectors) where TOps : ISimd<TVec> where TVec : struct
        {
            int w = TOps.Count, len = c1 - c0;
            int vEnd = vectors ? len / w * w : 0;
            new ReadOnlySpan<float>(Dw + c0, len).CopyTo(new Span<float>(dw, len));
            if (Db != null) new ReadOnlySpan<float>(Db + c0, len).CopyTo(new Span<float>(db, len));
            for (int row = 0; row < N; row++)
            {
                float* d = Dout + (long)row * C + c0, x = In + (long)row * C + c0;
                float m = Mean[row], s = Rstd[row];
                var mv = TOps.Broadcast(m); var sv = TOps.Broadcast(s);
                int k = 0;
                for (; k < vEnd; k += w)
                {
                    var dv = TOps.Load(d + k);
                    var norm = TOps.Multiply(TOps.Subtract(TOps.Load(x + k), mv), sv);
                    TOps.Store(TOps.Add(TOps.Load(dw + k), TOps.Multiply(norm, dv)), dw + k);
                    if (Db != null) TOps.Store(TOps.Add(TOps.Load(db + k), dv), db + k);
                }
                for (; k < len; k++)
                {
                    dw[k] += (x[k] - m) * s * d[k];
                    if (Db != null) db[k] += d[k];
                }
            }
            new ReadOnlySpan<float>(dw, len).CopyTo(new Span<float>(Dw + c0, len));
            if (Db != null) new ReadOnlySpan<float>(db, len).CopyTo(new Span<float>(Db + c0, len));
        }
    }

    // Probs may be Logits itself (each element is read before it is written). The exponentials use SimdMath.Exp, as
    // attention's softmax does: TensorPrimitives.Exp (float, AVX2) took 0.22 ms for nanogpt-cpu's 768 × 65 logits, 3-4 %
    // of a single-thread step's non-matmul time.
    public struct SoftmaxForwardBody : IParallelBody
    {
        public float* Losses, Probs, Logits; public int* Targets; public int V;
        public SimdWidth Width;

        public readonly void Execute(int start, int end, int worker)
        {
            switch (Width)
            {
                case SimdWidth.Vector512: Run<Simd512, Vector512<float>>(start, end, true); break;
                case SimdWidth.Vector256: Run<Simd256, Vector256<float>>(start, end, true); break;
                case SimdWidth.Vector128: Run<Simd128, Vector128<float>>(start, end, true); break;
                default: Run<Simd128, Vector128<float>>(start, end, false); break;
            }
        }

        private readonly void Run<TOps, TVec>(int start, int end, bool vectors) where TOps : ISimd<TVec> where TVec : struct
        {
            int v = V, w = TOps.Count, full = vectors ? v - v % w : 0;
            for (int row = start; row < end; row++)
            {
                float* x = Logits + (long)row * v, p = Probs + (long)row * v;
                var mx = TOps.Broadcast(float.NegativeInfinity);
                int i = 0;
                for (; i < full; i += w) mx = TOps.Max(mx, TOps.Load(x + i));
                float max = full > 0 ? TOps.MaxAcross(mx) : float.NegativeInfinity;
                for (; i < v; i++) max = MathF.Max(max, x[i]);
                var m = TOps.Broadcast(max);
                var acc = TOps.Zero;
                for (i = 0; i < full; i += w)
                {
                    var e = SimdMath.Exp<TOps, TVec>(TOps.Subtract(TOps.Load(x + i), m));
                    TOps.Store(e, p + i);
                    acc = TOps.Add(acc, e);
                }
                float sum = full > 0 ? TOps.Sum(acc) : 0f;
                for (; i < v; i++)
                {
                    float e = MathF.Exp(x[i] - max);
                    p[i] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                var vi = TOps.Broadcast(inv);
                for (i = 0; i < full; i += w) TOps.Store(TOps.Multiply(TOps.Load(p + i), vi), p + i);
                for (; i < v; i++) p[i] *= inv;
                int target = Targets[row];
                Losses[row] = target < 0 ? 0f : -MathF.Log(MathF.Max(p[target], float.Epsilon));
            }
        }
    }

    // dlogits = (probs - onehot)·dloss, written (=) when dlogits is probs, else added.
    public struct SoftmaxBackwardBody : IParallelBody
    {
        public float* Dlogits, Dlosses, Probs; public int* Targets; public int V; public bool InPlace;
        public readonly void Execute(int start, int end, int worker)
        {
            int v = V;
            for (int row = start; row < end; row++)
            {
                int target = Targets[row];
                float dl = target < 0 ? 0f : Dlosses[row];
                var p = new ReadOnlySpan<float>(Probs + (long)row * v, v);
                var d = new Span<float>(Dlogits + (long)row * v, v);
                if (InPlace) TensorPrimitives.Multiply(p, dl, d);
                else TensorPrimitives.MultiplyAdd(p, dl, d, d);
                if (target >= 0) d[target] -= dl;
            }
        }
    }
}
