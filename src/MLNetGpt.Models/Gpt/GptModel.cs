// The GPT: forward and backward over the arenas, every heavy operation through IComputeBackend (llm.c's gpt2_forward/backward).
// Size legend: B batch, T time, C channels, NH heads, V vocab, L layers.
using MLNetGpt.Tensors;

namespace MLNetGpt.Models;

/// <summary>
/// A GPT (GPT-2 architecture: token + position embeddings, L pre-LayerNorm blocks of causal self-attention and a 4C MLP,
/// final LayerNorm, LM head tied to wte by default). Parameters, gradients and activations live in arenas; a training step
/// allocates nothing once the activation arena has reached its batch size. Create with <see cref="Create"/> or load with
/// <see cref="LanguageModel.Load(Stream, IComputeBackend?)"/>.
/// </summary>
public sealed class GptModel : ITrainableModel
{
    private readonly GptParameters _p;
    private GptActivations? _acts;          // training: every layer's activations, kept for backward
    private GptActivations? _evalActs;      // evaluation when _acts is absent or too small: one layer's buffers, shared
    private Arena? _gradients;
    private readonly Arena _parameters;
    private readonly BlockPacking _packing;
    private readonly int _c, _nh, _v, _layers;
    private readonly float _dropout;

    private GptModel(GptConfig config, IComputeBackend backend, Arena? parameters = null, BlockPacking? packing = null)
    {
        config.Validate();
        GptConfig = config;
        Backend = backend;
        _p = GptParameters.Create(config);
        _parameters = parameters ?? Arena.Create(_p.Layout);
        _packing = packing ?? new BlockPacking();
        // A device backend (GPU) keeps the parameters on the device from here on (a copy of the host array as it is now);
        // after the host writes them (initialization, loading) they are copied over with CopyToDevice, and before the host
        // reads them (saving) back with CopyToHost. Host backends ignore all three calls.
        backend.Attach(_parameters.Data);
        _c = config.EmbeddingSize; _nh = config.HeadCount; _v = config.VocabularySize; _layers = config.LayerCount;
        _dropout = config.Dropout;
    }

    /// <summary>Builds a GPT with GPT-2 initialization from <paramref name="seed"/> (default backend: <see cref="CpuBackend"/> on all cores).</summary>
    public static GptModel Create(GptConfig config, IComputeBackend? backend = null, ulong seed = 1337)
    {
        ArgumentNullException.ThrowIfNull(config);
        var model = new GptModel(config, backend ?? CpuBackend.Create());
        model._p.Initialize(model._parameters, seed);
        model.Backend.CopyToDevice(model._parameters.Span);
        return model;
    }

    /// <summary>Builds a GPT with all parameters zero (the loader fills them).</summary>
    internal static GptModel CreateUninitialized(GptConfig config, IComputeBackend? backend) => new(config, backend ?? CpuBackend.Create());

    /// <summary>A GPT over this one's parameter arena (shared, not copied) running on <paramref name="backend"/>.</summary>
    internal GptModel WithBackend(IComputeBackend backend)
    {
        // Two models over one arena may run on two threads (one generating while the other saves, say): the arena then
        // stays in the original layout for good, so that neither ever rewrites what the other reads.
        lock (_packing) _packing.Shared = true;
        UnpackBlocks();
        Backend.CopyToHost(_parameters.Span); // the new model's backend starts from the host array
        return new(GptConfig, backend, _parameters, _packing);
    }

    /// <summary>The configuration.</summary>
    public GptConfig GptConfig { get; }

    /// <inheritdoc/>
    public LanguageModelConfig Config => GptConfig;

    /// <inheritdoc/>
    public string Kind => "gpt";

    /// <inheritdoc/>
    public int VocabularySize => _v;

    /// <inheritdoc/>
    public int BlockSize => GptConfig.BlockSize;

    /// <inheritdoc/>
    public long ParameterCount => _p.Layout.TotalLength;

    /// <inheritdoc/>
    public IComputeBackend Backend { get; }

    /// <summary>
    /// All parameters, GPT-2 names (see <see cref="ArenaLayout.Slices"/>), each matrix in its [out, in] layout. (A model that
    /// has only generated keeps its blocks' four matrices packed in place instead, see <see cref="UseBlocksPackedInPlace"/>;
    /// reading this property restores them first.)
    /// </summary>
    public Arena Parameters
    {
        get
        {
            UnpackBlocks();
            return _parameters;
        }
    }

    /// <summary>The parameter arena as it is, blocks packed or not (the decoder's and the forward's own reads).</summary>
    internal Arena RawParameters => _parameters;

    /// <summary>Whether the arena holds the blocks' matrices packed (shared by the models over one arena).</summary>
    internal bool BlocksPacked => _packing.Packed;

    // Per arena (WithBackend shares it): are the blocks' four matrices stored in the PackedWeight layout right now, and is
    // the arena shared by several models (then never)?
    private sealed class BlockPacking
    {
        public bool Packed, Shared;
    }

    /// <summary>
    /// Generation reads every block matrix in the <see cref="PackedWeight"/> layout, which a decoder otherwise keeps as a
    /// second copy (for GPT-2 124M, 324 MiB). A model on a 256- or 512-bit <see cref="CpuBackend"/> that has never trained (no gradients),
    /// does not share its arena (<see cref="WithBackend"/>) and whose matrices pack to their own size (output channels a
    /// multiple of the panel width) stores them packed in its arena instead and returns true: its forward then reads them
    /// packed (the same bits), and anything that needs the original layout (training, <see cref="Parameters"/>, saving)
    /// unpacks them first. Otherwise it makes sure they are in the original layout and returns false.
    /// </summary>
    internal bool UseBlocksPackedInPlace()
    {
        // 256-bit and wider only: the arena's data is not 64-byte aligned (a large-object array starts 24 bytes past a
        // boundary), which the 128-bit single-row tile, reading a quarter of each panel row per pass, pays for with split
        // loads (GPT-2 124M decoding at SSE: 27.6 → 23.7 tokens/s with its copy moved off alignment; AVX2 unchanged).
        if (Backend is CpuBackend { Width: SimdWidth.Vector256 or SimdWidth.Vector512 } && _gradients is null && BlocksPackToTheirSize()
            && PackBlocks()) return true;
        UnpackBlocks();
        return false;
    }

    private bool BlocksPackToTheirSize()
    {
        foreach (var (_, c, oc) in BlockMatrices())
            if (PackedWeight.Length(c, oc) != (long)c * oc) return false;
        return true;
    }

    // Each block's four matrices: slice, input channels, output channels.
    private IEnumerable<(ArenaSlice Slice, int C, int Oc)> BlockMatrices()
    {
        int c = _c;
        foreach (var w in _p.Blocks)
        {
            yield return (w.AttnWeight, c, 3 * c);
            yield return (w.AttnProjWeight, c, c);
            yield return (w.FcWeight, c, 4 * c);
            yield return (w.FcProjWeight, 4 * c, c);
        }
    }

    // Packs the blocks in place unless the arena is shared; true when they are packed.
    private bool PackBlocks()
    {
        lock (_packing)
        {
            if (!_packing.Packed && !_packing.Shared) Rearrange(pack: true);
            return _packing.Packed;
        }
    }

    private void UnpackBlocks()
    {
        if (!_packing.Packed) return;
        lock (_packing)
        {
            if (_packing.Packed) Rearrange(pack: false);
        }
    }

    // Each block matrix through a copy of itself into the other layout (one matrix of scratch at a time). Under the lock.
    private void Rearrange(bool pack)
    {
        var copy = GC.AllocateUninitializedArray<float>(4 * _c * _c);
        foreach (var (slice, c, oc) in BlockMatrices())
        {
            var w = _parameters[slice];
            w.CopyTo(copy);
            var from = copy.AsSpan(0, w.Length);
            if (pack) Backend.PackMatMulWeight(w, from, c, oc);
            else PackedWeight.Unpack(w, from, c, oc);
        }
        _packing.Packed = pack;
    }

    /// <summary>
    /// Gradients (same layout), filled by training steps. Allocated on first use, so a model that only generates or
    /// evaluates never holds them (for GPT-2 124M, 0.5 GB).
    /// </summary>
    public Arena Gradients => _gradients ??= Attached(Arena.Create(_p.Layout));

    /// <summary>Hands a new arena to the backend (device backends then keep it on the device; see the constructor).</summary>
    private Arena Attached(Arena arena)
    {
        Backend.Attach(arena.Data);
        return arena;
    }

    internal GptParameters Layout => _p;

    /// <inheritdoc/>
    public void SaveWeights(Stream destination) => ModelFiles.WriteWeights(this, destination);

    /// <inheritdoc/>
    public void SaveWeights(string path) => Serialization.AtomicFile.Write(path, SaveWeights);

    /// <inheritdoc/>
    public void ComputeLogits(ReadOnlySpan<int> tokens, int batchSize, int length, Span<float> logits)
    {
        ModelChecks.Tokens(tokens, batchSize, length, BlockSize, _v);
        Shapes.Require(logits.Length, (long)batchSize * length * _v, $"[{batchSize},{length},{_v}]", nameof(logits));
        var a = Forward(tokens, batchSize, length, training: false, 0);
        var result = a.Get(a.Logits, batchSize * length * _v);
        Backend.CopyToHost(result); // the host reads the logits
        result.CopyTo(logits);
    }

    /// <inheritdoc/>
    public double EvaluateLoss(ReadOnlySpan<int> tokens, int batchSize, int maxBatches, CancellationToken cancellationToken = default) =>
        ModelChecks.EvaluateWindows(this, tokens, batchSize, maxBatches, cancellationToken);

    /// <inheritdoc/>
    public float ForwardLoss(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batchSize, int length)
    {
        var a = Forward(inputs, batchSize, length, training: false, 0);
        return Loss(a, targets, batchSize * length, out _);
    }

    /// <inheritdoc/>
    public float ForwardBackward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batchSize, int length, float lossScale, ulong dropoutSeed)
    {
        UnpackBlocks(); // training reads and updates the matrices in their own layout
        var a = Forward(inputs, batchSize, length, training: true, dropoutSeed);
        float loss = Loss(a, targets, batchSize * length, out int counted);
        Backward(inputs, targets, batchSize, length, counted == 0 ? 0f : lossScale / counted, dropoutSeed);
        return loss;
    }

    /// <inheritdoc/>
    IIncrementalDecoder ITrainableModel.CreateDecoder(int maxBatch) => new GptDecoder(this, maxBatch);

    private GptActivations Acts => _acts!;

    /// <summary>
    /// The activations of a (b, t) pass: training grows the full arena; evaluation uses it when it is big enough (a trainer's
    /// loss estimates cost no memory), else the shared one-layer arena.
    /// </summary>
    private GptActivations Activations(int b, int t, bool training)
    {
        if (!training && _acts is { } full && full.Fits(b, t)) return full;
        ref var acts = ref training ? ref _acts : ref _evalActs;
        if (acts is not null && acts.Fits(b, t)) return acts;
        int cb = Math.Max(b, acts?.CapacityBatch ?? 0);
        int ct = Math.Max(t, acts?.CapacityLength ?? 0);
        if (acts is not null) Backend.Detach(acts.Arena.Data); // frees its device copy (device backends)
        acts = null; // let the old arena go before allocating the new one
        acts = new GptActivations(GptConfig, cb, ct, keepForBackward: training);
        Backend.Attach(acts.Arena.Data);
        if (training && _evalActs is not null && acts.Fits(_evalActs.CapacityBatch, _evalActs.CapacityLength))
        {
            Backend.Detach(_evalActs.Arena.Data);
            _evalActs = null;
        }
        return acts;
    }

    private Span<float> P(ArenaSlice s) => _parameters[s];
    private Span<float> Pb(ArenaSlice? s) => s is null ? Span<float>.Empty : _parameters[s];

    // out = inp·Wᵀ + b for a block matrix, stored packed or not (the same bits either way)
    private void BlockMatMul(Span<float> output, ReadOnlySpan<float> input, ArenaSlice weight, ArenaSlice? bias, int bt, int c, int oc, bool packed)
    {
        if (packed) Backend.MatMulForwardPacked(output, input, P(weight), Pb(bias), bt, c, oc);
        else Backend.MatMulForward(output, input, P(weight), Pb(bias), bt, c, oc);
    }
    private Span<float> G(ArenaSlice s) => Gradients[s];
    private Span<float> Gb(ArenaSlice? s) => s is null ? Span<float>.Empty : Gradients[s];

    // Dropout sites: 0 = embedding, 1 + 2l = attention residual branch, 2 + 2l = MLP residual branch.
    private static ulong SiteSeed(ulong seed, int site) => Data.SplitMixRandom.Derive(seed, (ulong)site);

    private GptActivations Forward(ReadOnlySpan<int> tokens, int b, int t, bool training, ulong dropoutSeed)
    {
        var a = Activations(b, t, training);
        var be = Backend;
        int bt = b * t, c = _c;
        bool drop = training && _dropout > 0f;
        bool packed = _packing.Packed && Backend is CpuBackend;
        var wpe = P(_p.Wpe)[..(t * c)];
        if (drop)
        {
            be.EncoderForward(a.Get(a.ScratchA, bt * c), tokens, P(_p.Wte), wpe, b, t, c);
            be.DropoutForward(a.Get(a.Resid[0], bt * c), a.Get(a.ScratchA, bt * c), _dropout, SiteSeed(dropoutSeed, 0), bt * c);
        }
        else
        {
            be.EncoderForward(a.Get(a.Resid[0], bt * c), tokens, P(_p.Wte), wpe, b, t, c);
        }

        for (int l = 0; l < _layers; l++)
        {
            var w = _p.Blocks[l];
            var x = a.Get(a.Resid[l], bt * c);
            var ln1 = a.Get(a.Ln1[l], bt * c);
            var qkv = a.Get(a.Qkv[l], bt * 3 * c);
            var atty = a.Get(a.Atty[l], bt * c);
            var resid2 = a.Get(a.Resid2[l], bt * c);
            var ln2 = a.Get(a.Ln2[l], bt * c);
            var fch = a.Get(a.Fch[l], bt * 4 * c);
            var fchAct = a.Get(a.FchAct[l], bt * 4 * c);
            var branch = a.Get(a.ScratchA, bt * c);
            var dropped = a.Get(a.ScratchB, bt * c);

            be.LayerNormForward(ln1, a.Get(a.Ln1Mean[l], bt), a.Get(a.Ln1Rstd[l], bt), x, P(w.Ln1Weight), Pb(w.Ln1Bias), bt, c);
            BlockMatMul(qkv, ln1, w.AttnWeight, w.AttnBias, bt, c, 3 * c, packed);
            be.AttentionForward(atty, a.Get(a.Att[l], b * _nh * t * t), qkv, b, t, c, _nh);
            BlockMatMul(branch, atty, w.AttnProjWeight, w.AttnProjBias, bt, c, c, packed);
            if (drop) be.DropoutForward(dropped, branch, _dropout, SiteSeed(dropoutSeed, 1 + 2 * l), bt * c);
            be.ResidualForward(resid2, x, drop ? dropped : branch, bt * c);

            be.LayerNormForward(ln2, a.Get(a.Ln2Mean[l], bt), a.Get(a.Ln2Rstd[l], bt), resid2, P(w.Ln2Weight), Pb(w.Ln2Bias), bt, c);
            BlockMatMul(fch, ln2, w.FcWeight, w.FcBias, bt, c, 4 * c, packed);
            // training keeps GELU'(fch) in fch's place (backward needs nothing else of it): backward is then a multiply
            if (GptConfig.Activation == Activation.Gelu && training) be.GeluForward(fchAct, fch, fch, bt * 4 * c);
            else if (GptConfig.Activation == Activation.Gelu) be.GeluForward(fchAct, fch, bt * 4 * c);
            else be.ReluForward(fchAct, fch, bt * 4 * c);
            BlockMatMul(branch, fchAct, w.FcProjWeight, w.FcProjBias, bt, 4 * c, c, packed);
            if (drop) be.DropoutForward(dropped, branch, _dropout, SiteSeed(dropoutSeed, 2 + 2 * l), bt * c);
            be.ResidualForward(a.Get(a.Resid[l + 1], bt * c), resid2, drop ? dropped : branch, bt * c);
        }

        var lnf = a.Get(a.Lnf, bt * c);
        be.LayerNormForward(lnf, a.Get(a.LnfMean, bt), a.Get(a.LnfRstd, bt), a.Get(a.Resid[_layers], bt * c), P(_p.LnfWeight), Pb(_p.LnfBias), bt, c);
        be.MatMulForward(a.Get(a.Logits, bt * _v), lnf, P(_p.Head), Span<float>.Empty, bt, c, _v);
        return a;
    }

    /// <summary>Softmax + cross-entropy in place over the logits; returns the mean over targets that are not -1.</summary>
    private float Loss(GptActivations a, ReadOnlySpan<int> targets, int bt, out int counted)
    {
        var logits = a.Get(a.Logits, bt * _v);
        var losses = a.Get(a.Losses, bt);
        Backend.SoftmaxCrossEntropyForward(losses, logits, logits, targets, bt, _v);
        Backend.CopyToHost(losses); // the host reads the losses: a training step's one copy back (bt floats)
        counted = 0;
        double sum = 0;
        for (int i = 0; i < bt; i++)
        {
            if (targets[i] < 0) continue;
            counted++;
            sum += losses[i];
        }
        return counted == 0 ? 0f : (float)(sum / counted);
    }

    private void Backward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, int b, int t, float dloss, ulong dropoutSeed)
    {
        var a = Acts;
        var be = Backend;
        int bt = b * t, c = _c;
        bool drop = _dropout > 0f;
        var dlosses = a.Get(a.DLosses, bt);
        // Buffers are filled and cleared through the backend, where the data lives (the device, for a GPU backend).
        be.Fill(dlosses, dloss);
        var logits = a.Get(a.Logits, bt * _v);
        be.SoftmaxCrossEntropyBackward(logits, dlosses, logits, targets, bt, _v); // in place: dlogits overwrite probs

        var dA = a.Get(a.ScratchA, bt * c);
        var dB = a.Get(a.ScratchB, bt * c);
        var dresid = a.Get(a.DResid, bt * c);
        // Input gradients that start a buffer are assigned (MatMulBackwardAssign), not added into a cleared one.
        be.MatMulBackwardAssign(dA, Span<float>.Empty, G(_p.Head), Span<float>.Empty, logits, a.Get(a.Lnf, bt * c), P(_p.Head), bt, c, _v);
        be.Fill(dresid, 0f);
        be.LayerNormBackward(dresid, G(_p.LnfWeight), Gb(_p.LnfBias), dA, a.Get(a.Resid[_layers], bt * c), P(_p.LnfWeight),
            a.Get(a.LnfMean, bt), a.Get(a.LnfRstd, bt), bt, c);

        for (int l = _layers - 1; l >= 0; l--)
        {
            var w = _p.Blocks[l];
            var d4a = a.Get(a.Scratch4A, bt * 4 * c);
            var d4b = a.Get(a.Scratch4B, bt * 4 * c);

            // resid[l+1] = resid2 + drop(mlp branch): the residual gradient flows to resid2 unchanged (dresid keeps it).
            ReadOnlySpan<float> dbranch = dresid;
            if (drop) { be.Fill(dA, 0f); be.DropoutBackward(dA, dresid, _dropout, SiteSeed(dropoutSeed, 2 + 2 * l), bt * c); dbranch = dA; }
            // GELU: fch holds GELU'(fch) (kept by the training forward), so d4a = (dbranch·W) ⊙ GELU' is d(fch) at once
            bool gelu = GptConfig.Activation == Activation.Gelu;
            be.MatMulBackwardAssign(d4a, gelu ? a.Get(a.Fch[l], bt * 4 * c) : Span<float>.Empty, G(w.FcProjWeight), Gb(w.FcProjBias), dbranch,
                a.Get(a.FchAct[l], bt * 4 * c), P(w.FcProjWeight), bt, 4 * c, c);
            ReadOnlySpan<float> dfch = d4a;
            if (!gelu) { be.Fill(d4b, 0f); be.ReluBackward(d4b, a.Get(a.Fch[l], bt * 4 * c), d4a, bt * 4 * c); dfch = d4b; }
            be.MatMulBackwardAssign(dB, Span<float>.Empty, G(w.FcWeight), Gb(w.FcBias), dfch, a.Get(a.Ln2[l], bt * c), P(w.FcWeight), bt, c, 4 * c);
            be.LayerNormBackward(dresid, G(w.Ln2Weight), Gb(w.Ln2Bias), dB, a.Get(a.Resid2[l], bt * c), P(w.Ln2Weight),
                a.Get(a.Ln2Mean[l], bt), a.Get(a.Ln2Rstd[l], bt), bt, c);

            // resid2 = resid[l] + drop(attention branch).
            dbranch = dresid;
            if (drop) { be.Fill(dA, 0f); be.DropoutBackward(dA, dresid, _dropout, SiteSeed(dropoutSeed, 1 + 2 * l), bt * c); dbranch = dA; }
            be.MatMulBackwardAssign(dB, Span<float>.Empty, G(w.AttnProjWeight), Gb(w.AttnProjBias), dbranch, a.Get(a.Atty[l], bt * c), P(w.AttnProjWeight), bt, c, c);
            var dqkv = d4a[..(bt * 3 * c)];
            be.Fill(dqkv, 0f);
            be.AttentionBackward(dqkv, dB, a.Get(a.Qkv[l], bt * 3 * c), a.Get(a.Att[l], b * _nh * t * t), b, t, c, _nh);
            be.MatMulBackwardAssign(dB, Span<float>.Empty, G(w.AttnWeight), Gb(w.AttnBias), dqkv, a.Get(a.Ln1[l], bt * c), P(w.AttnWeight), bt, c, 3 * c);
            be.LayerNormBackward(dresid, G(w.Ln1Weight), Gb(w.Ln1Bias), dB, a.Get(a.Resid[l], bt * c), P(w.Ln1Weight),
                a.Get(a.Ln1Mean[l], bt), a.Get(a.Ln1Rstd[l], bt), bt, c);
        }

        ReadOnlySpan<float> dembed = dresid;
        if (drop) { be.Fill(dA, 0f); be.DropoutBackward(dA, dresid, _dropout, SiteSeed(dropoutSeed, 0), bt * c); dembed = dA; }
        be.EncoderBackward(G(_p.Wte), G(_p.Wpe)[..(t * c)], dembed, tokens, b, t, c);
    }
}
