// The sample pipeline, written as ML.NET code reads: Tiny Shakespeare → split → char tokenizer → GPT → .zip → CSV prompts → text.
// Program.cs runs it at the nanogpt-cpu size; the pipeline tests link this file and run it with a tiny model.
using MLNetGpt.Models.Training;
using MLNetGpt.Pipelines;

namespace MLNetGpt.Samples;

/// <summary>How big a model the sample trains.</summary>
public sealed record SampleSettings
{
    public int Seed { get; init; } = 1337;
    public int LayerCount { get; init; } = 4;
    public int HeadCount { get; init; } = 4;
    public int EmbeddingSize { get; init; } = 128;
    public int BlockSize { get; init; } = 64;
    public int BatchSize { get; init; } = 12;
    public int MaxIterations { get; init; } = 2000;
    public float LearningRate { get; init; } = 1e-3f;
    public int WarmupIterations { get; init; } = 100;
    public int EvalInterval { get; init; } = 250;
    public int EvalIterations { get; init; } = 20;
    public int MaxNewTokens { get; init; } = 200;
    public IProgress<TrainingProgress>? Progress { get; init; }
}

/// <summary>What the sample produced.</summary>
public sealed record SampleResult(string ModelPath, string OutputCsvPath, TextGenerationMetrics Validation, IReadOnlyList<(string Prompt, string Generated)> Generations);

public static class ShakespearePipelineSample
{
    public static SampleResult Run(string textPath, string promptsCsvPath, string outputDirectory, SampleSettings settings, CancellationToken cancellationToken = default)
    {
        var mlContext = new MLContext(seed: settings.Seed);

        // 1. Load the corpus as one row and split it as nanoGPT does: first 90% train, last 10% validation.
        IDataView text = mlContext.Data.LoadFromTextFile(textPath);
        var split = mlContext.Data.TrainTestSplitContiguous(text, testFraction: 0.1);

        // 2. Character tokenizer, then a GPT trained on its ids. The whole chain's schema is checked before anything trains.
        var pipeline = mlContext.Transforms.Text.TokenizeIntoCharacterIds(outputColumnName: "Tokens", inputColumnName: "Text")
            .Append(mlContext.TextGeneration.Trainers.Gpt(new GptTrainer.Options
            {
                TokenColumnName = "Tokens",
                LayerCount = settings.LayerCount,
                HeadCount = settings.HeadCount,
                EmbeddingSize = settings.EmbeddingSize,
                BlockSize = settings.BlockSize,
                BatchSize = settings.BatchSize,
                MaxIterations = settings.MaxIterations,
                LearningRate = settings.LearningRate,
                MinLearningRate = settings.LearningRate / 10,
                WarmupIterations = settings.WarmupIterations,
                EvalInterval = settings.EvalInterval,
                EvalIterations = settings.EvalIterations,
                ValidationData = split.TestSet,
                Progress = settings.Progress,
                CancellationToken = cancellationToken,
                Generation = new TextGenerationOptions { MaxNewTokens = settings.MaxNewTokens, Temperature = 0.8f, TopK = 40 },
            }));
        TransformerChain<TextGenerationTransformer> model = pipeline.Fit(split.TrainSet);
        var validation = mlContext.TextGeneration.Evaluate(model, split.TestSet);

        // 3. Save tokenizer + weights + input schema as one .zip, and load it back as a data job would.
        Directory.CreateDirectory(outputDirectory);
        string modelPath = Path.Combine(outputDirectory, "shakespeare-gpt.zip");
        mlContext.Model.Save(model, text.Schema, modelPath);
        ITransformer loaded = mlContext.Model.Load(modelPath, out DataViewSchema inputSchema);

        // 4. Generate for every prompt of a CSV file (column "Prompt"), streamed in batches, and write a CSV of results.
        IDataView prompts = mlContext.Data.LoadFromCsvFile(promptsCsvPath);
        IDataView renamed = mlContext.Transforms.CopyColumns(inputSchema[0].Name, "Prompt").Fit(prompts).Transform(prompts);
        IDataView generated = loaded.Transform(renamed);
        string outputCsv = Path.Combine(outputDirectory, "generated.csv");
        using (var file = File.Create(outputCsv))
            mlContext.Data.SaveAsCsv(mlContext.Data.LoadFromEnumerable(
                mlContext.Data.CreateEnumerable<Generation>(generated)), file);

        var rows = mlContext.Data.CreateEnumerable<Generation>(mlContext.Data.LoadFromCsvFile(outputCsv))
            .Select(g => (g.Prompt, g.Generated)).ToList();
        return new SampleResult(modelPath, outputCsv, validation, rows);
    }

    /// <summary>One output row.</summary>
    public sealed class Generation
    {
        public string Prompt { get; set; } = "";
        public string Generated { get; set; } = "";
    }
}
