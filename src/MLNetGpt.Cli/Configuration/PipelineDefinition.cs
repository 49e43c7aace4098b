// The pipeline file (pipelines/*.json) as data: every knob named, snake_case keys grouped in sections, with defaults.
namespace MLNetGpt.Cli.Configuration;

/// <summary>Marks a property as a configuration key and gives its snake_case name and description.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ConfigKeyAttribute(string name, string description) : Attribute
{
    /// <summary>The key as written in JSON and in overrides.</summary>
    public string Name { get; } = name;

    /// <summary>What the key controls (shown by `mlnetgpt train --help-keys`).</summary>
    public string Description { get; } = description;
}

/// <summary>A whole pipeline: data, tokenizer, model, training and generation settings.</summary>
public sealed class PipelineDefinition
{
    [ConfigKey("name", "Name of the pipeline, used for the run folder.")] public string Name { get; set; } = "pipeline";
    [ConfigKey("data", "Where the corpus comes from and how it is split.")] public DataSection Data { get; set; } = new();
    [ConfigKey("tokenizer", "How text becomes token ids.")] public TokenizerSection Tokenizer { get; set; } = new();
    [ConfigKey("model", "The model architecture.")] public ModelSection Model { get; set; } = new();
    [ConfigKey("train", "The training recipe.")] public TrainSection Train { get; set; } = new();
    [ConfigKey("generate", "Sampling after training.")] public GenerateSection Generate { get; set; } = new();
}

/// <summary>Corpus settings.</summary>
public sealed class DataSection
{
    [ConfigKey("source", "'tinyshakespeare' (download or cache, checksum-verified) or 'file' (use data.path).")] public string Source { get; set; } = "tinyshakespeare";
    [ConfigKey("path", "Local text file; for tinyshakespeare a local copy that skips the download. Empty: MLNETGPT_DATA or the cache.")] public string? Path { get; set; }
    [ConfigKey("val_fraction", "Fraction of the text (taken from the end) held out for validation.")] public double ValFraction { get; set; } = 0.1;
}

/// <summary>Tokenizer settings.</summary>
public sealed class TokenizerSection
{
    [ConfigKey("type", "'char' (characters of the corpus), 'bpe' (byte-level BPE trained on the corpus), 'gpt2' or 'cl100k_base' (needs tiktoken_path).")] public string Type { get; set; } = "char";
    [ConfigKey("vocab_size", "Target vocabulary size for 'bpe' (≥ 256).")] public int VocabSize { get; set; } = 512;
    [ConfigKey("pattern", "Pre-tokenization for 'bpe': 'gpt4', 'gpt2' or 'none'.")] public string Pattern { get; set; } = "gpt4";
    [ConfigKey("tiktoken_path", "A .tiktoken rank file for 'gpt2'/'cl100k_base'.")] public string? TiktokenPath { get; set; }
}

/// <summary>Model architecture.</summary>
public sealed class ModelSection
{
    [ConfigKey("type", "'gpt' or 'bigram'.")] public string Type { get; set; } = "gpt";
    [ConfigKey("n_layer", "Transformer blocks.")] public int NLayer { get; set; } = 4;
    [ConfigKey("n_head", "Attention heads per block (must divide n_embd).")] public int NHead { get; set; } = 4;
    [ConfigKey("n_embd", "Embedding width.")] public int NEmbd { get; set; } = 128;
    [ConfigKey("block_size", "Context length in tokens.")] public int BlockSize { get; set; } = 64;
    [ConfigKey("dropout", "Dropout probability during training.")] public double Dropout { get; set; }
    [ConfigKey("bias", "Biases in linear layers and LayerNorm.")] public bool Bias { get; set; }
    [ConfigKey("activation", "'gelu' (GPT-2) or 'relu' (the lecture).")] public string Activation { get; set; } = "gelu";
    [ConfigKey("tie_weights", "Share the token embedding with the output head.")] public bool TieWeights { get; set; } = true;
}

/// <summary>Training recipe.</summary>
public sealed class TrainSection
{
    [ConfigKey("max_iters", "Optimizer steps.")] public int MaxIters { get; set; } = 2000;
    [ConfigKey("batch_size", "Sequences per step.")] public int BatchSize { get; set; } = 12;
    [ConfigKey("learning_rate", "Peak learning rate.")] public double LearningRate { get; set; } = 1e-3;
    [ConfigKey("min_lr", "Learning rate at the end of the cosine decay.")] public double MinLr { get; set; } = 1e-4;
    [ConfigKey("warmup_iters", "Linear warmup steps.")] public int WarmupIters { get; set; } = 100;
    [ConfigKey("decay_lr", "Cosine decay from learning_rate to min_lr (false: constant).")] public bool DecayLr { get; set; } = true;
    [ConfigKey("weight_decay", "AdamW weight decay (2-D weights only).")] public double WeightDecay { get; set; } = 0.1;
    [ConfigKey("beta1", "AdamW β1.")] public double Beta1 { get; set; } = 0.9;
    [ConfigKey("beta2", "AdamW β2.")] public double Beta2 { get; set; } = 0.99;
    [ConfigKey("grad_clip", "Clip the global gradient norm to this (0 = off).")] public double GradClip { get; set; } = 1.0;
    [ConfigKey("grad_accum", "Micro-batches accumulated per step.")] public int GradAccum { get; set; } = 1;
    [ConfigKey("eval_interval", "Steps between validation estimates.")] public int EvalInterval { get; set; } = 250;
    [ConfigKey("eval_iters", "Batches per loss estimate.")] public int EvalIters { get; set; } = 50;
    [ConfigKey("checkpoint_interval", "Steps between checkpoints in the run folder (0 = only at the end or on Ctrl+C).")] public int CheckpointInterval { get; set; } = 500;
    [ConfigKey("seed", "Seed of the whole run.")] public int Seed { get; set; } = 1337;
    [ConfigKey("threads", "CPU threads (0 = all cores).")] public int Threads { get; set; }
}

/// <summary>Sampling settings for the sample written after training and for `generate` defaults.</summary>
public sealed class GenerateSection
{
    [ConfigKey("prompt", "Text the sample starts from (empty: a newline).")] public string Prompt { get; set; } = "\n";
    [ConfigKey("max_new_tokens", "Tokens to generate.")] public int MaxNewTokens { get; set; } = 500;
    [ConfigKey("temperature", "Softmax temperature (0 = greedy).")] public double Temperature { get; set; } = 0.8;
    [ConfigKey("top_k", "Keep the k most likely tokens (0 = all).")] public int TopK { get; set; }
    [ConfigKey("top_p", "Nucleus sampling mass (1 = off).")] public double TopP { get; set; } = 1.0;
    [ConfigKey("seed", "Sampling seed.")] public int Seed { get; set; } = 42;
    [ConfigKey("batch_size", "Prompts generated together.")] public int BatchSize { get; set; } = 32;
}
