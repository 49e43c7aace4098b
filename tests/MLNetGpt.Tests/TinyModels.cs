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

/// <summary>A row of token ids that no tokenizer step produced.</summary>
public sealed class IdsRow
{
    public int[] Tokens { get; set; } = [];
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

    /// <summary>The shared model's generator.</summary>
    public static TextGenerationTransformer Generator => TextGenerationModel.Find(Gpt.Model).Generator;

    /// <summary>The shared model with other generation settings (the weights are shared).</summary>
    public static ITransformer WithGeneration(TextGenerationOptions options) => Gpt.Ml.TextGeneration.WithGenerationOptions(Gpt.Model, options);

    public static string[] Prompts(int count) =>
        Enumerable.Range(0, count).Select(i => new[] { "ROMEO:", "First Citizen:\n", "To be", "", "MENENIUS" }[i % 5] + (i % 3 == 0 ? "" : " a")).ToArray();

    public static IDataView PromptView(MLContext ml, IEnumerable<string> prompts) => ml.Data.LoadFromEnumerable(prompts.Select(p => new PromptRow { Text = p }).ToList());

    /// <summary>The Generated column of <paramref name="model"/>.Transform(prompts), in row order.</summary>
    public static List<string> Generate(MLContext ml, ITransformer model, IEnumerable<string> prompts) =>
        ml.Data.CreateEnumerable<GeneratedRow>(model.Transform(PromptView(ml, prompts)), reuseRowObject: false).Select(r => r.Generated).ToList();

    /// <summary>The model's weights as safetensors bytes (equal bytes: equal models).</summary>
    public static byte[] Weights(ITransformer model)
    {
        using var stream = new MemoryStream();
        TextGenerationModel.Find(model).Generator.Model.SaveWeights(stream);
        return stream.ToArray();
    }
}

/// <summary>IProgress that reports on the training thread (Progress&lt;T&gt; would post to the thread pool, after Fit returns).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

/// <summary>Collects an MLContext's log messages (subscribe before the work, read after).</summary>
internal sealed class LogCapture
{
    private readonly List<LoggingEventArgs> _messages = [];

    public LogCapture(MLContext ml) => ml.Log += (_, e) =>
    {
        lock (_messages) _messages.Add(e);
    };

    public IReadOnlyList<LoggingEventArgs> Messages
    {
        get
        {
            lock (_messages) return _messages.ToList();
        }
    }

    /// <summary>Messages whose source is one of MLNetGpt's components (they register under these names).</summary>
    public IReadOnlyList<LoggingEventArgs> FromMLNetGpt => Messages
        .Where(m => new[] { nameof(GptTrainer), nameof(BigramTrainer), nameof(TextTokenizingEstimator) }.Any(s => m.Source.StartsWith(s, StringComparison.Ordinal)))
        .ToList();
}

/// <summary>ML.NET's SchemaShape of a schema, as estimator chains compute it (SchemaShape.Create is internal to Microsoft.ML.Core).</summary>
internal static class Shapes
{
    private static readonly Func<Microsoft.ML.DataViewSchema, SchemaShape> Create =
        typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static, [typeof(Microsoft.ML.DataViewSchema)])!
            .CreateDelegate<Func<Microsoft.ML.DataViewSchema, SchemaShape>>();

    public static SchemaShape Of(Microsoft.ML.DataViewSchema schema) => Create(schema);
}
