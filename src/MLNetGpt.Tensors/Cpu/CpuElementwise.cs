// Fast elementwise kernels for CpuBackend (GELU, ReLU, residual, dropout, AdamW, scale, sum of squares): one generic loop
// per operation at the width CpuIsa picks (or TensorPrimitives, which picks its own), a scalar tail, parallel over fixed
// chunks of elements, so results never depend on threads.
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MLNetGpt.Tensors;

internal static unsafe class CpuElementwise
{
    /// <summary>Elements per parallel work item (small arrays run on the calling thread).</summary>
    public const int Chunk = 16384;

    public static int Chunks(long n) => (int)((n + Chunk - 1) / Chunk);

    private static readonly float GeluS = KernelConstants.GeluScale;

    /// <summary>Out = GELU(In) and, when Derivative is not null, Derivative = GELU'(In) (which may be In itself).</summary>
    public struct GeluForwardBody : IParallelBody
    {
        public float* Out, Derivative, In; public long N;
        public SimdWidth Width;

        public readonly void Execute(int start, int end, int worker)
        {
            long i = (long)start * Chunk, e = Math.Min((long)end * Chunk, N);
            bool keep = Derivative != null;
            i = Width switch
            {
                SimdWidth.Vector512 => keep ? Run<Simd512, Vector512<float>, Count1>(i, e) : Run<Simd512, Vector512<float>, Count0>(i, e),
                SimdWidth.Vector256 => keep ? Run<Simd256, Vector256<float>, Count1>(i, e) : Run<Simd256, Vector256<float>, Count0>(i, e),
                SimdWidth.Vector128 => keep ? Run<Simd128, Vector128<float>, Count1>(i, e) : Run<Simd128, Vector128<float>, Count0>(i, e),
                _ => i,
            };
            for (; i < e; i++)
            {
                float x = In[i];
                float th = MathF.Tanh(GeluS * (x + 0.044715f * x * x * x));
                Out[i] = 0.5f * x * (1f + th);
                if (keep) Derivative[i] = 0.5f * (1f + th) + 0.5f * x * (1f - th * th) * GeluS * (1f + 3f * 0.044715f * x * x);
            }
        }

        // 0.5·x·(1 + tanh(u)) = x·σ(2u) = x / (1 + e), e = e^(−2u): one exp and one division per element. TKeep.Value = 1
        // also stores the derivative σ + x·σ·(e·σ)·2u' (see GeluBackwardBody) from the same e and σ. The constants are
        // folded so that −2u = x·(c1 + c2·x²) and 2u' = d1 + d2·x² are an FMA each, and x·σ is shared with the output:
        // 30 vector operations a vector instead of 38 (AVX2, Zen 4, 393,216 elements: 0.325 → 0.27 ms, ~20 cycles a vector,
        // where the stores to a 1.5 MB output beyond L2 now weigh as much as the arithmetic).
        private readonly long Run<TOps, TVec, TKeep>(long i, long e) where TOps : ISimd<TVec> where TVec : struct where TKeep : struct, IStaticCount
        {
            var c1 = TOps.Broadcast(-2f * GeluS); var c2 = TOps.Broadcast(-2f * GeluS * 0.044715f); var one = TOps.Broadcast(1f);
            var d1 = TOps.Broadcast(2f * GeluS); var d2 = TOps.Broadcast(2f * GeluS * 3f * 0.044715f);
            bool keep = TKeep.Value != 0;
            int w = TOps.Count;
            // Two independent vectors per iteration, written out interleaved (the one-vector loop below repeats the formula
            // on purpose): one GELU is a chain of ~25 dependent operations and the core overlaps two. The same formula in an
            // inlined helper called twice ran 10-15 % slower at AVX2 and SSE (the JIT emits the two chains one after the other).
            for (; i + 2 * w <= e; i += 2 * w)
            {
                var x0 = TOps.Load(In + i); var x1 = TOps.Load(In + i + w);
                var q0 = TOps.Multiply(x0, x0); var q1 = TOps.Multiply(x1, x1);
                var e0 = SimdMath.Exp<TOps, TVec>(TOps.Multiply(x0, TOps.MultiplyAdd(c2, q0, c1)));
                var e1 = SimdMath.Exp<TOps, TVec>(TOps.Multiply(x1, TOps.MultiplyAdd(c2, q1, c1)));
                var g0 = TOps.Reciprocal(TOps.Add(one, e0)); var g1 = TOps.Reciprocal(TOps.Add(one, e1));
                var o0 = TOps.Multiply(x0, g0); var o1 = TOps.Multiply(x1, g1);
                TOps.Store(o0, Out + i);
                TOps.Store(o1, Out + i + w);
                if (keep)
                {
                    TOps.Store(TOps.MultiplyAdd(TOps.Multiply(o0, TOps.Multiply(e0, g0)), TOps.MultiplyAdd(d2, q0, d1), g0), Derivative + i);
                    TOps.Store(TOps.MultiplyAdd(TOps.Multiply(o1, TOps.Multiply(e1, g1)), TOps.MultiplyAdd(d2, q1, d1), g1), Derivative + i + w);
                }
            }
            for (; i + TOps.Count <= e; i += TOps.Count)
            {
                var x = TOps.Load(In + i);
                var q = TOps.Multiply(x, x);
                var ex = SimdMath.Exp<TOps, TVec>(TOps.Multiply(x, TOps.MultiplyAdd(c2, q, c1)));
                var g = TOps.Reciprocal(TOps.Add(one, ex));
                var o = TOps.Multiply(x, g);
                TOps.Store(o, Out + i);
                if (keep) TOps.Store(TOps.MultiplyAdd(TOps.Multiply(o, TOps.Multiply(ex, g)), TOps.MultiplyAdd(d2, q, d1), g), Derivative + i);
            }
            return i;
        }
    }

    public struct GeluBackwardBody : IParallelBody
    {
        public float* Din, In, Dout; public long N;
        public SimdWidth Width;

        public readonly void Execute(int start, int end, int worker)
        {
            long i = (long)start * Chunk, e = Math.Min((long)end * Chunk, N);
            i = Width switch
            {
                SimdWidth.Vector512 => Run<Simd512, Vector512<float>>(i, e),
                SimdWidth.Vector256 => Run<Simd256, Vector256<float>>(i, e),
                SimdWidth.Vector128 => Run<Simd128, Vector128<float>>(i, e),
                _ => i,
            };
            for (; i < e; i++)
            {
                float x = In[i];
                float th = MathF.Tanh(GeluS * (x + 0.044715f * x * x * x));
                float grad = 0.5f * (1f + th) + 0.5f * x * (1f - th * th) * GeluS * (1f + 3f * 0.044715f * x * x);
                Din[i] += grad * Dout[i];
            }
        }

        // With σ = σ(2u) = 0.5·(1 + tanh u) = 1/(1 + e), e = e^(−2u): d/dx [x·σ] = σ + 2·x·σ·(1 − σ)·u', u' = S·(1 + 3a·x²).
        private readonly long Run<TOps, TVec>(long i, long e) where TOps : ISimd<TVec> where TVec : struct
        {
            var s = TOps.Broadcast(GeluS); var s2 = TOps.Broadcast(-2f * GeluS); var a = TOps.Broadcast(0.044715f);
            var a3 = TOps.Broadcast(3f * 0.044715f); var one = TOps.Broadcast(1f); var two = TOps.Broadcast(2f);
            int w = TOps.Count;
            for (; i + 2 * w <= e; i += 2 * w) // two independent chains interleaved, as in the forward
            {
                var x0 = TOps.Load(In + i); var x1 = TOps.Load(In + i + w);
                var q0 = TOps.Multiply(x0, x0); var q1 = TOps.Multiply(x1, x1);
                var e0 = SimdMath.Exp<TOps, TVec>(TOps.Multiply(s2, TOps.Add(x0, TOps.Multiply(TOps.Multiply(a, q0), x0))));
                var e1 = SimdMath.Exp<TOps, TVec>(TOps.Multiply(s2, TOps.Add(x1, TOps.Multiply(TOps.Multiply(a, q1), x1))));
                var g0 = TOps.Reciprocal(TOps.Add(one, e0)); var g1 = TOps.Reciprocal(TOps.Add(one, e1));
                var d0 = TOps.Multiply(s, TOps.Add(one, TOps.Multiply(a3, q0))); var d1 = TOps.Multiply(s, TOps.Add(one, TOps.Multiply(a3, q1)));
                var r0 = TOps.Add(g0, TOps.Multiply(TOps.Multiply(TOps.Multiply(TOps.Multiply(two, x0), g0), TOps.Multiply(e0, g0)), d0));
                var r1 = TOps.Add(g1, TOps.Multiply(TOps.Multiply(TOps.Multiply(TOps.Multiply(two, x1), g1), TOps.Multiply(e1, g1)), d1));
                TOps.Store(TOps.Add(TOps.Load(Din + i), TOps.Multiply(r0, TOps.Load(Dout + i))), Din + i);
                TOps.Store(TOps.Add(TOps.Load(Din + i + w), TOps.Multiply(r1, TOps.Load(Dout + i + w))), Din + i + w);
            }
            for (; i + w <= e; i += w)
            {
                var x = TOps.Load(In + i);
                var x2 = TOps.Multiply(x, x);
                var ex = SimdMath.Exp<TOps, TVec>(TOps.Multiply(s2, TOps.Add(x, TOps.Multiply(TOps.Multiply(a, x2), x))));
                var sg = TOps.Reciprocal(TOps.Add(one, ex));
                var du = TOps.Multiply(s, TOps.Add(one, TOps.Multiply(a3, x2)));
                // 1 − σ as e·σ, not a difference: an estimated reciprocal may round σ to just below 1 where the exact
                // one gives 1, and at x = 20 the factor 2x·u' = 1700 would turn that last bit into 1e-4 of gradient
                var grad = TOps.Add(sg, TOps.Multiply(TOps.Multiply(TOps.Multiply(TOps.Multiply(two, x), sg), TOps.Multiply(ex, sg)), du));
                TOps.Store(TOps.Add(TOps.Load(Din + i), TOps.Multiply(grad, TOps.Load(Dout + i))), Din + i);
            }
            return i;
        }
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
        public SimdWidth Width;

        public readonly void Execute(int start, int end, int worker)
        {
            long i = (long)start * Chunk, e = Math.Min((long)end * Chunk, N);
            i = Width switch
            {
                SimdWidth.Vector512 => Run<Simd512, Vector512<float>>(i, e),
                SimdWidth.Vector256 => Run<Simd256, Vector256<float>>(i, e),
                SimdWidth.Vector128 => Run<Simd128, Vector128<float>>(i, e),
                _ => i,
            };
            for (; i < e; i++) if (In[i] > 0) Din[i] += Dout[i];
        }

        private readonly long Run<TOps, TVec>(long i, long e) where TOps : ISimd<TVec> where TVec : struct
        {
            for (; i + TOps.Count <= e; i += TOps.Count)
                TOps.Store(TOps.Add(TOps.Load(Din + i), TOps.WherePositive(TOps.Load(In + i), TOps.Load(Dout + i))), Din + i);
            return i;
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
        public SimdWidth Width;
        /// <summary>The gradients' factor (the norm clip's; 1: none).</summary>
        public float Gs;
        /// <summary>1 / (1 − β1^step) and 1 / (1 − β2^step): the bias corrections as multiplies.</summary>
        public float Lr, Beta1, Beta2, Eps, Wd, Rc1, Rc2;

        public readonly void Execute(int start, int end, int worker)
        {
            long i = (long)start * Chunk, e = Math.Min((long)end * Chunk, N);
            i = Width switch
            {
                SimdWidth.Vector512 => Run<Simd512, Vector512<float>>(i, e),
                SimdWidth.Vector256 => Run<Simd256, Vector256<float>>(i, e),
                SimdWidth.Vector128 => Run<Simd128, Vector128<float>>(i, e),
                _ => i,
            };
            for (; i < e; i++)
            {
                float g = G[i] * Gs;
                float m = M[i] = Beta1 * M[i] + (1f - Beta1) * g;
                float v = V[i] = Beta2 * V[i] + (1f - Beta2) * g * g;
                float mh = m * Rc1, vh = v * Rc2;
                P[i] -= Lr * (mh / (MathF.Sqrt(vh) + Eps) + Wd * P[i]);
            }
        }

        // The scalar tail's formula, operation for operation (products, then sums; no fused multiply-adds), so every element
        // gets the same bits whichever loop updates it. The bias corrections multiply by reciprocals (the reference divides):
        // the update was bound by the divider, with three divisions and a square root a vector; one of each is left
        // (AVX2, Zen 4, nanogpt-cpu's 804,096 parameters: 0.42 → 0.28 ms, `MLNetGpt.Bench elementwise`).
        private readonly long Run<TOps, TVec>(long i, long e) where TOps : ISimd<TVec> where TVec : struct
        {
            var b1 = TOps.Broadcast(Beta1); var ob1 = TOps.Broadcast(1f - Beta1);
            var b2 = TOps.Broadcast(Beta2); var ob2 = TOps.Broadcast(1f - Beta2);
            var c1 = TOps.Broadcast(Rc1); var c2 = TOps.Broadcast(Rc2);
            var lr = TOps.Broadcast(Lr); var eps = TOps.Broadcast(Eps); var wd = TOps.Broadcast(Wd); var gs = TOps.Broadcast(Gs);
            for (; i + TOps.Count <= e; i += TOps.Count)
            {
                var g = TOps.Multiply(TOps.Load(G + i), gs);
                var m = TOps.Add(TOps.Multiply(b1, TOps.Load(M + i)), TOps.Multiply(ob1, g));
                var v = TOps.Add(TOps.Multiply(b2, TOps.Load(V + i)), TOps.Multiply(TOps.Multiply(ob2, g), g));
                TOps.Store(m, M + i); TOps.Store(v, V + i);
                var p = TOps.Load(P + i);
                var mh = TOps.Multiply(m, c1); var vh = TOps.Multiply(v, c2);
                var step = TOps.Add(TOps.Divide(mh, TOps.Add(TOps.Sqrt(vh), eps)), TOps.Multiply(wd, p));
                TOps.Store(TOps.Subtract(p, TOps.Multiply(lr, step)), P + i);
            }
            return i;
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

    public struct FillBody : IParallelBody
    {
        public float* X; public float Value; public long N;
        public readonly void Execute(int start, int end, int worker)
        {
            long i = (long)start * Chunk; int len = (int)(Math.Min((long)end * Chunk, N) - i);
            var x = new Span<float>(X + i, len);
            if (Value == 0f) x.Clear(); // memset: at 128-bit widths Fill(0) took 1.6× as long
            else x.Fill(Value);
        }
    }

    /// <summary>Σ x² in double per chunk into Partial[chunk]; the caller adds the chunks in order (thread-count independent).</summary>
    public struct SumSquaresBody : IParallelBody
    {
        public float* X; public double* Partial; public long N;
        public SimdWidth Width;

        // Each float is widened to double before it is squared, so the result is exact to double rounding whatever the
        // width; the widths differ only in the order of the partial sums.
        public readonly void Execute(int start, int end, int worker)
        {
            for (int chunk = start; chunk < end; chunk++)
            {
                long i = (long)chunk * Chunk, e = Math.Min(i + Chunk, N);
                double s = 0;
                if (Width == SimdWidth.Vector512)
                {
                    var acc = Vector512<double>.Zero;
                    for (; i + 16 <= e; i += 16)
                    {
                        var (lo, hi) = Vector512.Widen(Vector512.Load(X + i));
                        acc += lo * lo + hi * hi;
                    }
                    s = Vector512.Sum(acc);
                }
                else if (Width == SimdWidth.Vector256)
                {
                    var acc = Vector256<double>.Zero;
                    for (; i + 8 <= e; i += 8)
                    {
                        var (lo, hi) = Vector256.Widen(Vector256.Load(X + i));
                        acc += lo * lo + hi * hi;
                    }
                    s = Vector256.Sum(acc);
                }
                else if (Width == SimdWidth.Vector128)
                {
                    var acc = Vector128<double>.Zero;
                    for (; i + 4 <= e; i += 4)
                    {
                        var (lo, hi) = Vector128.Widen(Vector128.Load(X + i));
                        acc += lo * lo + hi * hi;
                    }
                    s = Vector128.Sum(acc);
                }
                for (; i < e; i++) s += (double)X[i] * X[i];
                Partial[chunk] = s;
            }
        }
    }
}
