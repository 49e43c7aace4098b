// Small fitted pipelines shared by the generation tests: a char tokenizer and a tiny GPT trained for a few steps.
using MLNetGpt.Pipelines;
using MLNetGpt.Testing;

namespace MLNetGpt.Pipelines.Tests;

internal static class TinyModels
{
    private static readonly Lazy<string> Shakespeare = new(() => File.ReadAllText(TestData.TinyShakespearePath));

    /// <summary>The first <paramref name="characters"/> characters of Tiny Shakespeare.</summary>
    public static string Text(int characters = 50_000) => Shakespeare.Value[..characters];

    public static GptTrainer.Options TinyGpt(int iterations = 30) => new()
    {
        LayerCount = 1,
        HeadCount = 2,
        EmbeddingSize = 16,
        BlockSize = 16,
        BatchSize = 4,
        MaxIterations = iterations,
        WarmupIterations = 0,
        EvalInterval = 0,
        EvalIterations = 2,
        LearningRate = 3e-3f,
        MinLearningRate = 3e-4f,
    };

    private static readonly Lazy<(MLContext Ml, TransformerChain<TextGenerationTransformer> Model, IDataView Data)> Shared = new(() =>
    {
        var ml = new MLContext(seed: 1337);
        var data = ml.Data.LoadText(Text());
        var model = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
            .Append(ml.TextGeneration.Trainers.Gpt(TinyGpt()))
            .Fit(data);
        return (ml, model, data);
    });

    /// <summary>A char-level tiny GPT fitted once per test run (read-only: use WithOptions for other settings).</summary>
    public static (MLContext Ml, TransformerChain<TextGenerationTransformer> Model, IDataView Data) Gpt => Shared.Value;

    /// <summary>The shared model's chain with other generation options.</summary>
    public static TransformerChain<TextGenerationTransformer> WithOptions(TextGenerationOptions options)
    {
        var chain = Gpt.Model;
        return new TransformerChain<TextGenerationTransformer>(chain[0], chain.LastTransformer.WithOptions(options));
    }

    public static string[] Prompts(int count) =>
        Enumerable.Range(0, count).Select(i => new[] { "ROMEO:", "First Citizen:\n", "To be", "", "KING" }[i % 5] + (i % 3 == 0 ? "" : " a")).ToArray();
}
