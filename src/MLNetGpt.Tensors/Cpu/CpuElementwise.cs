// Fast elementwise kernels for CpuBackend (GELU, ReLU, residual, dropout, AdamW, scale, sum of squares): Vector512 bodies with
// scalar tails (and a scalar path without AVX-512), parallel over fixed chunks of elements, so results never depend on threads.
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MLNetGpt.Tensors;

internal static unsafe class CpuElementwise
{
    /// <summary>Elements per parallel work item (small arrays run on the calling thread).</summary>
    public const int Chunk = 16384;

    public static int Chunks(long n) => (int)((n + Chunk - 1) / Chunk);

    private static readonly float GeluS = ReferenceBackend.GeluScale;

    public struct GeluForwardBody : IParallelBody
    {
        public float* Out, In; public long N;
        public readonly void Execute(int start, int end, int worker)
        {
            long i = (long)start * Chunk, e = Math.Min((long)end * Chunk, N);
            if (Vector512.IsHardwareAccelerated)
                for (; i + 16 <= e; i += 16)
                {
                    var x = Vector512.Load(In + i);
                    var th = Tanh(Vector512.Create(GeluS) * (x + Vector512.Create(0.044715f) * x * x * x));
                    (Vector512.Create(0.5f) * x * (Vector512<float>.One + th)).Store(Out + i);
                }
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= e; i += 8)
                {
                    var x = Vector256.Load(In + i);
                    var th = Tanh(Vector256.Create(GeluS) * (x + Vector256.Create(0.044715f) * x * x * x));
                    (Vector256.Create(0.5f) * x * (Vector256<float>.One + th)).Store(Out + i);
                }
            for (; i < e; i++)
            {
                float x = In[i];
                Out[i] = 0.5f * x * (1f + MathF.Tanh(GeluS * (x + 0.044715f * x * x * x)));
            }
        }
    }

    public struct GeluBackwardBody : IParallelBody
    {
        public float* Din, In, Dout; public long N;
        public readonly void Execute(int start, int end, int worker)
        {
            long i = (long)start * Chunk, e = Math.Min((long)end * Chunk, N);
            if (Vector512.IsHardwareAccelerated)
                for (; i + 16 <= e; i += 16)
                {
                    var x = Vector512.Load(In + i);
                    var x2 = x * x;
                    var th = Tanh(Vector512.Create(GeluS) * (x + Vector512.Create(0.044715f) * x2 * x));
                    var sech2 = Vector512<float>.One - th * th;
                    var half = Vector512.Create(0.5f);
                    var grad = half * (Vector512<float>.One + th) + half * x * sech2 * Vector512.Create(GeluS) * (Vector512<float>.One + Vector512.Create(3f * 0.044715f) * x2);
                    (Vector512.Load(Din + i) + grad * Vector512.Load(Dout + i)).Store(Din + i);
                }
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= e; i += 8)
                {
                    var x = Vector256.Load(In + i);
                    var x2 = x * x;
                    var th = Tanh(Vector256.Create(GeluS) * (x + Vector256.Create(0.044715f) * x2 * x));
                    var sech2 = Vector256<float>.One - th * th;
                    var half = Vector256.Create(0.5f);
                    var grad = half * (Vector256<float>.One + th) + half * x * sech2 * Vector256.Create(GeluS) * (Vector256<float>.One + Vector256.Create(3f * 0.044715f) * x2);
                    (Vector256.Load(Din + i) + grad * Vector256.Load(Dout + i)).Store(Din + i);
                }
            for (; i < e; i++)
            {
                float x = In[i];
                float th = MathF.Tanh(GeluS * (x + 0.044715f * x * x * x));
                float grad = 0.5f * (1f + th) + 0.5f * x * (1f - th * th) * GeluS * (1f + 3f * 0.044715f * x * x);
                Din[i] += grad * Dout[i];
            }
        }
    }

    // tanh(u) = 1 - 2/(exp(2u) + 1): exact limits ±1 (exp overflow gives 1, underflow gives -1); absolute error ~1e-7.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Tanh(Vector512<float> u) =>
        Vector512<float>.One - Vector512.Create(2f) / (Exp(u + u) + Vector512<float>.One);

    // exp in float only (Cephes expf: x = k·ln2 + r, |r| ≤ ln2/2, degree-6 polynomial, relative error about 2e-7).
    // Vector512.Exp widens to double for 1-ulp accuracy, which made GELU 7 % of a nanogpt-cpu training step.
    // Inputs are clamped to [-87.3, 88.3] so 2^k stays a normal float; tanh saturates long before that.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(-87.3f)), Vector512.Create(88.3f));
        var k = Vector512.Round(x * Vector512.Create(1.44269504088896341f));
        var r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(k, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.Create(1.9875691500e-4f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.3981999507e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        var y = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(k) + Vector512.Create(127), 23).AsSingle();
        return y * scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Tanh(Vector256<float> u) =>
        Vector256<float>.One - Vector256.Create(2f) / (Exp(u + u) + Vector256<float>.One);

    // The Vector256 twin of Exp(Vector512) above, same constants.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(-87.3f)), Vector256.Create(88.3f));
        var k = Vector256.Round(x * Vector256.Create(1.44269504088896341f));
        var r = Vector256.FusedMultiplyAdd(k, Vector256.Create(-0.693359375f), x);
        r = Vector256.FusedMultiplyAdd(k, Vector256.Create(2.12194440e-4f), r);
        var p = Vector256.Create(1.9875691500e-4f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.3981999507e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(8.3334519073e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(4.1665795894e-2f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.6666665459e-1f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(5.0000001201e-1f));
        var y = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256<float>.One);
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32(k) + Vector256.Create(127), 23).AsSingle();
        return y * scale;
    }

    public struct ReluForwardBody : IParallelBody
    {
        public float* Out, In; public long N;
        public readonly void Execute(int start, int end, int worker)
        {
            long i = (long)start * Chunk, e = Math.Min((long)end * Chunk, N);
            TensorPrimitives.Max(new ReadOnlySpan<float>(In + i, (int)(e - i)), 0f, new Span<float>(Out + i, (int)(e - i)));
        }
    }

    public struct ReluBackwardBody : IParallelBody
    {
        public float* Din, In, Dout; public long N;
        public readonly void Execute(int start, int end, int worker)
        {
            long i = (long)start * Chunk, e = Math.Min((long)end * Chunk, N);
            if (Vector512.IsHardwareAccelerated)
                for (; i + 16 <= e; i += 16)
                {
                    var mask = Vector512.GreaterThan(Vector512.Load(In + i), Vector512<float>.Zero);
                    (Vector512.Load(Din + i) + (Vector512.Load(Dout + i) & mask)).Store(Din + i);
                }
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= e; i += 8)
                {
                    var mask = Vector256.GreaterThan(Vector256.Load(In + i), Vector256<float>.Zero);
                    (Vector256.Load(Din + i) + (Vector256.Load(Dout + i) & mask)).Store(Din + i);
                }
            for (; i < e; i++) if (In[i] > 0) Din[i] += Dout[i];
        }
    }

    public struct AddBody : IParallelBody
    {
        public float* Out, A, B; public long N;
        public readonly void Execute(int start, int end, int worker)
        {
            long i = (long)start * Chunk; int len = (int)(Math.Min((long)end * Chunk, N) - i);
            TensorPrimitives.Add(new ReadOnlySpan<float>(A + i, len), new ReadOnlySpan<float>(B + i, len), new Span<float>(Out + i, len));
        }
    }

    public struct ResidualBackwardBody : IParallelBody
    {
        public float* Da, Db, Dout; public long N;
        public readonly void Execute(int start, int end, int worker)
        {
            long i = (long)start * Chunk; int len = (int)(Math.Min((long)end * Chunk, N) - i);
            var d = new ReadOnlySpan<float>(Dout + i, len);
            TensorPrimitives.Add(new ReadOnlySpan<float>(Da + i, len), d, new Span<float>(Da + i, len));
            TensorPrimitives.Add(new ReadOnlySpan<float>(Db + i, len), d, new Span<float>(Db + i, len));
        }
    }

    public struct DropoutBody : IParallelBody
    {
        public float* Out, In; public float P; public ulong Seed; public long N; public bool Accumulate;
        public readonly void Execute(int start, int end, int worker)
        {
            long i = (long)start * Chunk, e = Math.Min((long)end * Chunk, N);
            float keepScale = 1f / (1f - P);
            if (P == 0f)
            {
                for (; i < e; i++) Out[i] = Accumulate ? Out[i] + In[i] : In[i];
                return;
            }
            for (; i < e; i++)
            {
                float v = Dropout.Keep(Seed, i, P) ? In[i] * keepScale : 0f;
                Out[i] = Accumulate ? Out[i] + v : v;
            }
        }
    }

    public struct AdamWBody : IParallelBody
    {
        public float* P, G, M, V; public long N;
        public float Lr, Beta1, Beta2, Eps, Wd, C1, C2;
        public readonly void Execute(int start, int end, int worker)
        {
            long i = (long)start * Chunk, e = Math.Min((long)end * Chunk, N);
            if (Vector512.IsHardwareAccelerated)
            {
                var b1 = Vector512.Create(Beta1); var ob1 = Vector512.Create(1f - Beta1);
                var b2 = Vector512.Create(Beta2); var ob2 = Vector512.Create(1f - Beta2);
                var c1 = Vector512.Create(C1); var c2 = Vector512.Create(C2);
                var lr = Vector512.Create(Lr); var eps = Vector512.Create(Eps); var wd = Vector512.Create(Wd);
                for (; i + 16 <= e; i += 16)
                {
                    var g = Vector512.Load(G + i);
                    var m = b1 * Vector512.Load(M + i) + ob1 * g;
                    var v = b2 * Vector512.Load(V + i) + ob2 * g * g;
                    m.Store(M + i); v.Store(V + i);
                    var p = Vector512.Load(P + i);
                    var mh = m / c1; var vh = v / c2;
                    (p - lr * (mh / (Vector512.Sqrt(vh) + eps) + wd * p)).Store(P + i);
                }
            }
            if (Vector256.IsHardwareAccelerated)
            {
                var b1 = Vector256.Create(Beta1); var ob1 = Vector256.Create(1f - Beta1);
                var b2 = Vector256.Create(Beta2); var ob2 = Vector256.Create(1f - Beta2);
                var c1 = Vector256.Create(C1); var c2 = Vector256.Create(C2);
                var lr = Vector256.Create(Lr); var eps = Vector256.Create(Eps); var wd = Vector256.Create(Wd);
                for (; i + 8 <= e; i += 8)
                {
                    var g = Vector256.Load(G + i);
                    var m = b1 * Vector256.Load(M + i) + ob1 * g;
                    var v = b2 * Vector256.Load(V + i) + ob2 * g * g;
                    m.Store(M + i); v.Store(V + i);
                    var p = Vector256.Load(P + i);
                    var mh = m / c1; var vh = v / c2;
                    (p - lr * (mh / (Vector256.Sqrt(vh) + eps) + wd * p)).Store(P + i);
                }
            }
            for (; i < e; i++)
            {
                float g = G[i];
                float m = M[i] = Beta1 * M[i] + (1f - Beta1) * g;
                float v = V[i] = Beta2 * V[i] + (1f - Beta2) * g * g;
                float mh = m / C1, vh = v / C2;
                P[i] -= Lr * (mh / (MathF.Sqrt(vh) + Eps) + Wd * P[i]);
            }
        }
    }

    public struct ScaleBody : IParallelBody
    {
        public float* X; public float S; public long N;
        public readonly void Execute(int start, int end, int worker)
        {
            long i = (long)start * Chunk; int len = (int)(Math.Min((long)end * Chunk, N) - i);
            var x = new Span<float>(X + i, len);
            TensorPrimitives.Multiply(x, S, x);
        }
    }

    /// <summary>Σ x² in double per chunk into Partial[chunk]; the caller adds the chunks in order (thread-count independent).</summary>
    public struct SumSquaresBody : IParallelBody
    {
        public float* X; public double* Partial; public long N;
        public readonly void Execute(int start, int end, int worker)
        {
            for (int chunk = start; chunk < end; chunk++)
            {
                long i = (long)chunk * Chunk, e = Math.Min(i + Chunk, N);
                double s = 0;
                if (Vector512.IsHardwareAccelerated)
                {
                    var acc = Vector512<double>.Zero;
                    for (; i + 16 <= e; i += 16)
                    {
                        var (lo, hi) = Vector512.Widen(Vector512.Load(X + i));
                        acc += lo * lo + hi * hi;
                    }
                    s = Vector512.Sum(acc);
                }
                for (; i < e; i++) s += (double)X[i] * X[i];
                Partial[chunk] = s;
            }
        }
    }
}
