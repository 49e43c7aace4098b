// Every fast CpuBackend kernel against ReferenceBackend at awkward sizes, with tolerances scaled by magnitude,
// and with 1 and 2 threads (results for a given thread count are also checked to be reproducible).
using static MLNetGpt.Tensors.Tests.TestUtil;

namespace MLNetGpt.Tensors.Tests;

[TestClass]
public sealed class CpuKernelTests
{
    private static readonly ReferenceBackend R = ReferenceBackend.Instance;
    private static readonly int[] Sizes = [0, 1, 3, 7, 15, 16, 17, 63, 64, 65, 127, 257, 1100]; // 1100: rows wider than the LayerNorm backward's 1024-channel buffer
    // created per use: inside Widths.At they take that width
    private static CpuBackend[] Backends => [CpuBackend.Create(1), CpuBackend.Create(2)];

    public static IEnumerable<object[]> SizeRows => Sizes.Select(s => new object[] { s });

    [TestMethod]
    [DynamicData(nameof(SizeRows))]
    public void ElementwiseKernelsMatchReference(int size)
    {
        int n = size * 67 + size % 5; // also cover lengths past one parallel chunk
        var x = Random(n, 1, 5f); var y = Random(n, 2); var d = Random(n, 3);
        foreach (var be in Backends)
        {
            Compare(n, (b, o) => b.GeluForward(o, x, n), be, 1e-5, "gelu");
            CompareAcc(n, (b, o) => b.GeluBackward(o, x, d, n), be, 1e-5, "gelu backward");
            // GELU keeping its derivative: into a separate buffer, and over its own input (training's layout)
            Compare(n, (b, o) => b.GeluForward(o, new float[n], x, n), be, 1e-5, "gelu (derivative kept)");
            Compare(n, (b, o) => b.GeluForward(new float[n], o, x, n), be, 1e-5, "gelu derivative");
            Compare(n, (b, o) => { x.CopyTo(o, 0); b.GeluForward(new float[n], o, o, n); }, be, 1e-5, "gelu derivative in place");
            Compare(n, (b, o) => b.ReluForward(o, x, n), be, 0, "relu");
            CompareAcc(n, (b, o) => b.ReluBackward(o, x, d, n), be, 0, "relu backward");
            Compare(n, (b, o) => b.ResidualForward(o, x, y, n), be, 0, "residual");
            Compare(n, (b, o) => b.DropoutForward(o, x, 0.25f, 42, n), be, 1e-7, "dropout");
            Compare(n, (b, o) => b.DropoutForward(o, x, 0f, 42, n), be, 0, "dropout p=0");
            CompareAcc(n, (b, o) => b.DropoutBackward(o, d, 0.25f, 42, n), be, 1e-7, "dropout backward");
            // fill: exactly the span, split over the threads like the row kernels
            foreach (float value in new[] { 0f, -1.5f })
            {
                var buf = Random(n + 2, 4);
                float before = buf[0], after = buf[n + 1];
                be.Fill(buf.AsSpan(1, n), value);
                Assert.AreEqual(before, buf[0], "fill wrote before its span");
                Assert.AreEqual(after, buf[n + 1], "fill wrote after its span");
                for (int i = 1; i <= n; i++) Assert.AreEqual(value, buf[i], $"fill[{i - 1}] of {n}");
            }
            // residual backward: two outputs
            var (ea, eb) = (Random(n, 5), Random(n, 6)); var (aa, ab) = ((float[])ea.Clone(), (float[])eb.Clone());
            R.ResidualBackward(ea, eb, d, n); be.ResidualBackward(aa, ab, d, n);
            AssertClose(ea, aa, 0, "residual backward a"); AssertClose(eb, ab, 0, "residual backward b");
            // adamw
            var (p1, m1, v1) = (Random(n, 7), Random(n, 8, 0.1f), Random(n, 9, 0.01f));
            for (int i = 0; i < n; i++) v1[i] = Math.Abs(v1[i]);
            var (p2, m2, v2) = ((float[])p1.Clone(), (float[])m1.Clone(), (float[])v1.Clone());
            R.AdamW(p1, d, m1, v1, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 3);
            be.AdamW(p2, d, m2, v2, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 3);
            AssertClose(p1, p2, 1e-6, "adamw param"); AssertClose(m1, m2, 1e-6, "adamw m"); AssertClose(v1, v2, 1e-6, "adamw v");
            // with the clip's gradient factor: the same as scaling the gradients first, bit for bit, and the gradients untouched
            var (p3, m3, v3, d3) = ((float[])p2.Clone(), (float[])m2.Clone(), (float[])v2.Clone(), (float[])d.Clone());
            be.Scale(d3, 0.37f);
            be.AdamW(p3, d3, m3, v3, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 4);
            var dBefore = (float[])d.Clone();
            be.AdamW(p2, d, m2, v2, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 4, 0.37f);
            AssertClose(p3, p2, 0, "adamw param, scaled gradients"); AssertClose(m3, m2, 0, "adamw m, scaled gradients");
            AssertClose(v3, v2, 0, "adamw v, scaled gradients"); AssertClose(dBefore, d, 0, "adamw left its gradients as they were");
            Assert.AreEqual(R.SumOfSquares(x), be.SumOfSquares(x), 1e-9 * (1 + R.SumOfSquares(x)), "sum of squares");
            var (s1, s2) = ((float[])x.Clone(), (float[])x.Clone());
            R.Scale(s1, 0.37f); be.Scale(s2, 0.37f);
            AssertClose(s1, s2, 0, "scale");
        }
    }

    [TestMethod]
    [DynamicData(nameof(SizeRows))]
    public void RowKernelsMatchReference(int size)
    {
        int c = Math.Max(size, 1), rows = 5, t = 5, b = 1, v = 11 + size;
        var x = Random(rows * c, 1, 3f); var w = Random(c, 2); var bias = Random(c, 3); var d = Random(rows * c, 4);
        foreach (var be in Backends)
        {
            // encoder with repeated tokens
            int[] tokens = [2, 0, 2, 1, 2];
            var wte = Random(3 * c, 5); var wpe = Random(t * c, 6);
            Compare(rows * c, (bk, o) => bk.EncoderForward(o, tokens, wte, wpe, b, t, c), be, 0, "encoder");
            var (e1, e2) = (Random(3 * c, 7), Random(t * c, 8)); var (a1, a2) = ((float[])e1.Clone(), (float[])e2.Clone());
            R.EncoderBackward(e1, e2, d, tokens, b, t, c); be.EncoderBackward(a1, a2, d, tokens, b, t, c);
            AssertClose(e1, a1, 1e-6, "encoder dwte"); AssertClose(e2, a2, 1e-6, "encoder dwpe");
            // layernorm with and without bias
            foreach (var bb in new[] { bias, Array.Empty<float>() })
            {
                var (o1, mu1, r1) = (new float[rows * c], new float[rows], new float[rows]);
                var (o2, mu2, r2) = (new float[rows * c], new float[rows], new float[rows]);
                R.LayerNormForward(o1, mu1, r1, x, w, bb, rows, c); be.LayerNormForward(o2, mu2, r2, x, w, bb, rows, c);
                AssertClose(o1, o2, 1e-5, "layernorm out"); AssertClose(mu1, mu2, 1e-6, "mean"); AssertClose(r1, r2, 1e-5, "rstd");
                var (di1, dw1, db1) = (Random(rows * c, 9), Random(c, 10), bb.Length == 0 ? [] : Random(c, 11));
                var (di2, dw2, db2) = ((float[])di1.Clone(), (float[])dw1.Clone(), (float[])db1.Clone());
                R.LayerNormBackward(di1, dw1, db1, d, x, w, mu1, r1, rows, c);
                be.LayerNormBackward(di2, dw2, db2, d, x, w, mu1, r1, rows, c);
                AssertClose(di1, di2, 1e-5, "layernorm dinp"); AssertClose(dw1, dw2, 1e-5, "layernorm dweight"); AssertClose(db1, db2, 1e-5, "layernorm dbias");
            }
            // softmax cross-entropy, incl. ignored rows and the in-place mode
            int bt = 4;
            var logits = Random(bt * v, 12, 4f); int[] targets = [0, -1, v - 1, v / 2];
            var (l1, p1) = (new float[bt], new float[bt * v]); var (l2, p2) = (new float[bt], new float[bt * v]);
            R.SoftmaxCrossEntropyForward(l1, p1, logits, targets, bt, v); be.SoftmaxCrossEntropyForward(l2, p2, logits, targets, bt, v);
            AssertClose(l1, l2, 1e-5, "losses"); AssertClose(p1, p2, 1e-6, "probs");
            var dl = Random(bt, 13);
            var (g1, g2) = (Random(bt * v, 14), (float[])Random(bt * v, 14));
            R.SoftmaxCrossEntropyBackward(g1, dl, p1, targets, bt, v); be.SoftmaxCrossEntropyBackward(g2, dl, p1, targets, bt, v);
            AssertClose(g1, g2, 1e-6, "dlogits");
            var buf = (float[])logits.Clone(); var l3 = new float[bt];
            be.SoftmaxCrossEntropyForward(l3, buf, buf, targets, bt, v);
            AssertClose(p1, buf, 1e-6, "in-place probs");
            be.SoftmaxCrossEntropyBackward(buf, dl, buf, targets, bt, v);
            var g3 = new float[bt * v];
            R.SoftmaxCrossEntropyBackward(g3, dl, p1, targets, bt, v);
            AssertClose(g3, buf, 1e-6, "in-place dlogits");
        }
    }

    public static IEnumerable<object[]> AttentionShapes =>
    [
        [1, 1, 16, 1], [2, 3, 16, 2], [1, 7, 12, 3], [2, 17, 32, 2], [1, 65, 64, 4], [1, 16, 48, 1], [0, 4, 8, 2], [2, 0, 8, 2], [1, 127, 24, 2],
        // head sizes that are multiples of 16 take the blocked kernels: T around the 4-row and 16-key blocks, hs up to 2 passes
        [2, 64, 128, 4], [1, 70, 128, 2], [1, 33, 160, 2], [3, 5, 64, 1], [1, 2, 32, 2], [1, 18, 96, 2], [1, 129, 64, 1],
        // and multiples of 8 (at 256-bit width on AVX-512): seed-tiny's heads of 8, and 24
        [3, 8, 32, 4], [2, 17, 32, 4], [1, 40, 48, 2], [2, 21, 72, 3],
    ];

    [TestMethod]
    [DynamicData(nameof(AttentionShapes))]
    public void AttentionMatchesReference(int b, int t, int c, int nh)
    {
        var qkv = Random(b * t * 3 * c, 1, 2f); var dout = Random(b * t * c, 2);
        var (o1, a1) = (new float[b * t * c], new float[b * nh * t * t]);
        R.AttentionForward(o1, a1, qkv, b, t, c, nh);
        var dq1 = Random(qkv.Length, 3);
        var dq0 = (float[])dq1.Clone();
        R.AttentionBackward(dq1, dout, qkv, a1, b, t, c, nh);
        float[]? firstOut = null, firstGrad = null;
        foreach (var be in Backends)
        {
            var (o2, a2) = (new float[b * t * c], Random(b * nh * t * t, 9));
            be.AttentionForward(o2, a2, qkv, b, t, c, nh);
            AssertClose(o1, o2, 1e-5, "attention out"); AssertClose(a1, a2, 1e-6, "att");
            var dq2 = (float[])dq0.Clone();
            be.AttentionBackward(dq2, dout, qkv, a1, b, t, c, nh);
            AssertClose(dq1, dq2, 1e-5, "dqkv");
            var again = (float[])dq0.Clone();
            be.AttentionBackward(again, dout, qkv, a1, b, t, c, nh);
            AssertBitwise(dq2, again, "attention backward is reproducible");
            if (firstOut is null) { firstOut = o2; firstGrad = dq2; continue; }
            AssertBitwise(firstOut, o2, "attention forward does not depend on the thread count");
            AssertBitwise(firstGrad!, dq2, "attention backward does not depend on the thread count");
        }
    }

    [TestMethod]
    [DataRow(1, 1, 1, 16, 2)] [DataRow(2, 1, 17, 16, 2)] [DataRow(3, 2, 65, 24, 3)] [DataRow(2, 7, 257, 64, 4)] [DataRow(0, 1, 4, 8, 1)]
    [DataRow(2, 1, 64, 128, 4)] [DataRow(1, 33, 64, 64, 1)] [DataRow(3, 5, 128, 96, 2)] [DataRow(40, 1, 64, 128, 4)] [DataRow(1, 64, 64, 160, 2)]
    [DataRow(3, 1, 32, 32, 4)] [DataRow(2, 9, 48, 48, 2)]
    public void CachedAttentionMatchesReference(int b, int tn, int maxT, int c, int nh)
    {
        var q = Random(b * tn * c, 1); var k = Random(b * maxT * c, 2); var v = Random(b * maxT * c, 3);
        var pos = Enumerable.Range(0, b).Select(i => (maxT - tn) * i / Math.Max(1, b - 1)).ToArray();
        var o1 = new float[b * tn * c];
        R.AttentionForwardCached(o1, q, k, v, pos, b, tn, maxT, c, nh);
        foreach (var be in Backends)
        {
            var o2 = new float[b * tn * c];
            be.AttentionForwardCached(o2, q, k, v, pos, b, tn, maxT, c, nh);
            AssertClose(o1, o2, 1e-5, "cached attention");
        }
    }

    [TestMethod]
    [DynamicData(nameof(SizeRows))]
    public void ElementwiseAndRowKernelsMatchReferenceAtEveryWidth(int size)
    {
        foreach (var width in Widths.Supported.Skip(1))
            Widths.At(width, () => { ElementwiseKernelsMatchReference(size); RowKernelsMatchReference(size); });
    }

    [TestMethod]
    [DynamicData(nameof(AttentionShapes))]
    public void AttentionMatchesReferenceAtEveryWidth(int b, int t, int c, int nh)
    {
        foreach (var width in Widths.Supported.Skip(1)) Widths.At(width, () => AttentionMatchesReference(b, t, c, nh));
    }

    [TestMethod]
    [DataRow(2, 1, 17, 16, 2)] [DataRow(2, 7, 257, 64, 4)] [DataRow(2, 1, 64, 128, 4)] [DataRow(1, 33, 64, 64, 1)] [DataRow(3, 5, 128, 96, 2)]
    [DataRow(40, 1, 64, 128, 4)] [DataRow(1, 64, 64, 160, 2)] [DataRow(3, 1, 32, 32, 4)] [DataRow(2, 9, 48, 48, 2)]
    public void CachedAttentionMatchesReferenceAtEveryWidth(int b, int tn, int maxT, int c, int nh)
    {
        foreach (var width in Widths.Supported.Skip(1)) Widths.At(width, () => CachedAttentionMatchesReference(b, tn, maxT, c, nh));
    }

    private static void Compare(int n, Action<IComputeBackend, float[]> run, CpuBackend be, double tol, string what)
    {
        var e = new float[n]; var a = new float[n];
        run(R, e); run(be, a);
        AssertClose(e, a, tol, what);
        var again = new float[n];
        run(be, again);
        AssertBitwise(a, again, what + " reproducible");
    }

    private static void CompareAcc(int n, Action<IComputeBackend, float[]> run, CpuBackend be, double tol, string what)
    {
        var e = Random(n, 99); var a = (float[])e.Clone();
        run(R, e); run(be, a);
        AssertClose(e, a, tol, what);
    }

    [TestMethod]
    public unsafe void TransposeBlocksMoveEveryElement()
    {
        // source and destination strides wider than the blocks, as the weight packing and attention pass them
        var src = Random(8 * 11, 1); var dst = Enumerable.Repeat(float.NaN, 8 * 13).ToArray();
        fixed (float* s = src, d = dst)
        {
            SimdMath.Transpose4x4(s, 11, d, 13);
            for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) Assert.AreEqual(src[j * 11 + i], dst[i * 13 + j], $"4x4 [{i},{j}]");
            if (!System.Runtime.Intrinsics.X86.Avx.IsSupported) return;
            SimdMath.Transpose8x8(s, 11, d, 13);
            for (int i = 0; i < 8; i++) for (int j = 0; j < 8; j++) Assert.AreEqual(src[j * 11 + i], dst[i * 13 + j], $"8x8 [{i},{j}]");
            for (int i = 0; i < 8; i++) for (int j = 8; j < 13; j++) Assert.IsTrue(float.IsNaN(dst[i * 13 + j]), "wrote past the block");
        }
    }
}
