// The benchmark configurations shared with bench/pytorch/train_ref.py (keep both tables identical).
using MLNetGpt.Models;
using MLNetGpt.Models.Training;

namespace MLNetGpt.TrainBench;

/// <summary>One benchmark: a model, a recipe, and how many eval batches decide the reported losses (0 = throughput only).</summary>
internal sealed record BenchConfig(string Name, LanguageModelConfig Model, TrainingOptions Training, int EvalIters);

internal static class BenchConfigs
{
    // The lecture recipe ("Let's build GPT"): constant LR, torch's AdamW defaults (betas 0.9/0.999, weight decay 0.01), no clipping.
    private static TrainingOptions Lecture(int iters, int batch, float lr) => new()
    {
        MaxIters = iters, BatchSize = batch, LearningRate = lr, MinLearningRate = lr, DecayLearningRate = false,
        WeightDecay = 0.01f, Beta1 = 0.9f, Beta2 = 0.999f, GradientClip = 0f, EvalInterval = 0, LogInterval = 100,
    };

    public static BenchConfig Get(string name) => name switch
    {
        "nanogpt-cpu" => new(name,
            new GptConfig { VocabularySize = 65, BlockSize = 64, LayerCount = 4, HeadCount = 4, EmbeddingSize = 128, Dropout = 0f, Bias = false, Activation = Activation.Gelu, TieWeights = true },
            new TrainingOptions
            {
                MaxIters = 2000, BatchSize = 12, LearningRate = 1e-3f, MinLearningRate = 1e-4f, WarmupIters = 100, LearningRateDecayIters = 2000,
                WeightDecay = 0.1f, Beta1 = 0.9f, Beta2 = 0.99f, GradientClip = 1f, EvalInterval = 0, LogInterval = 100,
            }, 200),
        "seed-tiny" => new(name,
            new GptConfig { VocabularySize = 65, BlockSize = 8, LayerCount = 6, HeadCount = 4, EmbeddingSize = 32, Dropout = 0f, Bias = true, Activation = Activation.Relu, TieWeights = true },
            Lecture(5000, 32, 1e-3f), 200),
        "lecture" => new(name,
            new GptConfig { VocabularySize = 65, BlockSize = 256, LayerCount = 6, HeadCount = 6, EmbeddingSize = 384, Dropout = 0.2f, Bias = true, Activation = Activation.Relu, TieWeights = true },
            Lecture(10, 64, 3e-4f), 0),
        "bigram" => new(name, new BigramConfig { VocabularySize = 65, BlockSize = 8 }, Lecture(5000, 32, 1e-2f), 200),
        _ => throw new ArgumentException($"Unknown config '{name}'; expected nanogpt-cpu, seed-tiny, lecture or bigram.", nameof(name)),
    };
}
