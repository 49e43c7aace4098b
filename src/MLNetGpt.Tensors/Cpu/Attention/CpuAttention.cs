// Fast causal self-attention for CpuBackend, parallel over (batch, head) pairs: each pair owns disjoint slices of out, att
// and dqkv, and inside a pair the order of operations is fixed, so results do not depend on the thread count.
// Backward and cached attention use per-worker scratch rows (no allocation). These row kernels serve head sizes that are
// not a multiple of 8 (CpuAttentionBlocked takes the rest); like TensorPrimitives, which they call, they run at the
// hardware's widest vectors rather than the backend's width, so their bits depend on the machine, not on DOTNET_Enable*.
// Size legend: B batch, T time, C channels, NH heads, hs = C/NH head size.
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MLNetGpt.Tensors;

internal static unsafe class CpuAttention
{
    public struct ForwardBody : IParallelBody
    {
        public float* Out, Att, Qkv; public int T, C, NH;
        public readonly void Execute(int start, int end, int worker)
        {
            int t = T, c = C, nh = NH, hs = c / nh, c3 = 3 * c;
            float scale = 1f / MathF.Sqrt(hs);
            for (int pair = start; pair < end; pair++)
            {
                int b = pair / nh, h = pair % nh;
                float* qkvB = Qkv + (long)b * t * c3;
                for (int ti = 0; ti < t; ti++)
                {
                    var row = new Span<float>(Att + ((long)pair * t + ti) * t, t);
                    float* qp = qkvB + (long)ti * c3 + h * hs;
                    for (int t2 = 0; t2 <= ti; t2++)
                        row[t2] = Dot(qp, qkvB + (long)t2 * c3 + c + h * hs, hs) * scale;
                    var live = row[..(ti + 1)];
                    float max = TensorPrimitives.Max(live);
                    TensorPrimitives.Subtract(live, max, live);
                    TensorPrimitives.Exp(live, live);
                    TensorPrimitives.Multiply(live, 1f / TensorPrimitives.Sum(live), live);
                    row[(ti + 1)..].Clear();
                    float* o = Out + ((long)b * t + ti) * c + h * hs;
                    new Span<float>(o, hs).Clear();
                    for (int t2 = 0; t2 <= ti; t2++)
                        Axpy(o, qkvB + (long)t2 * c3 + 2 * c + h * hs, row[t2], hs);
                }
            }
        }
    }

    public struct BackwardBody : IParallelBody
    {
        public float* Dqkv, Dout, Qkv, Att; public int T, C, NH; public Scratch Scratch;
        public readonly void Execute(int start, int end, int worker)
        {
            int t = T, c = C, nh = NH, hs = c / nh, c3 = 3 * c;
            float scale = 1f / MathF.Sqrt(hs);
            float* datt = Scratch.Worker(worker);
            for (int pair = start; pair < end; pair++)
            {
                int b = pair / nh, h = pair % nh;
                float* qkvB = Qkv + (long)b * t * c3, dqkvB = Dqkv + (long)b * t * c3;
                for (int ti = 0; ti < t; ti++)
                {
                    var row = new ReadOnlySpan<float>(Att + ((long)pair * t + ti) * t, ti + 1);
                    var d = new Span<float>(datt, ti + 1);
                    // out = Σ att·v  →  datt[t2] = dout·v[t2], dv[t2] += att[t2]·dout
                    float* doutp = Dout + ((long)b * t + ti) * c + h * hs;
                    for (int t2 = 0; t2 <= ti; t2++)
                    {
                        long vOff = (long)t2 * c3 + 2 * c + h * hs;
                        d[t2] = Dot(doutp, qkvB + vOff, hs);
                        Axpy(dqkvB + vOff, doutp, row[t2], hs);
                    }
                    // softmax backward: dpre = att·(datt - Σ att·datt), folded with the 1/sqrt(hs) scale
                    float dot = TensorPrimitives.Dot(row, d);
                    TensorPrimitives.Subtract(d, dot, d);
                    TensorPrimitives.Multiply(d, row, d);
                    TensorPrimitives.Multiply(d, scale, d);
                    long qOff = (long)ti * c3 + h * hs;
                    float* qp = qkvB + qOff, dqp = dqkvB + qOff;
                    for (int t2 = 0; t2 <= ti; t2++)
                    {
                        long kOff = (long)t2 * c3 + c + h * hs;
                        Axpy(dqp, qkvB + kOff, d[t2], hs);
                        Axpy(dqkvB + kOff, qp, d[t2], hs);
                    }
                }
            }
        }
    }

    public struct CachedBody : IParallelBody
    {
        public float* Out, Q, K, V; public int* Pos; public int Tn, MaxT, C, NH; public Scratch Scratch;
        public readonly void Execute(int start, int end, int worker)
        {
            int c = C, nh = NH, hs = c / nh;
            float scale = 1f / MathF.Sqrt(hs);
            float* scores = Scratch.Worker(worker);
            for (int pair = start; pair < end; pair++)
            {
                int b = pair / nh, h = pair % nh;
                for (int ti = 0; ti < Tn; ti++)
                {
                    int p = Pos[b] + ti; // keys 0..p are visible
                    var s = new Span<float>(scores, p + 1);
                    float* qp = Q + ((long)b * Tn + ti) * c + h * hs;
                    float* kh = K + (long)(b * nh + h) * hs * MaxT; // [hs, maxT]: keys transposed
                    for (int t2 = 0; t2 <= p; t2++)
                    {
                        float dot = 0;
                        for (int i = 0; i < hs; i++) dot += qp[i] * kh[(long)i * MaxT + t2];
                        s[t2] = dot * scale;
                    }
                    float max = TensorPrimitives.Max(s);
                    TensorPrimitives.Subtract(s, max, s);
                    TensorPrimitives.Exp(s, s);
                    TensorPrimitives.Multiply(s, 1f / TensorPrimitives.Sum(s), s);
                    float* o = Out + ((long)b * Tn + ti) * c + h * hs;
                    new Span<float>(o, hs).Clear();
                    for (int t2 = 0; t2 <= p; t2++)
                        Axpy(o, V + ((long)b * MaxT + t2) * c + h * hs, s[t2], hs);
                }
            }
        }
    }

    // Σ a·b over one head (hs is small, typically 64): Vector512 chunks, then scalar; no per-call overhead.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(float* a, float* b, int n)
    {
        int i = 0;
        float s = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var acc = Vector512.Load(a) * Vector512.Load(b);
            for (i = 16; i + 16 <= n; i += 16) acc = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc);
            s = Vector512.Sum(acc);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var acc = Vector256.Load(a) * Vector256.Load(b);
            for (i = 8; i + 8 <= n; i += 8) acc = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc);
            s = Vector256.Sum(acc);
        }
        for (; i < n; i++) s += a[i] * b[i];
        return s;
    }

    // y += a·x over one head.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy(float* y, float* x, float a, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var av = Vector512.Create(a);
            for (; i + 16 <= n; i += 16) Vector512.FusedMultiplyAdd(Vector512.Load(x + i), av, Vector512.Load(y + i)).Store(y + i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var av = Vector256.Create(a);
            for (; i + 8 <= n; i += 8) Vector256.FusedMultiplyAdd(Vector256.Load(x + i), av, Vector256.Load(y + i)).Store(y + i);
        }
        for (; i < n; i++) y[i] += a * x[i];
    }
}
