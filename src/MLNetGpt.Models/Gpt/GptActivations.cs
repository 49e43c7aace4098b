// The GPT's activation arena for a capacity (B,T): what forward keeps for backward, plus backward scratch. Sized once, reused every step.
using MLNetGpt.Tensors;

namespace MLNetGpt.Models;

/// <summary>
/// Activations for batches up to <see cref="CapacityBatch"/>×<see cref="CapacityLength"/>. Per layer l the arena keeps the block input
/// resid[l] [B,T,C], ln1 [B,T,C] with its mean/rstd [B,T], qkv [B,T,3C], att [B,NH,T,T], atty [B,T,C], resid2 [B,T,C], ln2 and its stats,
/// fch and act(fch) [B,T,4C]; then resid[L], lnf and its stats, logits [B,T,V] (probabilities and their gradient in place) and losses [B,T].
/// Scratch: two [B,T,C] buffers, the residual gradient [B,T,C] and two [B,T,4C] buffers for backward.
/// Slices are used as prefixes for smaller batches (attention takes [B,NH,T,T] with the actual T).
/// </summary>
internal sealed class GptActivations
{
    public GptActivations(GptConfig config, int capacityBatch, int capacityLength)
    {
        CapacityBatch = capacityBatch;
        CapacityLength = capacityLength;
        int bt = capacityBatch * capacityLength, c = config.EmbeddingSize, L = config.LayerCount;
        var b = ArenaLayout.CreateBuilder();
        Resid = new ArenaSlice[L + 1];
        Ln1 = new ArenaSlice[L]; Ln1Mean = new ArenaSlice[L]; Ln1Rstd = new ArenaSlice[L];
        Qkv = new ArenaSlice[L]; Att = new ArenaSlice[L]; Atty = new ArenaSlice[L]; Resid2 = new ArenaSlice[L];
        Ln2 = new ArenaSlice[L]; Ln2Mean = new ArenaSlice[L]; Ln2Rstd = new ArenaSlice[L]; Fch = new ArenaSlice[L]; FchAct = new ArenaSlice[L];
        for (int l = 0; l < L; l++)
        {
            Resid[l] = b.Add($"resid.{l}", false, bt, c);
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
        Resid[L] = b.Add($"resid.{L}", false, bt, c);
        Lnf = b.Add("lnf", false, bt, c);
        LnfMean = b.Add("lnf.mean", false, bt);
        LnfRstd = b.Add("lnf.rstd", false, bt);
        Logits = b.Add("logits", false, bt, config.VocabularySize);
        Losses = b.Add("losses", false, bt);
        DLosses = b.Add("dlosses", false, bt);
        ScratchA = b.Add("scratch.a", false, bt, c);
        ScratchB = b.Add("scratch.b", false, bt, c);
        DResid = b.Add("dresid", false, bt, c);
        Scratch4A = b.Add("scratch4.a", false, bt, 4 * c);
        Scratch4B = b.Add("scratch4.b", false, bt, 4 * c);
        Arena = Arena.Create(b.Build());
    }

    public int CapacityBatch { get; }
    public int CapacityLength { get; }
    public Arena Arena { get; }
    public ArenaSlice[] Resid, Ln1, Ln1Mean, Ln1Rstd, Qkv, Att, Atty, Resid2, Ln2, Ln2Mean, Ln2Rstd, Fch, FchAct;
    public ArenaSlice Lnf, LnfMean, LnfRstd, Logits, Losses, DLosses, ScratchA, ScratchB, DResid, Scratch4A, Scratch4B;

    /// <summary>The first <paramref name="n"/> elements of <paramref name="s"/>.</summary>
    public Span<float> Get(ArenaSlice s, int n) => Arena.Data.AsSpan(s.Offset, n);
}
