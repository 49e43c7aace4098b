// Every CudaBackend kernel, forward and backward, against ReferenceBackend on ILGPU's CPU accelerator, at awkward sizes
// (odd B and T, C not a multiple of 4, 8 or the group size, several heads of odd size, odd V). Each test runs twice: with
// plain arrays (staged: copied in and out on every call) and with every array attached (device mirrors, synced explicitly).
namespace MLNetGpt.Tensors.Cuda.Tests;

[TestClass]
public sealed class CudaKernelTests
{
    private static readonly ReferenceBackend Ref = ReferenceBackend.Instance;
    private static CudaBackend Gpu => Tests.Gpu.Backend;

    // Tolerance: kernels that reduce (sums over C, T or V) add in another order than the reference: a few float roundings.
    private const double Tol = 1e-5;

    /// <summary>Runs <paramref name="op"/> on the GPU backend, with <paramref name="arrays"/> attached first when asked.</summary>
    private static void OnGpu(bool attached, Action op, params float[][] arrays)
    {
        if (!attached) { op(); return; }
        foreach (var a in arrays) Gpu.Attach(a);
        try
        {
            op();
            foreach (var a in arrays) Gpu.CopyToHost(a);
        }
        finally
        {
            foreach (var a in arrays) Gpu.Detach(a);
        }
    }

    [TestMethod]
    [DataRow(21, 20, 60, false)] [DataRow(21, 20, 60, true)] [DataRow(1, 65, 37, false)] [DataRow(7, 257, 3, true)] [DataRow(0, 4, 4, false)]
    public void MatMulForwardAndPackedMatchReference(int bt, int c, int oc, bool attached)
    {
        var x = Tests.Gpu.Random(bt * c, 1);
        var w = Tests.Gpu.Random(oc * c, 2);
        var bias = Tests.Gpu.Random(oc, 3);
        var expected = new float[bt * oc];
        Ref.MatMulForward(expected, x, w, bias, bt, c, oc);
        var actual = new float[bt * oc + 5]; // longer than needed: the tail must stay untouched
        actual.AsSpan(bt * oc).Fill(42f);
        var packed = new float[PackedWeight.Length(c, oc)];
        var viaPacked = new float[bt * oc];
        var noBias = new float[bt * oc];
        OnGpu(attached, () =>
        {
            Gpu.MatMulForward(actual, x, w, bias, bt, c, oc);
            Gpu.PackMatMulWeight(packed, w, c, oc);
            Gpu.MatMulForwardPacked(viaPacked, x, packed, bias, bt, c, oc);
            Gpu.MatMulForward(noBias, x, w, [], bt, c, oc);
        }, x, w, bias, actual, packed, viaPacked, noBias);
        Tests.Gpu.AssertClose(expected, actual.AsSpan(0, bt * oc), Tol, "out");
        Assert.IsTrue(actual.AsSpan(bt * oc).ToArray().All(v => v == 42f), "elements past the output were written");
        Tests.Gpu.AssertBitwise(actual.AsSpan(0, bt * oc), viaPacked, "packed vs unpacked");
        var expectedNoBias = new float[bt * oc];
        Ref.MatMulForward(expectedNoBias, x, w, [], bt, c, oc);
        Tests.Gpu.AssertClose(expectedNoBias, noBias, Tol, "out without bias");
    }

    [TestMethod]
    [DataRow(21, 20, 60, false)] [DataRow(21, 20, 60, true)] [DataRow(130, 7, 37, false)] [DataRow(3, 257, 5, true)]
    public void MatMulBackwardMatchesReference(int bt, int c, int oc, bool attached)
    {
        var x = Tests.Gpu.Random(bt * c, 1);
        var w = Tests.Gpu.Random(oc * c, 2);
        var dout = Tests.Gpu.Random(bt * oc, 3);
        // gradients start non-zero: backward must add
        float[] di0 = Tests.Gpu.Random(bt * c, 4), dw0 = Tests.Gpu.Random(oc * c, 5), db0 = Tests.Gpu.Random(oc, 6);
        float[] edi = (float[])di0.Clone(), edw = (float[])dw0.Clone(), edb = (float[])db0.Clone();
        Ref.MatMulBackward(edi, edw, edb, dout, x, w, bt, c, oc);
        float[] di = (float[])di0.Clone(), dw = (float[])dw0.Clone(), db = (float[])db0.Clone();
        float[] dw2 = (float[])dw0.Clone();
        OnGpu(attached, () =>
        {
            Gpu.MatMulBackward(di, dw, db, dout, x, w, bt, c, oc);
            Gpu.MatMulBackward([], dw2, [], dout, x, w, bt, c, oc); // first layer, no bias
        }, x, w, dout, di, dw, db, dw2);
        Tests.Gpu.AssertClose(edi, di, Tol, "dinput");
        Tests.Gpu.AssertClose(edw, dw, Tol, "dweight");
        Tests.Gpu.AssertClose(edb, db, Tol, "dbias");
        Tests.Gpu.AssertClose(edw, dw2, Tol, "dweight without dinput/dbias");

        // the input gradient assigned (dinput starts as NaN: never read), plain and times a kept derivative
        var scale = Tests.Gpu.Random(bt * c, 7);
        float[] eda = new float[bt * c], edas = new float[bt * c], edwa = (float[])dw0.Clone(), edwas = (float[])dw0.Clone();
        Ref.MatMulBackwardAssign(eda, [], edwa, [], dout, x, w, bt, c, oc);
        Ref.MatMulBackwardAssign(edas, scale, edwas, [], dout, x, w, bt, c, oc);
        float[] dia = Enumerable.Repeat(float.NaN, bt * c).ToArray(), dias = (float[])dia.Clone();
        float[] dwa = (float[])dw0.Clone(), dwas = (float[])dw0.Clone();
        OnGpu(attached, () =>
        {
            Gpu.MatMulBackwardAssign(dia, [], dwa, [], dout, x, w, bt, c, oc);
            Gpu.MatMulBackwardAssign(dias, scale, dwas, [], dout, x, w, bt, c, oc);
        }, x, w, dout, scale, dia, dias, dwa, dwas);
        Tests.Gpu.AssertClose(eda, dia, Tol, "dinput assigned");
        Tests.Gpu.AssertClose(edas, dias, Tol, "dinput assigned and scaled");
        Tests.Gpu.AssertClose(edwa, dwa, Tol, "dweight with dinput assigned");
        Tests.Gpu.AssertClose(edwas, dwas, Tol, "dweight with dinput assigned and scaled");
    }

    [TestMethod]
    [DataRow(3, 7, 20, 37, false)] [DataRow(3, 7, 20, 37, true)] [DataRow(1, 1, 5, 3, false)] [DataRow(5, 70, 9, 11, true)]
    public void EncoderForwardAndBackwardMatchReference(int b, int t, int c, int v, bool attached)
    {
        var tokens = Tests.Gpu.RandomInts(b * t, 1, v);
        tokens[0] = v - 1;
        if (b * t > 2) tokens[2] = tokens[1]; // repeated ids accumulate into one row of dwte
        var wte = Tests.Gpu.Random(v * c, 2);
        var wpe = Tests.Gpu.Random((t + 3) * c, 3);
        var expected = new float[b * t * c];
        Ref.EncoderForward(expected, tokens, wte, wpe, b, t, c);
        var actual = new float[b * t * c];
        var dout = Tests.Gpu.Random(b * t * c, 4);
        float[] dwte0 = Tests.Gpu.Random(v * c, 5), dwpe0 = Tests.Gpu.Random((t + 3) * c, 6);
        float[] edwte = (float[])dwte0.Clone(), edwpe = (float[])dwpe0.Clone();
        Ref.EncoderBackward(edwte, edwpe, dout, tokens, b, t, c);
        float[] dwte = (float[])dwte0.Clone(), dwpe = (float[])dwpe0.Clone();
        OnGpu(attached, () =>
        {
            Gpu.EncoderForward(actual, tokens, wte, wpe, b, t, c);
            Gpu.EncoderBackward(dwte, dwpe, dout, tokens, b, t, c);
        }, wte, wpe, actual, dout, dwte, dwpe);
        Tests.Gpu.AssertBitwise(expected, actual, "out"); // one addition per element: exact
        Tests.Gpu.AssertClose(edwte, dwte, Tol, "dwte");
        Tests.Gpu.AssertClose(edwpe, dwpe, Tol, "dwpe");
    }

    [TestMethod]
    [DataRow(21, 20, false)] [DataRow(21, 20, true)] [DataRow(3, 257, false)] [DataRow(130, 65, true)] [DataRow(1, 1, false)]
    public void LayerNormForwardAndBackwardMatchReference(int n, int c, bool attached)
    {
        var x = Tests.Gpu.Random(n * c, 1, 3f);
        for (int i = 0; i < n * c; i += 3) x[i] += 2f; // a non-zero mean
        var w = Tests.Gpu.Random(c, 2);
        var bias = Tests.Gpu.Random(c, 3);
        float[] eo = new float[n * c], em = new float[n], er = new float[n];
        Ref.LayerNormForward(eo, em, er, x, w, bias, n, c);
        float[] o = new float[n * c], m = new float[n], r = new float[n], oNoBias = new float[n * c];
        var dout = Tests.Gpu.Random(n * c, 4);
        float[] di0 = Tests.Gpu.Random(n * c, 5), dw0 = Tests.Gpu.Random(c, 6), db0 = Tests.Gpu.Random(c, 7);
        float[] edi = (float[])di0.Clone(), edw = (float[])dw0.Clone(), edb = (float[])db0.Clone();
        Ref.LayerNormBackward(edi, edw, edb, dout, x, w, em, er, n, c);
        float[] di = (float[])di0.Clone(), dw = (float[])dw0.Clone(), db = (float[])db0.Clone();
        OnGpu(attached, () =>
        {
            Gpu.LayerNormForward(o, m, r, x, w, bias, n, c);
            Gpu.LayerNormForward(oNoBias, m, r, x, w, [], n, c);
            Gpu.LayerNormBackward(di, dw, db, dout, x, w, m, r, n, c);
        }, x, w, bias, o, m, r, oNoBias, dout, di, dw, db);
        Tests.Gpu.AssertClose(eo, o, Tol, "out");
        Tests.Gpu.AssertClose(em, m, Tol, "mean");
        Tests.Gpu.AssertClose(er, r, Tol, "rstd");
        var eNoBias = new float[n * c];
        Ref.LayerNormForward(eNoBias, em, er, x, w, [], n, c);
        Tests.Gpu.AssertClose(eNoBias, oNoBias, Tol, "out without bias");
        Tests.Gpu.AssertClose(edi, di, Tol, "dinput");
        Tests.Gpu.AssertClose(edw, dw, Tol, "dweight");
        Tests.Gpu.AssertClose(edb, db, Tol, "dbias");
    }

    [TestMethod]
    [DataRow(3, 7, 20, 4, false)] [DataRow(3, 7, 20, 4, true)] [DataRow(1, 1, 6, 2, false)] [DataRow(2, 33, 15, 3, true)] [DataRow(1, 19, 8, 1, false)]
    public void AttentionForwardAndBackwardMatchReference(int b, int t, int c, int nh, bool attached)
    {
        var qkv = Tests.Gpu.Random(b * t * 3 * c, 1, 2f);
        float[] eo = new float[b * t * c], ea = new float[b * nh * t * t];
        Ref.AttentionForward(eo, ea, qkv, b, t, c, nh);
        float[] o = new float[b * t * c], a = Tests.Gpu.Random(b * nh * t * t, 9); // garbage in att: forward must overwrite it all
        var dout = Tests.Gpu.Random(b * t * c, 2);
        var d0 = Tests.Gpu.Random(b * t * 3 * c, 3);
        var ed = (float[])d0.Clone();
        Ref.AttentionBackward(ed, dout, qkv, ea, b, t, c, nh);
        var d = (float[])d0.Clone();
        OnGpu(attached, () =>
        {
            Gpu.AttentionForward(o, a, qkv, b, t, c, nh);
            Gpu.AttentionBackward(d, dout, qkv, a, b, t, c, nh);
        }, qkv, o, a, dout, d);
        Tests.Gpu.AssertClose(eo, o, Tol, "out");
        Tests.Gpu.AssertClose(ea, a, Tol, "att");
        Tests.Gpu.AssertClose(ed, d, Tol, "dqkv");
    }

    [TestMethod]
    [DataRow(3, 1, 11, 20, 4, false)] [DataRow(2, 3, 9, 15, 3, true)] [DataRow(1, 5, 5, 8, 1, false)]
    [DataRow(2, 2, 13, 33, 3, true)] [DataRow(3, 1, 17, 12, 4, false)] // heads of 11 (more than a group's 8 threads) and of 3 (two position lanes)
    public void CachedAttentionMatchesReference(int b, int tn, int maxT, int c, int nh, bool attached)
    {
        var rng = new Random(7);
        var pos = new int[b];
        for (int i = 0; i < b; i++) pos[i] = rng.Next(maxT - tn + 1);
        pos[0] = maxT - tn; // the last positions of the cache
        var q = Tests.Gpu.Random(b * tn * c, 1);
        var k = Tests.Gpu.Random(b * maxT * c, 2);
        var v = Tests.Gpu.Random(b * maxT * c, 3);
        var expected = new float[b * tn * c];
        Ref.AttentionForwardCached(expected, q, k, v, pos, b, tn, maxT, c, nh);
        var actual = new float[b * tn * c];
        OnGpu(attached, () => Gpu.AttentionForwardCached(actual, q, k, v, pos, b, tn, maxT, c, nh), q, k, v, actual);
        Tests.Gpu.AssertClose(expected, actual, Tol, "out");
    }

    [TestMethod]
    [DataRow(1, false)] [DataRow(7, true)] [DataRow(1000, false)] [DataRow(4099, true)]
    public void ElementwiseKernelsMatchReference(int n, bool attached)
    {
        var x = Tests.Gpu.Random(n, 1, 4f);
        var y = Tests.Gpu.Random(n, 2);
        var d = Tests.Gpu.Random(n, 3);
        var start = Tests.Gpu.Random(n, 4);
        float[] gelu = new float[n], relu = new float[n], res = new float[n], drop = new float[n], drop0 = new float[n];
        float[] dgelu = (float[])start.Clone(), drelu = (float[])start.Clone(), da = (float[])start.Clone(), db = Tests.Gpu.Random(n, 5);
        float[] ddrop = (float[])start.Clone(), scaled = (float[])x.Clone();
        float[] egelu = new float[n], erelu = new float[n], eres = new float[n], edrop = new float[n], edrop0 = new float[n];
        float[] edgelu = (float[])start.Clone(), edrelu = (float[])start.Clone(), eda = (float[])start.Clone(), edb = (float[])db.Clone();
        float[] eddrop = (float[])start.Clone(), escaled = (float[])x.Clone();
        // GELU keeping its derivative over its own input (training's layout), then backward as a multiply
        float[] kept = new float[n], keptDerivative = (float[])x.Clone();
        float[] ekept = new float[n], ekeptDerivative = (float[])x.Clone();
        Ref.GeluForward(ekept, ekeptDerivative, ekeptDerivative, n);
        const ulong seed = 0x1234_5678_9ABC_DEF0UL;
        Ref.GeluForward(egelu, x, n); Ref.GeluBackward(edgelu, x, d, n);
        Ref.ReluForward(erelu, x, n); Ref.ReluBackward(edrelu, x, d, n);
        Ref.ResidualForward(eres, x, y, n); Ref.ResidualBackward(eda, edb, d, n);
        Ref.DropoutForward(edrop, x, 0.3f, seed, n); Ref.DropoutBackward(eddrop, d, 0.3f, seed, n);
        Ref.DropoutForward(edrop0, x, 0f, seed, n);
        Ref.Scale(escaled, 0.37f);
        OnGpu(attached, () =>
        {
            Gpu.GeluForward(gelu, x, n); Gpu.GeluBackward(dgelu, x, d, n);
            Gpu.ReluForward(relu, x, n); Gpu.ReluBackward(drelu, x, d, n);
            Gpu.ResidualForward(res, x, y, n); Gpu.ResidualBackward(da, db, d, n);
            Gpu.DropoutForward(drop, x, 0.3f, seed, n); Gpu.DropoutBackward(ddrop, d, 0.3f, seed, n);
            Gpu.DropoutForward(drop0, x, 0f, seed, n);
            Gpu.Scale(scaled, 0.37f);
            Gpu.GeluForward(kept, keptDerivative, keptDerivative, n);
        }, x, y, d, gelu, relu, res, drop, drop0, dgelu, drelu, da, db, ddrop, scaled, kept, keptDerivative);
        Tests.Gpu.AssertClose(ekept, kept, Tol, "gelu (derivative kept)");
        Tests.Gpu.AssertClose(ekeptDerivative, keptDerivative, Tol, "gelu derivative in place");
        Tests.Gpu.AssertClose(egelu, gelu, Tol, "gelu");   // tanh from ILGPU's XMath, not MathF: a few ulps
        Tests.Gpu.AssertClose(edgelu, dgelu, Tol, "dgelu");
        Tests.Gpu.AssertBitwise(erelu, relu, "relu");
        Tests.Gpu.AssertBitwise(edrelu, drelu, "drelu");
        Tests.Gpu.AssertBitwise(eres, res, "residual");
        Tests.Gpu.AssertBitwise(eda, da, "dresidual a");
        Tests.Gpu.AssertBitwise(edb, db, "dresidual b");
        Tests.Gpu.AssertBitwise(edrop, drop, "dropout (same mask)");
        Tests.Gpu.AssertBitwise(eddrop, ddrop, "ddropout");
        Tests.Gpu.AssertBitwise(edrop0, drop0, "dropout p=0 copies");
        Tests.Gpu.AssertBitwise(escaled, scaled, "scale");
        if (n >= 1000) Assert.AreEqual(0.3, drop.Count(v => v == 0f) / (double)n, 0.05, "about 30% dropped");
    }

    [TestMethod]
    [DataRow(21, 37, false)] [DataRow(21, 37, true)] [DataRow(2, 1, false)] [DataRow(5, 300, true)]
    public void SoftmaxCrossEntropyMatchesReference(int bt, int v, bool attached)
    {
        var logits = Tests.Gpu.Random(bt * v, 1, 8f);
        var targets = Tests.Gpu.RandomInts(bt, 2, v);
        targets[bt - 1] = -1; // ignored row
        var dl = Tests.Gpu.Random(bt, 3);
        float[] el = new float[bt], ep = new float[bt * v];
        Ref.SoftmaxCrossEntropyForward(el, ep, logits, targets, bt, v);
        var edAdd = Tests.Gpu.Random(bt * v, 4);
        var dAdd = (float[])edAdd.Clone();
        Ref.SoftmaxCrossEntropyBackward(edAdd, dl, ep, targets, bt, v);
        var eInPlace = (float[])ep.Clone();
        Ref.SoftmaxCrossEntropyBackward(eInPlace, dl, eInPlace, targets, bt, v);

        float[] l = new float[bt], p = new float[bt * v];
        var inPlace = (float[])logits.Clone(); // the model's use: probabilities over the logits, then their gradient over both
        var lossInPlace = new float[bt];
        OnGpu(attached, () =>
        {
            Gpu.SoftmaxCrossEntropyForward(l, p, logits, targets, bt, v);
            Gpu.SoftmaxCrossEntropyBackward(dAdd, dl, p, targets, bt, v);
            Gpu.SoftmaxCrossEntropyForward(lossInPlace, inPlace, inPlace, targets, bt, v);
            Gpu.SoftmaxCrossEntropyBackward(inPlace, dl, inPlace, targets, bt, v);
        }, logits, dl, l, p, dAdd, inPlace, lossInPlace);
        Tests.Gpu.AssertClose(el, l, Tol, "losses");
        Assert.AreEqual(0f, l[bt - 1], "ignored row");
        Tests.Gpu.AssertClose(ep, p, Tol, "probs");
        Tests.Gpu.AssertClose(edAdd, dAdd, Tol, "dlogits (added)");
        Tests.Gpu.AssertClose(el, lossInPlace, Tol, "losses in place");
        Tests.Gpu.AssertClose(eInPlace, inPlace, Tol, "dlogits (in place)");
    }

    [TestMethod]
    [DataRow(1, false)] [DataRow(37, true)] [DataRow(20000, false)]
    public void AdamWSumOfSquaresMatchReference(int n, bool attached)
    {
        var p0 = Tests.Gpu.Random(n, 1);
        var g = Tests.Gpu.Random(n, 2);
        var m0 = Tests.Gpu.Random(n, 3, 0.1f);
        var v0 = Tests.Gpu.Random(n, 4, 0.1f).Select(Math.Abs).ToArray();
        float[] ep = (float[])p0.Clone(), em = (float[])m0.Clone(), ev = (float[])v0.Clone();
        float[] p = (float[])p0.Clone(), m = (float[])m0.Clone(), v = (float[])v0.Clone();
        // steps 2 and 3 with the clip's gradient factor (the reference applies it as it reads g, as the kernels must)
        for (int step = 1; step <= 3; step++)
            Ref.AdamW(ep, g, em, ev, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, step, step == 1 ? 1f : 0.37f);
        double expectedSum = Ref.SumOfSquares(g), sum = 0;
        OnGpu(attached, () =>
        {
            for (int step = 1; step <= 3; step++)
                Gpu.AdamW(p, g, m, v, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, step, step == 1 ? 1f : 0.37f);
            sum = Gpu.SumOfSquares(g);
        }, p, g, m, v);
        Tests.Gpu.AssertClose(ep, p, Tol, "params");
        Tests.Gpu.AssertClose(em, m, Tol, "m");
        Tests.Gpu.AssertClose(ev, v, Tol, "v");
        Assert.AreEqual(expectedSum, sum, 1e-12 * Math.Max(1, expectedSum), "sum of squares (double accumulation)");
    }

    [TestMethod]
    [DataRow(5, 3, 7, 20, false)] [DataRow(5, 3, 7, 20, true)] [DataRow(1, 1, 1, 1, false)] [DataRow(9, 4, 11, 33, true)]
    public void StoringKeysAndValuesMatchesTheReference(int n, int cacheRows, int maxT, int c, bool attached)
    {
        // A prefill's run of consecutive positions in one row, then single tokens scattered over rows (a decoding step).
        var rng = new Random(n * 31 + c);
        var rows = new int[n];
        var positions = new int[n];
        for (int i = 0; i < n; i++)
        {
            rows[i] = i < n / 2 ? 0 : rng.Next(cacheRows);
            positions[i] = i < n / 2 ? i % maxT : rng.Next(maxT);
        }
        var qkv = Tests.Gpu.Random(n * 3 * c, 4);
        var ek = Tests.Gpu.Random(cacheRows * maxT * c, 5);
        var ev = Tests.Gpu.Random(cacheRows * maxT * c, 6);
        var eq = new float[n * c];
        var (k, v, q) = ((float[])ek.Clone(), (float[])ev.Clone(), new float[n * c]);
        ((IComputeBackend)Ref).StoreKeysValues(eq, ek, ev, qkv, rows, positions, n, maxT, c);
        OnGpu(attached, () => Gpu.StoreKeysValues(q, k, v, qkv, rows, positions, n, maxT, c), qkv, k, v, q);
        Tests.Gpu.AssertBitwise(eq, q, "q");
        Tests.Gpu.AssertBitwise(ek, k, "kCache (untouched entries kept)");
        Tests.Gpu.AssertBitwise(ev, v, "vCache (untouched entries kept)");
        var e = Assert.ThrowsExactly<ArgumentException>(() => Gpu.StoreKeysValues(q, k, v, qkv, rows, [.. positions[..^1], maxT], n, maxT, c));
        StringAssert.Contains(e.Message, $"Position {maxT} of token {n - 1}");
    }

    [TestMethod]
    [DataRow(false, false)] [DataRow(true, false)] [DataRow(false, true)] [DataRow(true, true)]
    public void CopyMovesDataWhereItLives(bool sourceAttached, bool destinationAttached)
    {
        var source = Tests.Gpu.Random(37, 8);
        var destination = new float[40];
        if (sourceAttached) Gpu.Attach(source);
        if (destinationAttached) Gpu.Attach(destination);
        try
        {
            Gpu.Copy(destination.AsSpan(2, 35), source.AsSpan(1, 35));
            if (destinationAttached) Gpu.CopyToHost(destination);
            Tests.Gpu.AssertBitwise(source.AsSpan(1, 35), destination.AsSpan(2, 35), "copied");
            Assert.AreEqual(0f, destination[0] + destination[1] + destination[37] + destination[38] + destination[39], "nothing else written");
            Assert.ThrowsExactly<ArgumentException>(() => Gpu.Copy(destination.AsSpan(0, 3), source.AsSpan(0, 4)));
        }
        finally
        {
            Gpu.Detach(source);
            Gpu.Detach(destination);
        }
    }

    [TestMethod]
    [DataRow(1, 0.5f, false)] [DataRow(37, 1f, true)] [DataRow(20000, 1000f, false)] [DataRow(0, 1f, true)]
    public void ClipScaleLeftOnTheDeviceFeedsAdamW(int n, float maxNorm, bool attached)
    {
        // The clip's factor computed where the gradients live and read there by AdamW: the same as the host's way
        var g = Tests.Gpu.Random(n, 2);
        var p0 = Tests.Gpu.Random(n, 1);
        float[] ep = (float[])p0.Clone(), em = new float[n], ev = new float[n];
        float[] p = (float[])p0.Clone(), m = new float[n], v = new float[n];
        var expectedScale = new float[1];
        ((IComputeBackend)Ref).ClipScale(expectedScale, g, maxNorm);
        double norm = Math.Sqrt(Ref.SumOfSquares(g));
        Assert.AreEqual(n == 0 || maxNorm / (norm + 1e-6) >= 1 ? 1f : (float)(maxNorm / (norm + 1e-6)), expectedScale[0], "the reference's factor");
        ((IComputeBackend)Ref).AdamW(ep, g, em, ev, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 1, expectedScale);
        var scale = new float[] { float.NaN };
        OnGpu(attached, () =>
        {
            Gpu.ClipScale(scale, g, maxNorm);
            Gpu.AdamW(p, g, m, v, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 1, (ReadOnlySpan<float>)scale);
        }, p, g, m, v, scale);
        Tests.Gpu.AssertClose(expectedScale, scale, 1e-6, "clip factor (Σ x² in another order)");
        Tests.Gpu.AssertClose(ep, p, Tol, "params");
        Tests.Gpu.AssertClose(em, m, Tol, "m");
    }

    [TestMethod]
    public void ShapeErrorsAreTheReferenceOnes()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => Gpu.MatMulForward(new float[3], new float[8], new float[8], [], 2, 4, 2));
        StringAssert.Contains(e.Message, "output");
        Assert.ThrowsExactly<ArgumentException>(() => Gpu.EncoderForward(new float[4], [5], new float[8], new float[4], 1, 1, 4));
        Assert.ThrowsExactly<ArgumentException>(() => Gpu.SoftmaxCrossEntropyForward(new float[1], new float[3], new float[3], [3], 1, 3));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Gpu.DropoutForward(new float[1], new float[1], 1f, 0, 1));
    }
}
