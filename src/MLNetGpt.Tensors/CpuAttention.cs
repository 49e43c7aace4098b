// Fast causal self-attention for CpuBackend, parallel over (batch, head) pairs: each pair owns disjoint slices of out, att
// and dqkv, and inside a pair the order of operations is fixed, so results do not depend on the thread count.
// Backward and cached attention use per-worker scratch rows (no allocation).
// Size legend: B batch, T time, C channels, NH heads, hs = C/NH head size.
using System.Numerics.Tensors;

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
                    var q = new ReadOnlySpan<float>(qkvB + (long)ti * c3 + h * hs, hs);
                    var row = new Span<float>(Att + ((long)pair * t + ti) * t, t);
                    for (int t2 = 0; t2 <= ti; t2++)
                        row[t2] = TensorPrimitives.Dot(q, new ReadOnlySpan<float>(qkvB + (long)t2 * c3 + c + h * hs, hs)) * scale;
                    var live = row[..(ti + 1)];
                    float max = TensorPrimitives.Max(live);
                    TensorPrimitives.Subtract(live, max, live);
                    TensorPrimitives.Exp(live, live);
                    TensorPrimitives.Multiply(live, 1f / TensorPrimitives.Sum(live), live);
                    row[(ti + 1)..].Clear();
                    var o = new Span<float>(Out + ((long)b * t + ti) * c + h * hs, hs);
                    o.Clear();
                    for (int t2 = 0; t2 <= ti; t2++)
                        TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(qkvB + (long)t2 * c3 + 2 * c + h * hs, hs), row[t2], o, o);
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
                    var dout = new ReadOnlySpan<float>(Dout + ((long)b * t + ti) * c + h * hs, hs);
                    var d = new Span<float>(datt, ti + 1);
                    // out = Σ att·v  →  datt[t2] = dout·v[t2], dv[t2] += att[t2]·dout
                    for (int t2 = 0; t2 <= ti; t2++)
                    {
                        long vOff = (long)t2 * c3 + 2 * c + h * hs;
                        d[t2] = TensorPrimitives.Dot(dout, new ReadOnlySpan<float>(qkvB + vOff, hs));
                        var dv = new Span<float>(dqkvB + vOff, hs);
                        TensorPrimitives.MultiplyAdd(dout, row[t2], dv, dv);
                    }
                    // softmax backward: dpre = att·(datt - Σ att·datt), folded with the 1/sqrt(hs) scale
                    float dot = TensorPrimitives.Dot(row, d);
                    TensorPrimitives.Subtract(d, dot, d);
                    TensorPrimitives.Multiply(d, row, d);
                    TensorPrimitives.Multiply(d, scale, d);
                    long qOff = (long)ti * c3 + h * hs;
                    var q = new ReadOnlySpan<float>(qkvB + qOff, hs);
                    var dq = new Span<float>(dqkvB + qOff, hs);
                    for (int t2 = 0; t2 <= ti; t2++)
                    {
                        long kOff = (long)t2 * c3 + c + h * hs;
                        TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(qkvB + kOff, hs), d[t2], dq, dq);
                        var dk = new Span<float>(dqkvB + kOff, hs);
                        TensorPrimitives.MultiplyAdd(q, d[t2], dk, dk);
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
                    var q = new ReadOnlySpan<float>(Q + ((long)b * Tn + ti) * c + h * hs, hs);
                    var s = new Span<float>(scores, p + 1);
                    for (int t2 = 0; t2 <= p; t2++)
                        s[t2] = TensorPrimitives.Dot(q, new ReadOnlySpan<float>(K + ((long)b * MaxT + t2) * c + h * hs, hs)) * scale;
                    float max = TensorPrimitives.Max(s);
                    TensorPrimitives.Subtract(s, max, s);
                    TensorPrimitives.Exp(s, s);
                    TensorPrimitives.Multiply(s, 1f / TensorPrimitives.Sum(s), s);
                    var o = new Span<float>(Out + ((long)b * Tn + ti) * c + h * hs, hs);
                    o.Clear();
                    for (int t2 = 0; t2 <= p; t2++)
                        TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(V + ((long)b * MaxT + t2) * c + h * hs, hs), s[t2], o, o);
                }
            }
        }
    }
}
