// Generation settings of a fitted model, saved with it: sampling (Models' SamplingOptions), stop texts, seed and batch size.
using System.Text.Json.Serialization;
using MLNetGpt.Models.Sampling;

namespace MLNetGpt;

/// <summary>
/// How a <see cref="TextGenerationTransformer"/> generates. Row r of a view is sampled from a random stream seeded by
/// (<see cref="Seed"/>, r), so the output does not depend on <see cref="GenerationBatchSize"/>, threads or which cursor
/// asks. The sampling knobs are <see cref="SamplingOptions"/>'s and keep its defaults; the JSON names are the pipeline
/// files' <c>generate</c> keys.
/// </summary>
public sealed record TextGenerationOptions
{
    private SamplingOptions _sampling = new();

    /// <summary>New tokens per row (fewer when a stop sequence ends it); ≥ 0. Default <see cref="SamplingOptions.MaxNewTokens"/> (100).</summary>
    [JsonPropertyName("max_new_tokens")]
    public int MaxNewTokens { get => _sampling.MaxNewTokens; init => _sampling = _sampling with { MaxNewTokens = value }; }

    /// <summary>Logits are divided by this; 0 is greedy decoding. Default <see cref="SamplingOptions.Temperature"/> (1).</summary>
    [JsonPropertyName("temperature")]
    public float Temperature { get => _sampling.Temperature; init => _sampling = _sampling with { Temperature = value }; }

    /// <summary>Sample among the k most likely tokens only; 0 disables. Default <see cref="SamplingOptions.TopK"/> (0).</summary>
    [JsonPropertyName("top_k")]
    public int TopK { get => _sampling.TopK; init => _sampling = _sampling with { TopK = value }; }

    /// <summary>Nucleus sampling mass; 1 disables. Default <see cref="SamplingOptions.TopP"/> (1).</summary>
    [JsonPropertyName("top_p")]
    public float TopP { get => _sampling.TopP; init => _sampling = _sampling with { TopP = value }; }

    /// <summary>
    /// Texts that end a row's generation: the output is cut just before the first occurrence of any of them. A stop
    /// sequence that is a single token also stops that row's sampling early. Default none.
    /// </summary>
    [JsonPropertyName("stop_sequences")]
    public IReadOnlyList<string> StopSequences { get; init; } = [];

    /// <summary>
    /// Base seed of sampling. Null (default): a trainer fills in a seed drawn from its MLContext's random source (so
    /// <c>new MLContext(seed)</c> fixes it), which is then saved with the model.
    /// </summary>
    [JsonPropertyName("seed")]
    public long? Seed { get; init; }

    /// <summary>Rows generated together in one batched forward pass with a KV cache (memory ∝ this). Default 32.</summary>
    [JsonPropertyName("batch_size")]
    public int GenerationBatchSize { get; init; } = 32;

    /// <summary>Prompt used for an empty row: its encoding starts generation. Default "\n" (nanoGPT's sample.py start); when the
    /// tokenizer cannot encode it, token id 0 is used.</summary>
    [JsonPropertyName("empty_prompt_text")]
    public string EmptyPromptText { get; init; } = "\n";

    /// <summary>The sampling part as the Models record.</summary>
    [JsonIgnore]
    public SamplingOptions Sampling => _sampling;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> or <see cref="ArgumentException"/> naming the first invalid setting and its value.</summary>
    public void Validate()
    {
        _sampling.Validate();
        if (GenerationBatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(GenerationBatchSize), GenerationBatchSize, "GenerationBatchSize must be at least 1.");
        ArgumentNullException.ThrowIfNull(StopSequences, nameof(StopSequences));
        if (StopSequences.Any(string.IsNullOrEmpty))
            throw new ArgumentException("Stop sequences must be non-empty strings.", nameof(StopSequences));
        ArgumentNullException.ThrowIfNull(EmptyPromptText, nameof(EmptyPromptText));
    }

    /// <summary>The sampling options with the seed (defaulting to SamplingOptions' own) and the given stop token ids.</summary>
    internal SamplingOptions ToSampling(IReadOnlyList<int> stopTokens) => _sampling with
    {
        Seed = Seed is { } s ? unchecked((ulong)s) : _sampling.Seed,
        StopTokens = stopTokens,
    };
}
