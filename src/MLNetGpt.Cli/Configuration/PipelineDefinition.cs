// The pipeline file (pipelines/*.json) as data: the Models' and ML layer's own option records, plus the CLI's data and tokenizer choices.
using System.Text.Json.Serialization;
using MLNetGpt.Models;
using MLNetGpt.Models.Training;
using MLNetGpt.Tokenizers;

namespace MLNetGpt.Cli.Configuration;

/// <summary>
/// A whole pipeline. The <c>model</c>, <c>train</c> and <c>generate</c> sections bind onto the records the library uses
/// (<see cref="GptConfig"/>/<see cref="BigramConfig"/>, <see cref="TrainingOptions"/>, <see cref="TextGenerationOptions"/>),
/// so a key has one name and one default wherever it is set; <c>mlnetgpt keys</c> lists them.
/// </summary>
public sealed record PipelineDefinition
{
    /// <summary>Name of the pipeline: the run folder is runs/NAME-TIMESTAMP. Letters, digits, '-', '_' and '.' only.</summary>
    public string Name { get; init; } = "pipeline";

    /// <summary>Compute device: "cpu", "reference", "cuda" or "cuda:N" (see <see cref="ComputeDevices"/>).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Where the corpus comes from and how it is split.</summary>
    public DataSection Data { get; init; } = new();

    /// <summary>How text becomes token ids.</summary>
    public TokenizerSection Tokenizer { get; init; } = new();

    /// <summary>The architecture; its vocabulary size is set from the tokenizer when training starts.</summary>
    public LanguageModelConfig Model { get; init; } = new GptConfig();

    /// <summary>The training recipe.</summary>
    public TrainingOptions Train { get; init; } = new();

    /// <summary>Sampling after training and the defaults of <c>generate</c>.</summary>
    public GenerateSection Generate { get; init; } = new();
}

/// <summary>Corpus settings.</summary>
public sealed record DataSection
{
    /// <summary>'tinyshakespeare' (download or cache, checksum-verified) or 'file' (data.path).</summary>
    [JsonPropertyName("source")] public string Source { get; init; } = "tinyshakespeare";

    /// <summary>A local text file; for tinyshakespeare a local copy that skips the download. Empty: --from, MLNETGPT_DATA or the cache.</summary>
    [JsonPropertyName("path")] public string? Path { get; init; }

    /// <summary>Fraction of the text (taken from the end) held out for validation, in (0, 1).</summary>
    [JsonPropertyName("val_fraction")] public double ValFraction { get; init; } = 0.1;
}

/// <summary>Tokenizer settings; the BPE knobs default to <see cref="BpeTrainerOptions"/>'.</summary>
public sealed record TokenizerSection
{
    private static readonly BpeTrainerOptions BpeDefaults = new();

    /// <summary>'char' (characters of the corpus), 'bpe' (byte-level BPE trained on the corpus), or a tiktoken encoding: gpt2, r50k_base, cl100k_base, o200k_base.</summary>
    [JsonPropertyName("type")] public string Type { get; init; } = "char";

    /// <summary>Vocabulary size for 'bpe' (≥ 256).</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = BpeDefaults.VocabularySize;

    /// <summary>Pre-tokenization split pattern for 'bpe': gpt4 (= cl100k), gpt2 or none.</summary>
    [JsonPropertyName("pattern")] public string Pattern { get; init; } = BpeDefaults.Pattern.Name;
}

/// <summary>The generate section: a prompt plus <see cref="TextGenerationOptions"/> (whose keys sit beside it).</summary>
public sealed record GenerateSection
{
    /// <summary>Text the sample after training starts from (empty: a newline).</summary>
    public string Prompt { get; init; } = "\n";

    /// <summary>Sampling settings.</summary>
    public TextGenerationOptions Options { get; init; } = new();
}
