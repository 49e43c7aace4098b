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
        public readonly void Execute(int start, int end, int worker)
        {
            int c = C;
            for (int row = start; row < end; row++)
            {
                float* x = In + (long)row * c;
                float* o = Out + (long)row * c;
                float m = TensorPrimitives.Sum(new ReadOnlySpan<float>(x, c)) / c;
                // two-pass variance: Σ (x - m)² is stable where E[x²] - m² is not
                float var = 0;
                int k = 0;
                if (Vector512.IsHardwareAccelerated && c >= 16)
                {
                    var acc = Vector512<float>.Zero; var mv = Vector512.Create(m);
                    for (; k + 16 <= c; k += 16) { var d = Vector512.Load(x + k) - mv; acc += d * d; }
                    var = Vector512.Sum(acc);
                }
                for (; k < c; k++) { float d = x[k] - m; var += d * d; }
                float s = 1f / MathF.Sqrt(var / c + ReferenceBackend.LayerNormEpsilon);
                k = 0;
                if (Vector512.IsHardwareAccelerated)
                {
                    var mv = Vector512.Create(m); var sv = Vector512.Create(s);
                    for (; k + 16 <= c; k += 16)
                    {
                        var n = (Vector512.Load(x + k) - mv) * sv * Vector512.Load(W + k);
                        if (Bias != null) n += Vector512.Load(Bias + k);
                        n.Store(o + k);
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
        public readonly void Execute(int start, int end, int worker)
        {
            int c = C;
            for (int row = start; row < end; row++)
            {
                float* x = In + (long)row * c, d = Dout + (long)row * c, di = Din + (long)row * c;
                float m = Mean[row], s = Rstd[row];
                float a = 0, b = 0;
                int k = 0;
                if (Vector512.IsHardwareAccelerated && c >= 16)
                {
                    var mv = Vector512.Create(m); var sv = Vector512.Create(s);
                    var av = Vector512<float>.Zero; var bv = Vector512<float>.Zero;
                    for (; k + 16 <= c; k += 16)
                    {
                        var norm = (Vector512.Load(x + k) - mv) * sv;
                        var dn = Vector512.Load(W + k) * Vector512.Load(d + k);
                        av += dn; bv += dn * norm;
                    }
                    a = Vector512.Sum(av); b = Vector512.Sum(bv);
                }
                for (; k < c; k++) { float norm = (x[k] - m) * s; float dn = W[k] * d[k]; a += dn; b += dn * norm; }
                a /= c; b /= c;
                k = 0;
                if (Vector512.IsHardwareAccelerated)
                {
                    var mv = Vector512.Create(m); var sv = Vector512.Create(s); var av = Vector512.Create(a); var bv = Vector512.Create(b);
                    for (; k + 16 <= c; k += 16)
                    {
                        var norm = (Vector512.Load(x + k) - mv) * sv;
                        var dn = Vector512.Load(W + k) * Vector512.Load(d + k);
                        (Vector512.Load(di + k) + (dn - av - norm * bv) * sv).Store(di + k);
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
        public readonly void Execute(int start, int end, int worker)
        {
            int c0 = start * ChannelBlock, c1 = Math.Min(end * ChannelBlock, C);
            for (int cb = c0; cb < c1; cb += ChannelBlock)
            {
                int ce = Math.Min(cb + ChannelBlock, c1);
                if (Vector512.IsHardwareAccelerated && ce - cb == 16)
                {
                    var dw = Vector512.Load(Dw + cb);
                    var db = Db == null ? default : Vector512.Load(Db + cb);
                    for (int row = 0; row < N; row++)
                    {
                        var d = Vector512.Load(Dout + (long)row * C + cb);
                        var norm = (Vector512.Load(In + (long)row * C + cb) - Vector512.Create(Mean[row])) * Vector512.Create(Rstd[row]);
                        dw += norm * d;
                        db += d;
                    }
                    dw.Store(Dw + cb);
                    if (Db != null) db.Store(Db + cb);
                }
                else
                {
                    for (int k = cb; k < ce; k++)
                    {
                        float dw = Dw[k], db = Db == null ? 0f : Db[k];
                        for (int row = 0; row < N; row++)
                        {
                            float d = Dout[(long)row * C + k];
                            dw += (In[(long)row * C + k] - Mean[row]) * Rstd[row] * d;
                            db += d;
                        }
                        Dw[k] = dw;
                        if (Db != null) Db[k] = db;
                    }
                }
            }
        }
    }

    public struct SoftmaxForwardBody : IParallelBody
    {
        public float* Losses, Probs, Logits; public int* Targets; public int V;
        public readonly void Execute(int start, int end, int worker)
        {
            int v = V;
            for (int row = start; row < end; row++)
            {
                var logits = new ReadOnlySpan<float>(Logits + (long)row * v, v);
                var p = new Span<float>(Probs + (long)row * v, v);
                float max = TensorPrimitives.Max(logits);
                TensorPrimitives.Subtract(logits, max, p); // may alias: elementwise
                TensorPrimitives.Exp(p, p);
                float sum = TensorPrimitives.Sum(p);
                TensorPrimitives.Multiply(p, 1f / sum, p);
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
