// Serializes access to one model's generator: the KV cache and scratch buffers are per model, not per call.
using MLNetGpt.Models;
using MLNetGpt.Models.Sampling;

namespace MLNetGpt;

/// <summary>
/// Owns a model and a lazily created <see cref="TextGenerator"/>; every generation and evaluation runs under one lock,
/// which makes transformers, cursors and the thread-safe <see cref="TextGenerationTransformer.Generate"/> over the same
/// model safe to use from many threads. (Each batched call already uses every core, so serializing costs little.)
/// </summary>
internal sealed class LanguageModelHandle(ILanguageModel model)
{
    private readonly Lock _lock = new();
    private TextGenerator? _generator;

    public ILanguageModel Model { get; } = model;

    public IReadOnlyList<int[]> Generate(IReadOnlyList<int[]> prompts, SamplingOptions options, ReadOnlySpan<long> rowIds, int batchSize,
        CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            // A generator with a larger KV cache serves smaller requests with identical results (rows are seeded by id),
            // so alternating batch sizes (a view, then single prompts) never reallocates the cache.
            if (_generator is null || _generator.MaxBatchSize < batchSize) _generator = TextGenerator.Create(Model, batchSize);
            return _generator.Generate(prompts, options, rowIds, cancellationToken);
        }
    }

    public void SaveWeights(Stream destination)
    {
        lock (_lock) Model.SaveWeights(destination);
    }

    public double EvaluateLoss(int[] tokens, int batchSize, int maxBatches, CancellationToken cancellationToken)
    {
        lock (_lock) return Model.EvaluateLoss(tokens, batchSize, maxBatches, cancellationToken);
    }
}
