// Options of the bigram and GPT trainers: model size, training recipe, validation data, device, progress, cancellation, checkpoints.
using MLNetGpt.Models;
using MLNetGpt.Models.Training;

namespace MLNetGpt.Pipelines;

/// <summary>
/// What the bigram and GPT trainers share. Defaults follow nanoGPT's shakespeare_char recipe scaled to CPU (see
/// <see cref="TrainingOptions"/> for the formulas). Set with object initializers: <c>new GptTrainer.Options { MaxIterations = 500 }</c>.
/// </summary>
public abstract record LanguageModelTrainerOptions
{
    /// <summary>The token id column to train on (Vector&lt;Int32&gt; with a tokenizer annotation, from a Tokenize* step). Default "Tokens".</summary>
    public string TokenColumnName { get; init; } = "Tokens";

    /// <summary>The generated text column of the fitted transformer. Default "Generated".</summary>
    public string OutputColumnName { get; init; } = "Generated";

    /// <summary>Optional column of generated token ids; null (default) for none.</summary>
    public string? OutputTokenColumnName { get; init; }

    /// <summary>Context length T of the model. Default: 8 for bigram, 64 for GPT.</summary>
    public abstract int BlockSize { get; init; }

    /// <summary>Rows per micro-batch. Default 12.</summary>
    public int BatchSize { get; init; } = 12;

    /// <summary>Optimizer steps. Default 2000.</summary>
    public int MaxIterations { get; init; } = 2000;

    /// <summary>Peak learning rate. Default 1e-3.</summary>
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>Final learning rate of the cosine schedule. Default 1e-4.</summary>
    public float MinLearningRate { get; init; } = 1e-4f;

    /// <summary>Linear warmup steps. Default 100.</summary>
    public int WarmupIterations { get; init; } = 100;

    /// <summary>Step at which the cosine reaches the minimum; 0 means <see cref="MaxIterations"/>. Default 0.</summary>
    public int LearningRateDecayIterations { get; init; }

    /// <summary>False keeps the learning rate constant (no warmup or decay). Default true.</summary>
    public bool DecayLearningRate { get; init; } = true;

    /// <summary>AdamW weight decay on 2-D tensors. Default 0.1.</summary>
    public float WeightDecay { get; init; } = 0.1f;

    /// <summary>AdamW β1. Default 0.9.</summary>
    public float Beta1 { get; init; } = 0.9f;

    /// <summary>AdamW β2. Default 0.99 (nanoGPT's small-model setting; PyTorch's default is 0.999).</summary>
    public float Beta2 { get; init; } = 0.99f;

    /// <summary>Global gradient-norm clip; 0 disables. Default 1.</summary>
    public float GradientClip { get; init; } = 1f;

    /// <summary>Micro-batches per step. Default 1.</summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Estimate train/validation loss every this many steps (and at the end); 0 only at the end. Default 250.</summary>
    public int EvalInterval { get; init; } = 250;

    /// <summary>Batches per loss estimate. Default 200.</summary>
    public int EvalIterations { get; init; } = 200;

    /// <summary>Report progress every this many steps. Default 10.</summary>
    public int LogInterval { get; init; } = 10;

    /// <summary>
    /// Validation data: a view with the token id column, or with the text column the tokenizer step reads (it is tokenized
    /// with the fitted tokenizer). Null (default): no validation loss.
    /// </summary>
    public IDataView? ValidationData { get; init; }

    /// <summary>Compute device: "cpu" (default) or "reference" (see <see cref="ComputeDevices"/>).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Threads of the device; 0 (default) uses all cores. Results are deterministic for a given thread count.</summary>
    public int Threads { get; init; }

    /// <summary>Receives a report every <see cref="LogInterval"/> steps and after each evaluation. Default none.</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }

    /// <summary>
    /// Stops training between steps. Fit then returns the model trained so far, with
    /// <see cref="TextGenerationTransformer.TrainingResult"/>.Cancelled set (the checkpoint hook runs first). Default none.
    /// </summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Called every <see cref="CheckpointInterval"/> steps, on cancellation and at the end, with the live trainer
    /// (call <c>SaveCheckpoint(path)</c> on it). Default none.</summary>
    public Action<LanguageModelTrainer>? Checkpoint { get; init; }

    /// <summary>Calls <see cref="Checkpoint"/> every this many steps; 0 only on cancellation and at the end. Default 0.</summary>
    public int CheckpointInterval { get; init; }

    /// <summary>When set, training resumes from this checkpoint file (its model and optimizer state) instead of a fresh model.</summary>
    public string? ResumeFromCheckpoint { get; init; }

    /// <summary>
    /// Seed of initialization, batches and dropout. Null (default): derived from the MLContext seed and this trainer's
    /// position in the chain.
    /// </summary>
    public int? Seed { get; init; }

    /// <summary>Generation settings of the fitted transformer. Default <see cref="TextGenerationOptions"/>'s defaults.</summary>
    public TextGenerationOptions Generation { get; init; } = new();

    /// <summary>The model configuration for a vocabulary of <paramref name="vocabularySize"/> ids.</summary>
    public abstract LanguageModelConfig CreateConfig(int vocabularySize);

    internal TrainingOptions ToTrainingOptions(ulong seed) => new()
    {
        MaxIters = MaxIterations,
        BatchSize = BatchSize,
        LearningRate = LearningRate,
        MinLearningRate = MinLearningRate,
        WarmupIters = WarmupIterations,
        LearningRateDecayIters = LearningRateDecayIterations,
        DecayLearningRate = DecayLearningRate,
        WeightDecay = WeightDecay,
        Beta1 = Beta1,
        Beta2 = Beta2,
        GradientClip = GradientClip,
        GradientAccumulationSteps = GradientAccumulationSteps,
        EvalInterval = EvalInterval,
        EvalIters = EvalIterations,
        LogInterval = LogInterval,
        CheckpointInterval = CheckpointInterval,
        Seed = seed,
        Threads = Threads,
    };
}

/// <summary>Trains the bigram baseline (a V×V logit table).</summary>
public static class BigramTrainer
{
    /// <summary>Bigram trainer options; the model has no size knobs besides the block size used for batches.</summary>
    public sealed record Options : LanguageModelTrainerOptions
    {
        /// <summary>Window length of training batches. Default 8.</summary>
        public override int BlockSize { get; init; } = 8;

        /// <inheritdoc/>
        public override LanguageModelConfig CreateConfig(int vocabularySize) =>
            new BigramConfig { VocabularySize = vocabularySize, BlockSize = BlockSize };
    }
}

/// <summary>Trains a GPT (nanoGPT architecture). Defaults are the nanogpt-cpu size: 4 layers, 4 heads, 128 channels, block 64.</summary>
public static class GptTrainer
{
    /// <summary>GPT trainer options.</summary>
    public sealed record Options : LanguageModelTrainerOptions
    {
        /// <summary>Context length. Default 64.</summary>
        public override int BlockSize { get; init; } = 64;

        /// <summary>Transformer blocks (n_layer). Default 4.</summary>
        public int LayerCount { get; init; } = 4;

        /// <summary>Attention heads (n_head); must divide <see cref="EmbeddingSize"/>. Default 4.</summary>
        public int HeadCount { get; init; } = 4;

        /// <summary>Channels (n_embd). Default 128.</summary>
        public int EmbeddingSize { get; init; } = 128;

        /// <summary>Dropout in training. Default 0.</summary>
        public float Dropout { get; init; }

        /// <summary>Biases in linear layers and LayerNorms. Default false.</summary>
        public bool Bias { get; init; }

        /// <summary>MLP activation. Default GELU.</summary>
        public Activation Activation { get; init; } = Activation.Gelu;

        /// <summary>Share the token embedding with the output head (GPT-2). Default true.</summary>
        public bool TieWeights { get; init; } = true;

        /// <inheritdoc/>
        public override LanguageModelConfig CreateConfig(int vocabularySize) => new GptConfig
        {
            VocabularySize = vocabularySize,
            BlockSize = BlockSize,
            LayerCount = LayerCount,
            HeadCount = HeadCount,
            EmbeddingSize = EmbeddingSize,
            Dropout = Dropout,
            Bias = Bias,
            Activation = Activation,
            TieWeights = TieWeights,
        };
    }
}
