// Model configurations as data: immutable records serialized to JSON (nanoGPT key names) inside weight and checkpoint files.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLNetGpt.Models;

/// <summary>Activation function of the GPT's MLP.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Activation>))]
public enum Activation
{
    /// <summary>max(x, 0), as in the "Let's build GPT" lecture.</summary>
    [JsonStringEnumMemberName("relu")]
    Relu,

    /// <summary>GELU with the tanh approximation, as in GPT-2.</summary>
    [JsonStringEnumMemberName("gelu")]
    Gelu,
}

/// <summary>
/// Common part of every model configuration. Serialized as JSON with a "kind" discriminator ("bigram" or "gpt");
/// unknown keys are rejected so that a typo in a configuration file is an error, not a silent default.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(BigramConfig), "bigram")]
[JsonDerivedType(typeof(GptConfig), "gpt")]
public abstract record LanguageModelConfig
{
    /// <summary>Number of token ids V; every token must be in [0, V). Default 65 (Tiny Shakespeare's characters).</summary>
    [JsonPropertyName("vocab_size")]
    public int VocabularySize { get; init; } = 65;

    /// <summary>Longest context the model sees, T. Default 8.</summary>
    [JsonPropertyName("block_size")]
    public int BlockSize { get; init; } = 8;

    /// <summary>"bigram" or "gpt".</summary>
    [JsonIgnore]
    public abstract string Kind { get; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field and its value.</summary>
    public virtual void Validate()
    {
        if (VocabularySize < 1) throw new ArgumentOutOfRangeException(nameof(VocabularySize), VocabularySize, "vocab_size must be at least 1.");
        if (BlockSize < 1) throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, "block_size must be at least 1.");
    }

    /// <summary>The configuration as indented JSON with its "kind".</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Parses JSON written by <see cref="ToJson"/>; unknown keys and a missing or unknown "kind" throw <see cref="FormatException"/>.</summary>
    public static LanguageModelConfig FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        LanguageModelConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<LanguageModelConfig>(json, JsonOptions);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            throw new FormatException($"Invalid model configuration JSON: {e.Message}", e);
        }
        if (config is null) throw new FormatException("Model configuration JSON is null.");
        config.Validate();
        return config;
    }

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = false,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowOutOfOrderMetadataProperties = true,
    };
}

/// <summary>The bigram baseline: a V×V table whose row for the current token holds the logits of the next one.</summary>
public sealed record BigramConfig : LanguageModelConfig
{
    /// <inheritdoc/>
    [JsonIgnore]
    public override string Kind => "bigram";
}

/// <summary>
/// A GPT (nanoGPT / GPT-2 architecture: pre-LayerNorm blocks, causal self-attention, 4×C MLP, final LayerNorm).
/// Defaults are the <c>nanogpt-cpu</c> benchmark configuration.
/// </summary>
public sealed record GptConfig : LanguageModelConfig
{
    /// <summary>Creates the default configuration (block size 64).</summary>
    public GptConfig() => BlockSize = 64;

    /// <summary>Number of transformer blocks (n_layer). Default 4.</summary>
    [JsonPropertyName("n_layer")]
    public int LayerCount { get; init; } = 4;

    /// <summary>Number of attention heads (n_head); must divide <see cref="EmbeddingSize"/>. Default 4.</summary>
    [JsonPropertyName("n_head")]
    public int HeadCount { get; init; } = 4;

    /// <summary>Channels C (n_embd). Default 128.</summary>
    [JsonPropertyName("n_embd")]
    public int EmbeddingSize { get; init; } = 128;

    /// <summary>
    /// Dropout probability in training mode, applied to the embedding output and to both residual branches (after attn.c_proj
    /// and mlp.c_proj). Unlike nanoGPT, attention probabilities are not dropped (the fused attention kernel keeps them for backward).
    /// Default 0.
    /// </summary>
    [JsonPropertyName("dropout")]
    public float Dropout { get; init; }

    /// <summary>Biases in the linear layers and LayerNorms (GPT-2: true; nanoGPT's CPU recipe: false). Default false.</summary>
    [JsonPropertyName("bias")]
    public bool Bias { get; init; }

    /// <summary>MLP activation. Default <see cref="Activation.Gelu"/>.</summary>
    [JsonPropertyName("activation")]
    public Activation Activation { get; init; } = Activation.Gelu;

    /// <summary>
    /// Weight tying: the LM head reuses wte [V,C] (GPT-2 and nanoGPT do). When false, a separate "lm_head.weight" [V,C] exists.
    /// Default true.
    /// </summary>
    [JsonPropertyName("tie_weights")]
    public bool TieWeights { get; init; } = true;

    /// <inheritdoc/>
    [JsonIgnore]
    public override string Kind => "gpt";

    /// <summary>Channels per head, C / NH.</summary>
    [JsonIgnore]
    public int HeadSize => EmbeddingSize / HeadCount;

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        if (LayerCount < 1) throw new ArgumentOutOfRangeException(nameof(LayerCount), LayerCount, "n_layer must be at least 1.");
        if (HeadCount < 1) throw new ArgumentOutOfRangeException(nameof(HeadCount), HeadCount, "n_head must be at least 1.");
        if (EmbeddingSize < 1) throw new ArgumentOutOfRangeException(nameof(EmbeddingSize), EmbeddingSize, "n_embd must be at least 1.");
        if (EmbeddingSize % HeadCount != 0)
            throw new ArgumentException($"n_embd ({EmbeddingSize}) must be divisible by n_head ({HeadCount}).", nameof(HeadCount));
        if (!(Dropout >= 0f && Dropout < 1f)) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "dropout must be in [0, 1).");
        if (!Enum.IsDefined(Activation)) throw new ArgumentOutOfRangeException(nameof(Activation), Activation, "Unknown activation.");
    }
}
