// Finite-difference checks of every backward in ReferenceBackend: the loss is Σ out·g for a random g, so its gradient
// with respect to the output is g, and backward(g) must match central differences of the forward.
using static MLNetGpt.Tensors.Tests.TestUtil;

namespace MLNetGpt.Tensors.Tests;

[TestClass]
public sealed class ReferenceGradientTests
{
    private static readonly ReferenceBackend R = ReferenceBackend.Instance;

    [TestMethod]
    [DataRow(true, true)]
    [DataRow(false, true)]
    [DataRow(true, false)]
    public void MatMulBackwardMatchesFiniteDifferences(bool withBias, bool withDinput)
    {
        const int bt = 5, c = 7, oc = 6;
        var inp = Random(bt * c, 1); var w = Random(oc * c, 2); var bias = withBias ? Random(oc, 3) : [];
        var g = Random(bt * oc, 4);
        var outBuf = new float[bt * oc];
        double Loss() { R.MatMulForward(outBuf, inp, w, bias, bt, c, oc); return Dot(outBuf, g); }
        var dinp = withDinput ? Random(bt * c, 5) : []; var dinp0 = (float[])dinp.Clone();
        var dw = Random(oc * c, 6); var dw0 = (float[])dw.Clone();
        var db = withBias ? Random(oc, 7) : []; var db0 = (float[])db.Clone();
        R.MatMulBackward(dinp, dw, db, g, inp, w, bt, c, oc);
        // backward accumulates: subtract the initial contents to get this call's gradient
        if (withDinput) CheckGradient("dinp", inp, Sub(dinp, dinp0), Loss);
        CheckGradient("dweight", w, Sub(dw, dw0), Loss);
        if (withBias) CheckGradient("dbias", bias, Sub(db, db0), Loss);
    }

    [TestMethod]
    public void EncoderBackwardMatchesFiniteDifferences()
    {
        const int b = 2, t = 4, c = 5, v = 6;
        int[] tokens = [1, 3, 1, 5, 0, 1, 3, 3]; // repeats: gradients of shared rows must add up
        var wte = Random(v * c, 1); var wpe = Random(t * c, 2); var g = Random(b * t * c, 3);
        var outBuf = new float[b * t * c];
        double Loss() { R.EncoderForward(outBuf, tokens, wte, wpe, b, t, c); return Dot(outBuf, g); }
        var dwte = new float[v * c]; var dwpe = new float[t * c];
        R.EncoderBackward(dwte, dwpe, g, tokens, b, t, c);
        CheckGradient("dwte", wte, dwte, Loss);
        CheckGradient("dwpe", wpe, dwpe, Loss);
        Assert.AreEqual(0f, dwte[2 * c], "token 2 never appears, so its row gets no gradient");
    }

    [TestMethod]
    [DataRow(true)]
    [DataRow(false)]
    public void LayerNormBackwardMatchesFiniteDifferences(bool withBias)
    {
        const int n = 4, c = 9;
        var inp = Random(n * c, 1, 2f); var w = Random(c, 2); var bias = withBias ? Random(c, 3) : [];
        var g = Random(n * c, 4);
        var outBuf = new float[n * c]; var mean = new float[n]; var rstd = new float[n];
        double Loss() { R.LayerNormForward(outBuf, mean, rstd, inp, w, bias, n, c); return Dot(outBuf, g); }
        Loss();
        var dinp = new float[n * c]; var dw = new float[c]; var db = withBias ? new float[c] : [];
        R.LayerNormBackward(dinp, dw, db, g, inp, w, mean, rstd, n, c);
        CheckGradient("dinp", inp, dinp, Loss, h: 1e-2f, rtol: 2e-2);
        CheckGradient("dweight", w, dw, Loss);
        if (withBias) CheckGradient("dbias", bias, db, Loss);
        // mean and rstd are what they claim to be
        double m = 0; for (int k = 0; k < c; k++) m += inp[c + k]; m /= c;
        double var = 0; for (int k = 0; k < c; k++) var += (inp[c + k] - m) * (inp[c + k] - m); var /= c;
        Assert.AreEqual(m, mean[1], 1e-5);
        Assert.AreEqual(1 / Math.Sqrt(var + 1e-5), rstd[1], 1e-4);
    }

    [TestMethod]
    public void AttentionBackwardMatchesFiniteDifferences()
    {
        const int b = 2, t = 5, c = 8, nh = 2;
        var qkv = Random(b * t * 3 * c, 1); var g = Random(b * t * c, 2);
        var outBuf = new float[b * t * c]; var att = new float[b * nh * t * t];
        double Loss() { R.AttentionForward(outBuf, att, qkv, b, t, c, nh); return Dot(outBuf, g); }
        Loss();
        var dqkv = new float[qkv.Length];
        R.AttentionBackward(dqkv, g, qkv, att, b, t, c, nh);
        CheckGradient("dqkv", qkv, dqkv, Loss, h: 1e-2f, rtol: 2e-2);
        // probabilities: causal rows sum to one, the future is zero
        for (int row = 0; row < b * nh * t; row++)
        {
            int ti = row % t; double s = 0;
            for (int j = 0; j < t; j++) { s += att[row * t + j]; if (j > ti) Assert.AreEqual(0f, att[row * t + j]); }
            Assert.AreEqual(1.0, s, 1e-5);
        }
    }

    [TestMethod]
    [DataRow(8, 2, 9, 6)] [DataRow(64, 2, 16, 10)] [DataRow(128, 4, 64, 64)]
    public void AttentionCachedEqualsFullAttention(int c, int nh, int maxT, int t)
    {
        const int b = 2;
        int hs = c / nh;
        var qkv = Random(b * t * 3 * c, 11);
        var full = new float[b * t * c]; var att = new float[b * nh * t * t];
        R.AttentionForward(full, att, qkv, b, t, c, nh);
        // fill the caches (keys transposed per head: [B,NH,hs,maxT]; values [B,maxT,C]); query the last tn positions from pos = t-tn
        var kc = new float[b * maxT * c]; var vc = new float[b * maxT * c];
        for (int bi = 0; bi < b; bi++)
            for (int ti = 0; ti < t; ti++)
                for (int k = 0; k < c; k++)
                {
                    kc[((bi * nh + k / hs) * hs + k % hs) * maxT + ti] = qkv[(bi * t + ti) * 3 * c + c + k];
                    vc[(bi * maxT + ti) * c + k] = qkv[(bi * t + ti) * 3 * c + 2 * c + k];
                }
        foreach (int tn in new[] { 1, 2, Math.Min(5, t) })
        {
            var q = new float[b * tn * c];
            for (int bi = 0; bi < b; bi++)
                for (int ti = 0; ti < tn; ti++)
                    for (int k = 0; k < c; k++) q[(bi * tn + ti) * c + k] = qkv[(bi * t + t - tn + ti) * 3 * c + k];
            foreach (IComputeBackend be in new IComputeBackend[] { R, CpuBackend.Create(1), CpuBackend.Create(2) })
            {
                var o = new float[b * tn * c];
                be.AttentionForwardCached(o, q, kc, vc, [t - tn, t - tn], b, tn, maxT, c, nh);
                for (int bi = 0; bi < b; bi++)
                    for (int ti = 0; ti < tn; ti++)
                        for (int k = 0; k < c; k++)
                            Assert.AreEqual(full[(bi * t + t - tn + ti) * c + k], o[(bi * tn + ti) * c + k], 1e-5, $"{be.Name} tn={tn}");
            }
        }
    }

    [TestMethod]
    public void GeluBackwardMatchesFiniteDifferences()
    {
        const int n = 50;
        var x = Random(n, 1, 4f); var g = Random(n, 2);
        var outBuf = new float[n];
        double Loss() { R.GeluForward(outBuf, x, n); return Dot(outBuf, g); }
        var dx = Random(n, 3); var dx0 = (float[])dx.Clone();
        R.GeluBackward(dx, x, g, n);
        CheckGradient("dinp", x, Sub(dx, dx0), Loss, h: 1e-3f);
        // the derivative a training forward keeps, times dout, is the same gradient
        var kept = new float[n];
        R.GeluForward(new float[n], kept, x, n);
        for (int i = 0; i < n; i++) kept[i] *= g[i];
        CheckGradient("kept derivative · dout", x, kept, Loss, h: 1e-3f);
        // GELU(1) = 0.5(1 + tanh(√(2/π)·1.044715)) = 0.8411920...
        R.GeluForward(outBuf, [1f], 1);
        Assert.AreEqual(0.841192, outBuf[0], 1e-5);
    }

    [TestMethod]
    public void ReluBackwardMatchesFiniteDifferences()
    {
        const int n = 40;
        var x = Random(n, 1);
        for (int i = 0; i < n; i++) if (Math.Abs(x[i]) < 0.05f) x[i] = 0.5f; // stay away from the kink
        var g = Random(n, 2); var outBuf = new float[n];
        double Loss() { R.ReluForward(outBuf, x, n); return Dot(outBuf, g); }
        var dx = new float[n];
        R.ReluBackward(dx, x, g, n);
        CheckGradient("dinp", x, dx, Loss);
    }

    [TestMethod]
    public void ResidualBackwardMatchesFiniteDifferences()
    {
        const int n = 30;
        var a = Random(n, 1); var bb = Random(n, 2); var g = Random(n, 3); var outBuf = new float[n];
        double Loss() { R.ResidualForward(outBuf, a, bb, n); return Dot(outBuf, g); }
        var da = Random(n, 4); var da0 = (float[])da.Clone(); var db = new float[n];
        R.ResidualBackward(da, db, g, n);
        CheckGradient("da", a, Sub(da, da0), Loss);
        CheckGradient("db", bb, db, Loss);
    }

    [TestMethod]
    public void DropoutBackwardMatchesFiniteDifferencesAndMaskIsReproducible()
    {
        const int n = 2000; const float p = 0.3f; const ulong seed = 77;
        var x = Random(n, 1); var g = Random(n, 2); var outBuf = new float[n];
        double Loss() { R.DropoutForward(outBuf, x, p, seed, n); return Dot(outBuf, g); }
        var dx = new float[n];
        R.DropoutBackward(dx, g, p, seed, n);
        CheckGradient("dinp", x, dx, Loss);
        Loss();
        int dropped = 0;
        for (int i = 0; i < n; i++)
        {
            if (outBuf[i] == 0f) dropped++;
            else Assert.AreEqual(x[i] / (1 - p), outBuf[i], 1e-6);
        }
        Assert.AreEqual(p, dropped / (double)n, 0.04, "fraction dropped");
        var again = new float[n];
        R.DropoutForward(again, x, p, seed, n);
        AssertBitwise(outBuf, again, "same seed, same mask");
        R.DropoutForward(again, x, p, seed + 1, n);
        Assert.IsFalse(outBuf.AsSpan().SequenceEqual(again), "another seed gives another mask");
        R.DropoutForward(again, x, 0f, seed, n);
        AssertBitwise(x, again, "p = 0 copies");
    }

    [TestMethod]
    public void SoftmaxCrossEntropyBackwardMatchesFiniteDifferences()
    {
        const int bt = 4, v = 11;
        var logits = Random(bt * v, 1, 3f); int[] targets = [3, -1, 10, 0];
        var dl = Random(bt, 2); var losses = new float[bt]; var probs = new float[bt * v];
        double Loss() { R.SoftmaxCrossEntropyForward(losses, probs, logits, targets, bt, v); return Dot(losses, dl); }
        Loss();
        var dlogits = new float[bt * v];
        R.SoftmaxCrossEntropyBackward(dlogits, dl, probs, targets, bt, v);
        CheckGradient("dlogits", logits, dlogits, Loss, h: 1e-2f);
        Loss(); // the checker leaves probs from a perturbed evaluation
        Assert.AreEqual(0f, losses[1], "ignored row has zero loss");
        for (int j = 0; j < v; j++) Assert.AreEqual(0f, dlogits[v + j], "ignored row has no gradient");
        // loss is -log softmax[target], computed here independently in double
        double max = double.MinValue, sum = 0;
        for (int j = 0; j < v; j++) max = Math.Max(max, logits[j]);
        for (int j = 0; j < v; j++) sum += Math.Exp(logits[j] - max);
        Assert.AreEqual(-(logits[3] - max - Math.Log(sum)), losses[0], 1e-5);

        // in-place mode: probs aliases logits in forward, dlogits aliases probs in backward (written, not added)
        var buf = (float[])logits.Clone(); var losses2 = new float[bt];
        R.SoftmaxCrossEntropyForward(losses2, buf, buf, targets, bt, v);
        AssertClose(probs, buf, 1e-7, "in-place probs");
        AssertClose(losses, losses2, 1e-7, "in-place losses");
        R.SoftmaxCrossEntropyBackward(buf, dl, buf, targets, bt, v);
        AssertClose(dlogits, buf, 1e-7, "in-place dlogits");
    }

    [TestMethod]
    public void AdamWMatchesHandComputedSteps()
    {
        float[] p = [0.5f, -1.0f, 2.0f, 0f]; float[] m = [0.1f, 0f, -0.2f, 0f]; float[] v = [0.01f, 0f, 0.04f, 0f];
        float[] g = [0.2f, -0.3f, 0f, 1e-3f];
        const float lr = 1e-2f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f;
        var ep = p.Select(x => (double)x).ToArray(); var em = m.Select(x => (double)x).ToArray(); var ev = v.Select(x => (double)x).ToArray();
        for (int step = 1; step <= 2; step++)
        {
            float gs = step == 2 ? 0.5f : 1f; // the second step with a clip's gradient factor
            R.AdamW(p, g, m, v, lr, b1, b2, eps, wd, step, gs);
            for (int i = 0; i < p.Length; i++)
            {
                double gi = g[i] * (double)gs;
                em[i] = 0.9 * em[i] + 0.1 * gi;
                ev[i] = 0.95 * ev[i] + 0.05 * gi * gi;
                double mh = em[i] / (1 - Math.Pow(0.9, step)), vh = ev[i] / (1 - Math.Pow(0.95, step));
                ep[i] -= 0.01 * (mh / (Math.Sqrt(vh) + 1e-8) + 0.1 * ep[i]);
                Assert.AreEqual(em[i], m[i], 1e-6, $"m[{i}] step {step}");
                Assert.AreEqual(ev[i], v[i], 1e-7, $"v[{i}] step {step}");
                Assert.AreEqual(ep[i], p[i], 1e-5, $"param[{i}] step {step}");
            }
        }
    }

    [TestMethod]
    public void SumOfSquaresAndScale()
    {
        var x = Random(1001, 1);
        double expected = 0; foreach (var f in x) expected += (double)f * f;
        Assert.AreEqual(expected, R.SumOfSquares(x), 1e-9 * expected);
        var y = (float[])x.Clone();
        R.Scale(y, 0.5f);
        for (int i = 0; i < x.Length; i++) Assert.AreEqual(x[i] * 0.5f, y[i]);
    }

    internal static float[] Sub(float[] a, float[] b)
    {
        var r = new float[a.Length];
        for (int i = 0; i < a.Length; i++) r[i] = a[i] - b[i];
        return r;
    }
}
