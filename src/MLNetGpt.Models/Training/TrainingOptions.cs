// The training recipe as an immutable record with nanoGPT-style defaults (shakespeare_char on CPU).
using System.Text.Json.Serialization;

namespace MLNetGpt.Models.Training;

/// <summary>
/// Hyper-parameters of <see cref="LanguageModelTrainer"/>: the one definition of the training recipe (the ML.NET trainers' options
/// and the pipeline files' <c>train</c> section bind onto it, with nanoGPT's key names). Every field has a documented default;
/// <see cref="Validate"/> names bad values.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>Number of optimizer steps. Default 2000.</summary>
    [JsonPropertyName("max_iters")]
    public int MaxIters { get; init; } = 2000;

    /// <summary>Rows per micro-batch B. Default 12.</summary>
    [JsonPropertyName("batch_size")]
    public int BatchSize { get; init; } = 12;

    /// <summary>Window length T; 0 means the model's block size; must not exceed it. Default 0.</summary>
    [JsonPropertyName("block_size")]
    public int BlockSize { get; init; }

    /// <summary>Peak learning rate. Default 1e-3.</summary>
    [JsonPropertyName("learning_rate")]
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>Learning rate at the end of the cosine decay. Default 1e-4.</summary>
    [JsonPropertyName("min_lr")]
    public float MinLearningRate { get; init; } = 1e-4f;

    /// <summary>Linear warmup steps: lr·(it+1)/(warmup+1). Default 100.</summary>
    [JsonPropertyName("warmup_iters")]
    public int WarmupIters { get; init; } = 100;

    /// <summary>Step at which the cosine reaches <see cref="MinLearningRate"/>; 0 means <see cref="MaxIters"/>. Default 0.</summary>
    [JsonPropertyName("lr_decay_iters")]
    public int LearningRateDecayIters { get; init; }

    /// <summary>False keeps the learning rate constant at <see cref="LearningRate"/> (no warmup, no decay). Default true.</summary>
    [JsonPropertyName("decay_lr")]
    public bool DecayLearningRate { get; init; } = true;

    /// <summary>AdamW decoupled weight decay, applied to 2-D tensors only (embeddings and linear weights). Default 0.1.</summary>
    [JsonPropertyName("weight_decay")]
    public float WeightDecay { get; init; } = 0.1f;

    /// <summary>AdamW β1. Default 0.9.</summary>
    [JsonPropertyName("beta1")]
    public float Beta1 { get; init; } = 0.9f;

    /// <summary>AdamW β2. Default 0.99 (nanoGPT's shakespeare_char; GPT-2 uses 0.95).</summary>
    [JsonPropertyName("beta2")]
    public float Beta2 { get; init; } = 0.99f;

    /// <summary>AdamW ε. Default 1e-8.</summary>
    [JsonPropertyName("eps")]
    public float Epsilon { get; init; } = 1e-8f;

    /// <summary>Clip the global gradient norm to this value (PyTorch's clip_grad_norm_); 0 disables. Default 1.0.</summary>
    [JsonPropertyName("grad_clip")]
    public float GradientClip { get; init; } = 1.0f;

    /// <summary>Micro-batches per optimizer step (gradients averaged). Default 1.</summary>
    [JsonPropertyName("grad_accum")]
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Estimate train and val loss every this many steps, and after the last step; 0 only at the end. Default 250.</summary>
    [JsonPropertyName("eval_interval")]
    public int EvalInterval { get; init; } = 250;

    /// <summary>Random batches per split in each loss estimate. Default 200.</summary>
    [JsonPropertyName("eval_iters")]
    public int EvalIters { get; init; } = 200;

    /// <summary>Report progress every this many steps (evaluations are always reported). Default 10.</summary>
    [JsonPropertyName("log_interval")]
    public int LogInterval { get; init; } = 10;

    /// <summary>Call the checkpoint callback every this many steps; 0 only on cancellation and at the end. Default 0.</summary>
    [JsonPropertyName("checkpoint_interval")]
    public int CheckpointInterval { get; init; }

    /// <summary>Seed of batch sampling, dropout masks and evaluation batches. Default 1337.</summary>
    [JsonPropertyName("seed")]
    public ulong Seed { get; init; } = 1337;

    /// <summary>
    /// Threads for the backend the caller creates (0 = all cores). The trainer runs on the model's backend; this field records
    /// the choice for logs and checkpoints. Default 0.
    /// </summary>
    [JsonPropertyName("threads")]
    public int Threads { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid field and its value.</summary>
    public void Validate()
    {
        static void Check(bool ok, string name, object value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"{name} {rule}, got {value}.");
        }
        Check(MaxIters >= 0, nameof(MaxIters), MaxIters, "must be non-negative");
        Check(BatchSize >= 1, nameof(BatchSize), BatchSize, "must be at least 1");
        Check(BlockSize >= 0, nameof(BlockSize), BlockSize, "must be non-negative (0 = model block size)");
        Check(LearningRate > 0 && float.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "must be positive");
        Check(MinLearningRate >= 0 && MinLearningRate <= LearningRate, nameof(MinLearningRate), MinLearningRate, "must be in [0, LearningRate]");
        Check(WarmupIters >= 0, nameof(WarmupIters), WarmupIters, "must be non-negative");
        Check(LearningRateDecayIters >= 0, nameof(LearningRateDecayIters), LearningRateDecayIters, "must be non-negative");
        Check(WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "must be non-negative");
        Check(Beta1 >= 0 && Beta1 < 1, nameof(Beta1), Beta1, "must be in [0, 1)");
        Check(Beta2 >= 0 && Beta2 < 1, nameof(Beta2), Beta2, "must be in [0, 1)");
        Check(Epsilon > 0, nameof(Epsilon), Epsilon, "must be positive");
        Check(GradientClip >= 0, nameof(GradientClip), GradientClip, "must be non-negative (0 = off)");
        Check(GradientAccumulationSteps >= 1, nameof(GradientAccumulationSteps), GradientAccumulationSteps, "must be at least 1");
        Check(EvalInterval >= 0, nameof(EvalInterval), EvalInterval, "must be non-negative");
        Check(EvalIters >= 1, nameof(EvalIters), EvalIters, "must be at least 1");
        Check(LogInterval >= 1, nameof(LogInterval), LogInterval, "must be at least 1");
        Check(CheckpointInterval >= 0, nameof(CheckpointInterval), CheckpointInterval, "must be non-negative");
        Check(Threads >= 0, nameof(Threads), Threads, "must be non-negative");
    }

    /// <summary>
    /// nanoGPT's schedule for step <paramref name="it"/> (0-based): linear warmup lr·(it+1)/(warmup+1), then cosine from lr to
    /// min_lr until the decay step, then min_lr.
    /// </summary>
    public float LearningRateAt(int it)
    {
        if (!DecayLearningRate) return LearningRate;
        if (it < WarmupIters) return LearningRate * (it + 1) / (WarmupIters + 1);
        int decayIters = LearningRateDecayIters > 0 ? LearningRateDecayIters : MaxIters;
        if (it > decayIters || decayIters <= WarmupIters) return MinLearningRate;
        double ratio = (double)(it - WarmupIters) / (decayIters - WarmupIters);
        double coeff = 0.5 * (1.0 + Math.Cos(Math.PI * ratio));
        return (float)(MinLearningRate + coeff * (LearningRate - MinLearningRate));
    }
}
