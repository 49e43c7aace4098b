// The reference configurations of the PyTorch comparison (bench/compare-pytorch), shared by bench/MLNetGpt.TrainBench
// and `mlnetgpt bench`. Keep this table identical to bench/pytorch/train_ref.py.
namespace MLNetGpt.Models.Training;

/// <summary>One benchmark recipe: a model, a training recipe, and how many eval batches decide the reported losses (0 = throughput only).</summary>
/// <param name="Name">nanogpt-cpu, seed-tiny, lecture or bigram.</param>
/// <param name="Model">The model (vocabulary 65, Tiny Shakespeare characters).</param>
/// <param name="Training">The recipe.</param>
/// <param name="EvalIters">Batches per loss estimate after training; 0 means the config measures throughput only.</param>
public sealed record ReferenceRecipe(string Name, LanguageModelConfig Model, TrainingOptions Training, int EvalIters);

/// <summary>The recipes by name.</summary>
public static class ReferenceRecipes
{
    /// <summary>The recipe names, in the order the comparison runs them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["nanogpt-cpu", "seed-tiny", "lecture", "bigram"];

    // The lecture recipe ("Let's build GPT"): constant LR, torch's AdamW defaults (betas 0.9/0.999, weight decay 0.01), no clipping.
    private static TrainingOptions Lecture(int iters, int batch, float lr) => new()
    {
        MaxIters = iters, BatchSize = batch, LearningRate = lr, MinLearningRate = lr, DecayLearningRate = false,
        WeightDecay = 0.01f, Beta1 = 0.9f, Beta2 = 0.999f, GradientClip = 0f, EvalInterval = 0, LogInterval = 100,
    };

    /// <summary>The recipe named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static ReferenceRecipe Get(string name) => name switch
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
        _ => throw new ArgumentException($"Unknown config '{name}'; expected {string.Join(", ", Names)}.", nameof(name)),
    };
}
