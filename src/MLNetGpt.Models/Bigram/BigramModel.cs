// The bigram baseline: a V×V table whose row for the current token is the logits of the next token. No GPT machinery:
// training takes one softmax per table row (through the backend) and gathers the B·T losses and gradients from it.
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
    private readonly float[] _zeroPositions;
    private readonly float[] _probs, _rowLosses;
    private readonly int[] _ignoreTargets, _counts;

    private BigramModel(BigramConfig config, IComputeBackend backend, Arena? parameters = null)
    {
        config.Validate();
        BigramConfig = config;
        Backend = backend;
        _v = config.VocabularySize;
        var b = ArenaLayout.CreateBuilder();
        _table = b.Add(TableName, true, _v, _v);
        var layout = b.Build();
        Parameters = parameters ?? Arena.Create(layout);
        Gradients = Arena.Create(layout);
        // The encoder kernel adds a position row; the bigram has none, so it gets zeros, and their gradient goes to a scratch.
        _zeroPositions = new float[config.BlockSize * _v];
        _probs = new float[_v * _v];
        _rowLosses = new float[_v];
        _ignoreTargets = new int[_v];
        Array.Fill(_ignoreTargets, -1); // the row softmax only: no loss is read from the kernel
        _counts = new int[_v];
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

    /// <summary>A bigram model over this one's table (shared, not copied) running on <paramref name="backend"/>.</summary>
    internal BigramModel WithBackend(IComputeBackend backend) => new(BigramConfig, backend, Parameters);

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
        Forward(inputs, targets, batchSize * length, out _);

    /// <inheritdoc/>
    public float ForwardBackward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batchSize, int length, float lossScale, ulong dropoutSeed)
    {
        int bt = batchSize * length;
        float loss = Forward(inputs, targets, bt, out int counted);
        if (counted == 0) return loss;
        // ∂loss/∂table[x] = Σ over positions i with input x of (softmax(table[x]) - onehot(y_i)) · scale
        //                 = scale · (count[x] · probs[x] - Σ_i onehot(y_i)): one pass over the rows used, one over the positions.
        float scale = lossScale / counted;
        var grad = Gradients[_table];
        var counts = _counts.AsSpan();
        counts.Clear();
        for (int i = 0; i < bt; i++) if (targets[i] >= 0) counts[inputs[i]]++;
        for (int x = 0; x < _v; x++)
        {
            if (counts[x] == 0) continue;
            float w = scale * counts[x];
            var g = grad.Slice(x * _v, _v);
            var p = _probs.AsSpan(x * _v, _v);
            for (int j = 0; j < _v; j++) g[j] += w * p[j];
        }
        for (int i = 0; i < bt; i++) if (targets[i] >= 0) grad[inputs[i] * _v + targets[i]] -= scale;
        return loss;
    }

    /// <summary>
    /// Mean loss over positions whose target is not -1. The logits of a position are the table row of its input, so the softmax
    /// is computed once per table row (V rows, through the backend) instead of once per position (B·T rows).
    /// </summary>
    private float Forward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int bt, out int counted)
    {
        if (inputs.Length < bt || targets.Length < bt)
            throw new ArgumentException($"inputs and targets need {bt} ids (got {inputs.Length} and {targets.Length}).");
        Backend.SoftmaxCrossEntropyForward(_rowLosses, _probs, Parameters[_table], _ignoreTargets, _v, _v);
        counted = 0;
        double sum = 0;
        for (int i = 0; i < bt; i++)
        {
            int x = inputs[i], y = targets[i];
            if ((uint)x >= (uint)_v) throw new ArgumentOutOfRangeException(nameof(inputs), x, $"Token id {x} at index {i} is outside [0,{_v}).");
            if (y < 0) continue;
            if (y >= _v) throw new ArgumentOutOfRangeException(nameof(targets), y, $"Target {y} at index {i} is outside [0,{_v}).");
            counted++;
            sum += -MathF.Log(MathF.Max(_probs[x * _v + y], float.Epsilon));
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

        public IComputeBackend Backend { get; set; } = model.Backend;

        public IIncrementalDecoder CreateSibling(int maxBatch) => new Decoder(model, maxBatch);

        public void RefreshWeights() { } // reads the table directly

        public void Prefill(int row, ReadOnlySpan<int> tokens, Span<float> logits) =>
            Backend.EncoderForward(logits[..model._v], tokens[^1..], model.Parameters[model._table], _zeros, 1, 1, model._v);

        public void Prefill(ReadOnlySpan<int> rows, ReadOnlySpan<int> tokens, ReadOnlySpan<int> lengths, Span<float> logits)
        {
            int at = 0, v = model._v;
            for (int i = 0; i < rows.Length; i++)
            {
                at += lengths[i];
                Prefill(rows[i], tokens.Slice(at - 1, 1), logits.Slice(i * v, v));
            }
        }

        public void Decode(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, int batchSize, Span<float> logits) =>
            Backend.EncoderForward(logits[..(batchSize * model._v)], tokens[..batchSize], model.Parameters[model._table], _zeros, batchSize, 1, model._v);
    }
}
