// A training-step-sized sequence of CpuBackend calls (one GPT block plus embeddings, head, loss, backward and AdamW)
// allocates nothing after warm-up: neither on the calling thread nor on the pool's worker threads.
namespace MLNetGpt.Tensors.Tests;

[TestClass]
public sealed class TrainingStepAllocationTests
{
    private const int B = 2, T = 64, C = 64, NH = 4, V = 65, BT = B * T;

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    public void TrainingStepAllocatesNothingAfterWarmUp(int threads)
    {
        var be = CpuBackend.Create(threads);
        var layout = BuildLayout();
        var (p, g, m, v) = (Arena.Create(layout), Arena.Create(layout), Arena.Create(layout), Arena.Create(layout));
        var rng = new Random(1);
        foreach (ref float x in p.Span) x = (float)(rng.NextDouble() - 0.5) * 0.2f;
        foreach (var s in layout.Slices) if (s.Name.Contains("ln") && s.Name.EndsWith(".weight")) p[s].Fill(1f);
        var acts = new Activations();
        var tokens = new int[BT]; var targets = new int[BT];
        for (int i = 0; i < BT; i++) { tokens[i] = rng.Next(V); targets[i] = i % 17 == 0 ? -1 : rng.Next(V); }
        var slices = layout.Slices.ToArray();

        float first = Step(be, p, g, m, v, slices, acts, tokens, targets, 1);
        for (int step = 2; step <= 3; step++) Step(be, p, g, m, v, slices, acts, tokens, targets, step);
        string what = $"three training steps with {threads} threads"; // formatted before measuring
        float later = 0;
        int next = 4;
        AllocationProbe.AssertNoAllocation(be.Pool, what, () =>
        {
            for (int i = 0; i < 3; i++, next++) later = Step(be, p, g, m, v, slices, acts, tokens, targets, next);
        });
        Assert.AreEqual(Math.Log(V), first, 0.3, "initial loss is close to ln(V)");
        Assert.IsTrue(later < first, $"loss went down: {first} → {later}");
    }

    private static ArenaLayout BuildLayout()
    {
        var l = ArenaLayout.CreateBuilder();
        l.Add("wte", true, V, C); l.Add("wpe", true, T, C);
        l.Add("ln1.weight", false, C); l.Add("ln1.bias", false, C);
        l.Add("attn.w", true, 3 * C, C); l.Add("attn.b", false, 3 * C);
        l.Add("proj.w", true, C, C); l.Add("proj.b", false, C);
        l.Add("ln2.weight", false, C); l.Add("ln2.bias", false, C);
        l.Add("fc.w", true, 4 * C, C); l.Add("fc.b", false, 4 * C);
        l.Add("fcproj.w", true, C, 4 * C); l.Add("fcproj.b", false, C);
        l.Add("lnf.weight", false, C); l.Add("lnf.bias", false, C);
        return l.Build();
    }

    private sealed class Activations
    {
        public float[] Enc = new float[BT * C], Ln1 = new float[BT * C], Ln1M = new float[BT], Ln1R = new float[BT];
        public float[] Qkv = new float[BT * 3 * C], Att = new float[B * NH * T * T], AttOut = new float[BT * C], Proj = new float[BT * C];
        public float[] Drop = new float[BT * C], Res1 = new float[BT * C], Ln2 = new float[BT * C], Ln2M = new float[BT], Ln2R = new float[BT];
        public float[] Fc = new float[BT * 4 * C], Gelu = new float[BT * 4 * C], FcProj = new float[BT * C], Res2 = new float[BT * C];
        public float[] Lnf = new float[BT * C], LnfM = new float[BT], LnfR = new float[BT], Logits = new float[BT * V], Losses = new float[BT];
        public float[] DLosses = new float[BT];
        // gradients of activations
        public float[] dEnc = new float[BT * C], dLn1 = new float[BT * C], dQkv = new float[BT * 3 * C], dAttOut = new float[BT * C];
        public float[] dProj = new float[BT * C], dDrop = new float[BT * C], dRes1 = new float[BT * C], dLn2 = new float[BT * C];
        public float[] dFc = new float[BT * 4 * C], dGelu = new float[BT * 4 * C], dFcProj = new float[BT * C], dRes2 = new float[BT * C], dLnf = new float[BT * C];
        public readonly float[][] Gradients;
        public Activations() => Gradients = [dEnc, dLn1, dQkv, dAttOut, dProj, dDrop, dRes1, dLn2, dFc, dGelu, dFcProj, dRes2, dLnf];
    }

    private static float Step(CpuBackend be, Arena p, Arena g, Arena m, Arena v, ArenaSlice[] s, Activations a, int[] tokens, int[] targets, int step)
    {
        // s: wte 0, wpe 1, ln1 2,3, attn 4,5, proj 6,7, ln2 8,9, fc 10,11, fcproj 12,13, lnf 14,15
        be.EncoderForward(a.Enc, tokens, p[s[0]], p[s[1]], B, T, C);
        be.LayerNormForward(a.Ln1, a.Ln1M, a.Ln1R, a.Enc, p[s[2]], p[s[3]], BT, C);
        be.MatMulForward(a.Qkv, a.Ln1, p[s[4]], p[s[5]], BT, C, 3 * C);
        be.AttentionForward(a.AttOut, a.Att, a.Qkv, B, T, C, NH);
        be.MatMulForward(a.Proj, a.AttOut, p[s[6]], p[s[7]], BT, C, C);
        be.DropoutForward(a.Drop, a.Proj, 0.1f, (ulong)step, BT * C);
        be.ResidualForward(a.Res1, a.Enc, a.Drop, BT * C);
        be.LayerNormForward(a.Ln2, a.Ln2M, a.Ln2R, a.Res1, p[s[8]], p[s[9]], BT, C);
        be.MatMulForward(a.Fc, a.Ln2, p[s[10]], p[s[11]], BT, C, 4 * C);
        be.GeluForward(a.Gelu, a.Fc, BT * 4 * C);
        be.MatMulForward(a.FcProj, a.Gelu, p[s[12]], p[s[13]], BT, 4 * C, C);
        be.ResidualForward(a.Res2, a.Res1, a.FcProj, BT * C);
        be.LayerNormForward(a.Lnf, a.LnfM, a.LnfR, a.Res2, p[s[14]], p[s[15]], BT, C);
        be.MatMulForward(a.Logits, a.Lnf, p[s[0]], [], BT, C, V); // tied head
        be.SoftmaxCrossEntropyForward(a.Losses, a.Logits, a.Logits, targets, BT, V); // probs in place
        float loss = 0; int counted = 0;
        for (int i = 0; i < BT; i++) if (targets[i] >= 0) { loss += a.Losses[i]; counted++; }
        loss /= counted;

        g.Clear();
        foreach (var buf in a.Gradients) Array.Clear(buf);
        Array.Fill(a.DLosses, 1f / counted);
        be.SoftmaxCrossEntropyBackward(a.Logits, a.DLosses, a.Logits, targets, BT, V); // dlogits in place
        be.MatMulBackward(a.dLnf, g[s[0]], [], a.Logits, a.Lnf, p[s[0]], BT, C, V);
        be.LayerNormBackward(a.dRes2, g[s[14]], g[s[15]], a.dLnf, a.Res2, p[s[14]], a.LnfM, a.LnfR, BT, C);
        be.ResidualBackward(a.dRes1, a.dFcProj, a.dRes2, BT * C);
        be.MatMulBackward(a.dGelu, g[s[12]], g[s[13]], a.dFcProj, a.Gelu, p[s[12]], BT, 4 * C, C);
        be.GeluBackward(a.dFc, a.Fc, a.dGelu, BT * 4 * C);
        be.MatMulBackward(a.dLn2, g[s[10]], g[s[11]], a.dFc, a.Ln2, p[s[10]], BT, C, 4 * C);
        be.LayerNormBackward(a.dRes1, g[s[8]], g[s[9]], a.dLn2, a.Res1, p[s[8]], a.Ln2M, a.Ln2R, BT, C);
        be.ResidualBackward(a.dEnc, a.dDrop, a.dRes1, BT * C);
        be.DropoutBackward(a.dProj, a.dDrop, 0.1f, (ulong)step, BT * C);
        be.MatMulBackward(a.dAttOut, g[s[6]], g[s[7]], a.dProj, a.AttOut, p[s[6]], BT, C, C);
        be.AttentionBackward(a.dQkv, a.dAttOut, a.Qkv, a.Att, B, T, C, NH);
        be.MatMulBackward(a.dLn1, g[s[4]], g[s[5]], a.dQkv, a.Ln1, p[s[4]], BT, C, 3 * C);
        be.LayerNormBackward(a.dEnc, g[s[2]], g[s[3]], a.dLn1, a.Enc, p[s[2]], a.Ln1M, a.Ln1R, BT, C);
        be.EncoderBackward(g[s[0]], g[s[1]], a.dEnc, tokens, B, T, C);

        // clip to global norm 1, then AdamW per tensor (decay only for 2-D weights)
        double norm = Math.Sqrt(be.SumOfSquares(g.Span));
        if (norm > 1.0) be.Scale(g.Span, (float)(1.0 / norm));
        foreach (var slice in s)
            be.AdamW(p[slice], g[slice], m[slice], v[slice], 3e-3f, 0.9f, 0.95f, 1e-8f, slice.Decays ? 0.1f : 0f, step);
        return loss;
    }
}
