// What the bigram and GPT trainers share: the training recipe (Models' TrainingOptions), columns, validation, device, hooks.
using Microsoft.ML;
using MLNetGpt.Models;
using MLNetGpt.Models.Training;

namespace MLNetGpt;

/// <summary>
/// Options the bigram and GPT trainers share. The recipe is one <see cref="TrainingOptions"/> record (<see cref="Training"/>),
/// which holds every default; the flat properties (<see cref="MaxIterations"/>, <see cref="LearningRate"/>, ...) read and
/// write it, so <c>new GptTrainer.Options { MaxIterations = 500 }</c> and
/// <c>new GptTrainer.Options { Training = recipe }</c> describe the same thing. Set the record before the flat properties
/// in one initializer, or its values replace theirs.
/// </summary>
public abstract record LanguageModelTrainerOptions
{
    /// <summary>The training recipe; every knob and default lives there. Default <c>new TrainingOptions()</c>.</summary>
    public TrainingOptions Training { get; init; } = new();

    /// <summary>The model configuration for a vocabulary of <paramref name="vocabularySize"/> ids.</summary>
    public abstract LanguageModelConfig CreateConfig(int vocabularySize);

    /// <summary>Context length T of the model (the model record's block size).</summary>
    public abstract int BlockSize { get; init; }

    /// <summary>The token id column to train on (Vector&lt;Int32&gt; from a Tokenize* step). Default "Tokens".</summary>
    public string TokenColumnName { get; init; } = "Tokens";

    /// <summary>The generated text column of the fitted transformer. Default "Generated".</summary>
    public string OutputColumnName { get; init; } = "Generated";

    /// <summary>Optional column of generated token ids; null (default) for none.</summary>
    public string? OutputTokenColumnName { get; init; }

    /// <summary>Rows per micro-batch (<see cref="TrainingOptions.BatchSize"/>).</summary>
    public int BatchSize { get => Training.BatchSize; init => Training = Training with { BatchSize = value }; }

    /// <summary>Optimizer steps (<see cref="TrainingOptions.MaxIters"/>).</summary>
    public int MaxIterations { get => Training.MaxIters; init => Training = Training with { MaxIters = value }; }

    /// <summary>Peak learning rate (<see cref="TrainingOptions.LearningRate"/>).</summary>
    public float LearningRate { get => Training.LearningRate; init => Training = Training with { LearningRate = value }; }

    /// <summary>Final learning rate of the cosine schedule (<see cref="TrainingOptions.MinLearningRate"/>).</summary>
    public float MinLearningRate { get => Training.MinLearningRate; init => Training = Training with { MinLearningRate = value }; }

    /// <summary>Linear warmup steps (<see cref="TrainingOptions.WarmupIters"/>).</summary>
    public int WarmupIterations { get => Training.WarmupIters; init => Training = Training with { WarmupIters = value }; }

    /// <summary>Step at which the cosine reaches the minimum; 0 means <see cref="MaxIterations"/> (<see cref="TrainingOptions.LearningRateDecayIters"/>).</summary>
    public int LearningRateDecayIterations { get => Training.LearningRateDecayIters; init => Training = Training with { LearningRateDecayIters = value }; }

    /// <summary>False keeps the learning rate constant (<see cref="TrainingOptions.DecayLearningRate"/>).</summary>
    public bool DecayLearningRate { get => Training.DecayLearningRate; init => Training = Training with { DecayLearningRate = value }; }

    /// <summary>AdamW weight decay on 2-D tensors (<see cref="TrainingOptions.WeightDecay"/>).</summary>
    public float WeightDecay { get => Training.WeightDecay; init => Training = Training with { WeightDecay = value }; }

    /// <summary>AdamW β1 (<see cref="TrainingOptions.Beta1"/>).</summary>
    public float Beta1 { get => Training.Beta1; init => Training = Training with { Beta1 = value }; }

    /// <summary>AdamW β2 (<see cref="TrainingOptions.Beta2"/>).</summary>
    public float Beta2 { get => Training.Beta2; init => Training = Training with { Beta2 = value }; }

    /// <summary>Global gradient-norm clip; 0 disables (<see cref="TrainingOptions.GradientClip"/>).</summary>
    public float GradientClip { get => Training.GradientClip; init => Training = Training with { GradientClip = value }; }

    /// <summary>Micro-batches per step (<see cref="TrainingOptions.GradientAccumulationSteps"/>).</summary>
    public int GradientAccumulationSteps { get => Training.GradientAccumulationSteps; init => Training = Training with { GradientAccumulationSteps = value }; }

    /// <summary>Estimate losses every this many steps and at the end; 0 only at the end (<see cref="TrainingOptions.EvalInterval"/>).</summary>
    public int EvalInterval { get => Training.EvalInterval; init => Training = Training with { EvalInterval = value }; }

    /// <summary>Batches per loss estimate (<see cref="TrainingOptions.EvalIters"/>).</summary>
    public int EvalIterations { get => Training.EvalIters; init => Training = Training with { EvalIters = value }; }

    /// <summary>Report progress every this many steps (<see cref="TrainingOptions.LogInterval"/>).</summary>
    public int LogInterval { get => Training.LogInterval; init => Training = Training with { LogInterval = value }; }

    /// <summary>Calls <see cref="Checkpoint"/> every this many steps; 0 only on cancellation and at the end (<see cref="TrainingOptions.CheckpointInterval"/>).</summary>
    public int CheckpointInterval { get => Training.CheckpointInterval; init => Training = Training with { CheckpointInterval = value }; }

    /// <summary>CPU threads; 0 uses all cores. Results are deterministic for a given thread count (<see cref="TrainingOptions.Threads"/>).</summary>
    public int Threads { get => Training.Threads; init => Training = Training with { Threads = value }; }

    /// <summary>
    /// Validation data: a view with the token id column, or with the text column the tokenizer step reads (encoded with
    /// the fitted tokenizer; steps before the tokenizer are not applied, so pass already-transformed data when the
    /// chain changes the text first). Null (default): no validation loss.
    /// </summary>
    public IDataView? ValidationData { get; init; }

    /// <summary>
    /// Compute device: "cpu" (default; vectorized, multi-threaded), "reference" (plain single-threaded kernels), "cuda" or
    /// "cuda:N" (an NVIDIA GPU: needs the NVIDIA driver and CUDA 12 or 13's cuBLAS). <c>MLContext.GpuDeviceId</c> asks for
    /// that CUDA device instead. A GPU asked for and not usable makes Fit throw, naming what is missing; with
    /// <c>MLContext.FallbackToCpu</c> the trainer logs that and uses the CPU.
    /// </summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Receives a report every <see cref="LogInterval"/> steps and after each evaluation. Default none.</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }

    /// <summary>
    /// Stops training between steps; Fit then returns the model trained so far with
    /// <see cref="TextGenerationTransformer.TrainingResult"/>.Cancelled set (the checkpoint hook runs first). Default none.
    /// </summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Called every <see cref="CheckpointInterval"/> steps, on cancellation and at the end, with the live trainer
    /// (call <c>SaveCheckpoint(path)</c> on it). Default none.</summary>
    public Action<LanguageModelTrainer>? Checkpoint { get; init; }

    /// <summary>When set, training resumes from this checkpoint file (its model and optimizer state) instead of a fresh model.</summary>
    public string? ResumeFromCheckpoint { get; init; }

    /// <summary>
    /// When set, training starts from these weights instead of a fresh initialization (nanoGPT's init_from, e.g. an
    /// imported GPT-2 to fine-tune). Its configuration must equal the one these options describe for the tokenizer's
    /// vocabulary, except dropout, which the options set. The weights are copied into the model being trained (on this
    /// trainer's <see cref="Device"/> and <see cref="Threads"/>); this model is not changed. Not with
    /// <see cref="ResumeFromCheckpoint"/> (a checkpoint holds its own weights). Default null.
    /// </summary>
    public ILanguageModel? InitialModel { get; init; }

    /// <summary>
    /// Seed of initialization, batches and dropout. Null (default): drawn from the MLContext's random source, so
    /// <c>new MLContext(seed)</c> makes a program's runs repeatable.
    /// </summary>
    public int? Seed { get; init; }

    /// <summary>Generation settings of the fitted transformer. Default <see cref="TextGenerationOptions"/>'s defaults.</summary>
    public TextGenerationOptions Generation { get; init; } = new();
}
