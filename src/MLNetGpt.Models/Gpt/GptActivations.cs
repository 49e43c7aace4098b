// The GPT's activation arena for a capacity (B,T): what forward keeps for backward, plus backward scratch. Sized once, reused every step.
using MLNetGpt.Tensors;

namespace MLNetGpt.Models;

/// <summary>
/// Activations for batches up to <see cref="CapacityBatch"/>×<see cref="CapacityLength"/>. Per layer l the arena keeps the block input
/// resid[l] [B,T,C], ln1 [B,T,C] with its mean/rstd [B,T], qkv [B,T,3C], att [B,NH,T,T], atty [B,T,C], resid2 [B,T,C], ln2 and its stats,
/// fch and act(fch) [B,T,4C]; then resid[L], lnf and its stats, logits [B,T,V] (probabilities and their gradient in place) and losses [B,T].
/// Scratch: two [B,T,C] buffers, the residual gradient [B,T,C] and two [B,T,4C] buffers for backward.
/// Slices are used as prefixes for smaller batches (attention takes [B,NH,T,T] with the actual T).
/// Without <see cref="KeepsForBackward"/> (evaluation only), every layer's slices are the same buffers, except that the block
/// inputs alternate between two, so the arena holds one layer's activations whatever L is (GPT-2 124M scoring 8 windows of
/// 1024 tokens: 0.8 GB of layer buffers instead of 9.6 GB), and the backward scratch is left out.
/// </summary>
internal sealed class GptActivations
{
    public GptActivations(GptConfig config, int capacityBatch, int capacityLength, bool keepForBackward = true)
    {
        CapacityBatch = capacityBatch;
        CapacityLength = capacityLength;
        KeepsForBackward = keepForBackward;
        int bt = capacityBatch * capacityLength, c = config.EmbeddingSize, L = config.LayerCount;
        var b = ArenaLayout.CreateBuilder();
        Resid = new ArenaSlice[L + 1];
        Ln1 = new ArenaSlice[L]; Ln1Mean = new ArenaSlice[L]; Ln1Rstd = new ArenaSlice[L];
        Qkv = new ArenaSlice[L]; Att = new ArenaSlice[L]; Atty = new ArenaSlice[L]; Resid2 = new ArenaSlice[L];
        Ln2 = new ArenaSlice[L]; Ln2Mean = new ArenaSlice[L]; Ln2Rstd = new ArenaSlice[L]; Fch = new ArenaSlice[L]; FchAct = new ArenaSlice[L];
        // Block l reads resid[l] and writes resid[l+1]; in the shared layout these are two buffers used in turn.
        int residBuffers = keepForBackward ? L + 1 : 2;
        var resid = new ArenaSlice[residBuffers];
        for (int i = 0; i < residBuffers; i++) resid[i] = b.Add($"resid.{i}", false, bt, c);
        for (int l = 0; l <= L; l++) Resid[l] = resid[l % residBuffers];
        for (int l = 0; l < L; l++)
        {
            if (!keepForBackward && l > 0)
            {
                Ln1[l] = Ln1[0]; Ln1Mean[l] = Ln1Mean[0]; Ln1Rstd[l] = Ln1Rstd[0]; Qkv[l] = Qkv[0]; Att[l] = Att[0]; Atty[l] = Atty[0];
                Resid2[l] = Resid2[0]; Ln2[l] = Ln2[0]; Ln2Mean[l] = Ln2Mean[0]; Ln2Rstd[l] = Ln2Rstd[0]; Fch[l] = Fch[0]; FchAct[l] = FchAct[0];
                continue;
            }
            Ln1[l] = b.Add($"ln1.{l}", false, bt, c);
            Ln1Mean[l] = b.Add($"ln1.mean.{l}", false, bt);
            Ln1Rstd[l] = b.Add($"ln1.rstd.{l}", false, bt);
            Qkv[l] = b.Add($"qkv.{l}", false, bt, 3 * c);
            Att[l] = b.Add($"att.{l}", false, capacityBatch, config.HeadCount, capacityLength, capacityLength);
            Atty[l] = b.Add($"atty.{l}", false, bt, c);
            Resid2[l] = b.Add($"resid2.{l}", false, bt, c);
            Ln2[l] = b.Add($"ln2.{l}", false, bt, c);
            Ln2Mean[l] = b.Add($"ln2.mean.{l}", false, bt);
            Ln2Rstd[l] = b.Add($"ln2.rstd.{l}", false, bt);
            Fch[l] = b.Add($"fch.{l}", false, bt, 4 * c);
            FchAct[l] = b.Add($"fch_act.{l}", false, bt, 4 * c);
        }
        Lnf = b.Add("lnf", false, bt, c);
        LnfMean = b.Add("lnf.mean", false, bt);
        LnfRstd = b.Add("lnf.rstd", false, bt);
        Logits = b.Add("logits", false, bt, config.VocabularySize);
        Losses = b.Add("losses", false, bt);
        ScratchA = b.Add("scratch.a", false, bt, c);
        ScratchB = b.Add("scratch.b", false, bt, c);
        int backward = keepForBackward ? bt : 1; // backward-only buffers: a placeholder element without backward
        DLosses = b.Add("dlosses", false, backward);
        DResid = b.Add("dresid", false, backward, keepForBackward ? c : 1);
        Scratch4A = b.Add("scratch4.a", false, backward, keepForBackward ? 4 * c : 1);
        Scratch4B = b.Add("scratch4.b", false, backward, keepForBackward ? 4 * c : 1);
        Arena = Arena.Create(b.Build());
    }

    public int CapacityBatch { get; }
    public int CapacityLength { get; }

    /// <summary>True when every layer has its own buffers (training); false for the shared evaluation layout.</summary>
    public bool KeepsForBackward { get; }

    /// <summary>True when a batch of <paramref name="b"/> rows of <paramref name="t"/> tokens fits.</summary>
    public bool Fits(int b, int t) => CapacityBatch >= b && CapacityLength >= t;
    public Arena Arena { get; }
    public ArenaSlice[] Resid, Ln1, Ln1Mean, Ln1Rstd, Qkv, Att, Atty, Resid2, Ln2, Ln2Mean, Ln2Rstd, Fch, FchAct;
    public ArenaSlice Lnf, LnfMean, LnfRstd, Logits, Losses, DLosses, ScratchA, ScratchB, DResid, Scratch4A, Scratch4B;

    /// <summary>The first <paramref name="n"/> elements of <paramref name="s"/>.</summary>
    public Span<float> Get(ArenaSlice s, int n) => Arena.Data.AsSpan(s.Offset, n);
}
