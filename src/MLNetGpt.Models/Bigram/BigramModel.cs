// The bigram baseline: a V×V table whose row for the current token is the logits of the next token. No GPT machinery:
// forward is a row gather, backward a row scatter-add (both through the backend's encoder kernels with zero positions).
using MLNetGpt.Tensors;

namespace MLNetGpt.Models;

/// <summary>
/// Bigram language model (the "Let's build GPT" lecture's first model): parameter "token_embedding_table.weight" [V,V],
/// initialized N(0,1) like PyTorch's nn.Embedding. Logits of position t depend only on token t.
/// </summary>
public sealed class BigramModel : ITrainableModel
{
    private const string TableName = "token_embedding_table.weight";
    private readonly ArenaSlice _table;
    private readonly int _v;
    private float[] _logits = [], _losses = [], _dlosses = [];
    private readonly float[] _zeroPositions, _positionGrad;

    private BigramModel(BigramConfig config, IComputeBackend backend)
    {
        config.Validate();
        BigramConfig = config;
        Backend = backend;
        _v = config.VocabularySize;
        var b = ArenaLayout.CreateBuilder();
        _table = b.Add(TableName, true, _v, _v);
        var layout = b.Build();
        Parameters = Arena.Create(layout);
        Gradients = Arena.Create(layout);
        // The encoder kernel adds a position row; the bigram has none, so it gets zeros, and their gradient goes to a scratch.
        _zeroPositions = new float[config.BlockSize * _v];
        _positionGrad = new float[config.BlockSize * _v];
    }

    /// <summary>Builds a bigram model with its table drawn from N(0,1) using <paramref name="seed"/>.</summary>
    public static BigramModel Create(BigramConfig config, IComputeBackend? backend = null, ulong seed = 1337)
    {
        ArgumentNullException.ThrowIfNull(config);
        var model = new BigramModel(config, backend ?? CpuBackend.Create());
        var rng = Data.SplitMixRandom.Create(seed);
        var table = model.Parameters[model._table];
        for (int i = 0; i < table.Length; i++) table[i] = (float)rng.NextGaussian();
        return model;
    }

    internal static BigramModel CreateUninitialized(BigramConfig config, IComputeBackend? backend) => new(config, backend ?? CpuBackend.Create());

    /// <summary>The configuration.</summary>
    public BigramConfig BigramConfig { get; }

    /// <inheritdoc/>
    public LanguageModelConfig Config => BigramConfig;

    /// <inheritdoc/>
    public string Kind => "bigram";

    /// <inheritdoc/>
    public int VocabularySize => _v;

    /// <inheritdoc/>
    public int BlockSize => BigramConfig.BlockSize;

    /// <inheritdoc/>
    public long ParameterCount => (long)_v * _v;

    /// <inheritdoc/>
    public IComputeBackend Backend { get; }

    /// <summary>The table (one slice, "token_embedding_table.weight" [V,V]).</summary>
    public Arena Parameters { get; }

    /// <summary>Gradients of the table.</summary>
    public Arena Gradients { get; }

    /// <inheritdoc/>
    public void SaveWeights(Stream destination) => ModelFiles.WriteWeights(this, destination);

    /// <inheritdoc/>
    public void SaveWeights(string path) => Serialization.AtomicFile.Write(path, SaveWeights);

    /// <inheritdoc/>
    public void ComputeLogits(ReadOnlySpan<int> tokens, int batchSize, int length, Span<float> logits)
    {
        ModelChecks.Tokens(tokens, batchSize, length, BlockSize, _v);
        Shapes.Require(logits.Length, (long)batchSize * length * _v, $"[{batchSize},{length},{_v}]", nameof(logits));
        Backend.EncoderForward(logits[..(batchSize * length * _v)], tokens[..(batchSize * length)], Parameters[_table],
            _zeroPositions.AsSpan(0, length * _v), batchSize, length, _v);
    }

    /// <inheritdoc/>
    public double EvaluateLoss(ReadOnlySpan<int> tokens, int batchSize, int maxBatches, CancellationToken cancellationToken = default) =>
        ModelChecks.EvaluateWindows(this, tokens, batchSize, maxBatches, cancellationToken);

    /// <inheritdoc/>
    public float ForwardLoss(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batchSize, int length) =>
        Forward(inputs, targets, batchSize, length, out _);

    /// <inheritdoc/>
    public float ForwardBackward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batchSize, int length, float lossScale, ulong dropoutSeed)
    {
        float loss = Forward(inputs, targets, batchSize, length, out int counted);
        int bt = batchSize * length;
        var dlosses = _dlosses.AsSpan(0, bt);
        dlosses.Fill(counted == 0 ? 0f : lossScale / counted);
        var logits = _logits.AsSpan(0, bt * _v);
        Backend.SoftmaxCrossEntropyBackward(logits, dlosses, logits, targets, bt, _v); // in place
        Backend.EncoderBackward(Gradients[_table], _positionGrad.AsSpan(0, length * _v), logits, inputs, batchSize, length, _v);
        Array.Clear(_positionGrad); // position gradients are meaningless for a bigram; keep the scratch from growing
        return loss;
    }

    private float Forward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int b, int t, out int counted)
    {
        int bt = b * t;
        if (_logits.Length < bt * _v)
        {
            _logits = new float[bt * _v];
            _losses = new float[bt];
            _dlosses = new float[bt];
        }
        var logits = _logits.AsSpan(0, bt * _v);
        var losses = _losses.AsSpan(0, bt);
        Backend.EncoderForward(logits, inputs[..bt], Parameters[_table], _zeroPositions.AsSpan(0, t * _v), b, t, _v);
        Backend.SoftmaxCrossEntropyForward(losses, logits, logits, targets[..bt], bt, _v);
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

    /// <inheritdoc/>
    IIncrementalDecoder ITrainableModel.CreateDecoder(int maxBatch) => new Decoder(this, maxBatch);

    /// <summary>The bigram needs no cache: the next logits are the table row of the last token.</summary>
    private sealed class Decoder(BigramModel model, int maxBatch) : IIncrementalDecoder
    {
        private readonly float[] _zeros = new float[model._v];

        public int MaxBatch { get; } = maxBatch >= 1 ? maxBatch : throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, "Batch size must be at least 1.");

        public void Prefill(int row, ReadOnlySpan<int> tokens, Span<float> logits) =>
            model.Backend.EncoderForward(logits[..model._v], tokens[^1..], model.Parameters[model._table], _zeros, 1, 1, model._v);

        public void Decode(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, int batchSize, Span<float> logits) =>
            model.Backend.EncoderForward(logits[..(batchSize * model._v)], tokens[..batchSize], model.Parameters[model._table], _zeros, batchSize, 1, model._v);
    }
}
