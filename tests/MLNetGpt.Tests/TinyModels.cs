// Small fitted pipelines shared by the tests: a character tokenizer and a tiny GPT trained for a few steps on the committed excerpt.
using Microsoft.ML;
using MLNetGpt.Testing;

namespace MLNetGpt.Tests;

/// <summary>A row with one prompt (the column the tokenizer reads).</summary>
public sealed class PromptRow
{
    public string Text { get; set; } = "";
}

/// <summary>A generated row as PredictionEngine and CreateEnumerable return it.</summary>
public sealed class GeneratedRow
{
    public string Text { get; set; } = "";

    public string Generated { get; set; } = "";
}

internal static class TinyModels
{
    private static readonly Lazy<string> Excerpt = new(() => File.ReadAllText(TestData.CorpusExcerptPath));

    /// <summary>The first <paramref name="characters"/> characters of the committed Tiny Shakespeare excerpt.</summary>
    public static string Text(int characters = 30_000) => Excerpt.Value[..Math.Min(characters, Excerpt.Value.Length)];

    /// <summary>A one-row corpus view of <see cref="Text"/>.</summary>
    public static IDataView Corpus(MLContext ml, int characters = 30_000) => ml.Data.LoadFromEnumerable([new PromptRow { Text = Text(characters) }]);

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
        Generation = new TextGenerationOptions { MaxNewTokens = 24, Temperature = 0.9f, GenerationBatchSize = 4 },
    };

    private static readonly Lazy<(MLContext Ml, ITransformer Model)> Shared = new(() =>
    {
        var ml = new MLContext(seed: 1337);
        var model = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
            .Append(ml.TextGeneration.Trainers.Gpt(TinyGpt()))
            .Fit(Corpus(ml));
        return (ml, model);
    });

    /// <summary>A char-level tiny GPT fitted once per test run (read-only: use WithGenerationOptions for other settings).</summary>
    public static (MLContext Ml, ITransformer Model) Gpt => Shared.Value;

    public static string[] Prompts(int count) =>
        Enumerable.Range(0, count).Select(i => new[] { "ROMEO:", "First Citizen:\n", "To be", "", "KING" }[i % 5] + (i % 3 == 0 ? "" : " a")).ToArray();

    public static IDataView PromptView(MLContext ml, IEnumerable<string> prompts) => ml.Data.LoadFromEnumerable(prompts.Select(p => new PromptRow { Text = p }));

    /// <summary>The Generated column of <paramref name="model"/>.Transform(prompts), in row order.</summary>
    public static List<string> Generate(MLContext ml, ITransformer model, IEnumerable<string> prompts) =>
        ml.Data.CreateEnumerable<GeneratedRow>(model.Transform(PromptView(ml, prompts)), reuseRowObject: false).Select(r => r.Generated).ToList();
}
