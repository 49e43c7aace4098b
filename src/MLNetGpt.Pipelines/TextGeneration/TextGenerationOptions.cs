// How the generator transformer samples: length, temperature, top-k/top-p, stop sequences, seed and batch size.
using MLNetGpt.Models.Sampling;

namespace MLNetGpt.Pipelines;

/// <summary>
/// Generation settings of a <see cref="TextGenerationTransformer"/>, saved with the model. Row r of a view is sampled from a
/// stream seeded by (<see cref="Seed"/>, r), so the output does not depend on <see cref="GenerationBatchSize"/> or threads.
/// </summary>
public sealed record TextGenerationOptions
{
    /// <summary>New tokens per row (fewer when a stop sequence ends it). Must be ≥ 0. Default 100.</summary>
    public int MaxNewTokens { get; init; } = 100;

    /// <summary>Logits are divided by this; 0 is greedy decoding. Default 1.</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Sample among the k most likely tokens only; 0 disables. Default 0.</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus sampling: the smallest set of tokens whose probability reaches p; 1 disables. Default 1.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>
    /// Texts that end a row's generation: the output is cut just before the first occurrence of any of them.
    /// A stop sequence that is a single token also stops that row's sampling early. Default none.
    /// </summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [];

    /// <summary>
    /// Base seed of sampling. Null (default): a trainer fills in a seed derived from the MLContext seed and its chain
    /// position, which is then saved with the model; anywhere else null means <see cref="DefaultSeed"/>.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>The seed used when <see cref="Seed"/> is null outside a trainer: 1337 (nanoGPT's).</summary>
    public const long DefaultSeed = 1337;

    /// <summary>Rows generated together in one batched forward pass with a KV cache (memory ∝ this). Default 32.</summary>
    public int GenerationBatchSize { get; init; } = 32;

    /// <summary>Prompt used for an empty row: its encoding starts generation. Default "\n" (nanoGPT's sample.py start); when the
    /// tokenizer cannot encode it, token id 0 is used.</summary>
    public string EmptyPromptText { get; init; } = "\n";

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting and its value.</summary>
    public void Validate()
    {
        ToSampling([]).Validate();
        if (GenerationBatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(GenerationBatchSize), GenerationBatchSize, "GenerationBatchSize must be at least 1.");
        ArgumentNullException.ThrowIfNull(StopSequences, nameof(StopSequences));
        if (StopSequences.Any(string.IsNullOrEmpty))
            throw new ArgumentException("Stop sequences must be non-empty strings.", nameof(StopSequences));
        ArgumentNullException.ThrowIfNull(EmptyPromptText, nameof(EmptyPromptText));
    }

    internal SamplingOptions ToSampling(IReadOnlyList<int> stopTokens) => new()
    {
        MaxNewTokens = MaxNewTokens,
        Temperature = Temperature,
        TopK = TopK,
        TopP = TopP,
        Seed = unchecked((ulong)(Seed ?? DefaultSeed)),
        StopTokens = stopTokens,
    };
}
