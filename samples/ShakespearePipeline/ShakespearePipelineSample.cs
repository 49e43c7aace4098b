// The sample pipeline as ML.NET code: Tiny Shakespeare -> contiguous split -> normalize -> char tokenizer -> GPT -> .zip -> CSV prompts -> text.
// Program.cs runs it at the nanogpt-cpu size; a test (tests/MLNetGpt.Tests) links this file and runs it with a tiny model.
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetGpt;
using MLNetGpt.Models.Training;

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
public sealed record SampleResult(string ModelPath, string OutputPath, TextGenerationMetrics Validation, IReadOnlyList<(string Prompt, string Generated)> Generations);

public static class ShakespearePipelineSample
{
    public static SampleResult Run(string corpusPath, string promptsCsvPath, string outputDirectory, SampleSettings settings,
        CancellationToken cancellationToken = default)
    {
        var mlContext = new MLContext(seed: settings.Seed);

        // 1. The corpus as one row, split as nanoGPT does: first 90% train, last 10% validation.
        IDataView text = mlContext.Data.LoadCorpusFromTextFile(corpusPath);
        var split = mlContext.Data.TrainTestSplitContiguous(text, testFraction: 0.1);

        // 2. ML.NET's own text normalizer, our character tokenizer, a GPT on its ids. Fit checks the chain's schema first.
        var pipeline = mlContext.Transforms.Text.NormalizeText("Text", caseMode: Microsoft.ML.Transforms.Text.TextNormalizingEstimator.CaseMode.None)
            .Append(mlContext.Transforms.Text.TokenizeIntoCharacterIds(outputColumnName: "Tokens", inputColumnName: "Text"))
            .Append(mlContext.TextGeneration.Trainers.Gpt(new GptTrainer.Options
            {
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
        ITransformer model = pipeline.Fit(split.TrainSet);
        var validation = mlContext.TextGeneration.Evaluate(model, split.TestSet);

        // 3. One ML.NET model .zip (our steps' tokenizer and weights inside), loaded back as a data job would.
        Directory.CreateDirectory(outputDirectory);
        string modelPath = Path.Combine(outputDirectory, "shakespeare-gpt.zip");
        mlContext.Model.Save(model, text.Schema, modelPath);
        ITransformer loaded = mlContext.Model.Load(modelPath, out DataViewSchema inputSchema);

        // 4. Generate for every prompt of a CSV file (column "Prompt") with ML.NET's loader; rows stream in batches.
        // ML.NET's TextLoader reads RFC 4180 CSV when told that quoted fields may span lines.
        IDataView prompts = mlContext.Data.CreateTextLoader<PromptRow>(new TextLoader.Options
        {
            HasHeader = true, Separators = [','], AllowQuoting = true, ReadMultilines = true,
        }).Load(promptsCsvPath);
        IDataView renamed = mlContext.Transforms.CopyColumns(inputSchema[0].Name, nameof(PromptRow.Prompt)).Fit(prompts).Transform(prompts);
        IDataView generated = loaded.Transform(renamed);
        string outputPath = Path.Combine(outputDirectory, "generated.tsv");
        using (var file = File.Create(outputPath))
            mlContext.Data.SaveAsText(mlContext.Transforms.SelectColumns(nameof(PromptRow.Prompt), "Generated").Fit(generated).Transform(generated),
                file, separatorChar: '\t', headerRow: true, schema: false);

        var rows = mlContext.Data.CreateEnumerable<Generation>(generated, reuseRowObject: false).Select(g => (g.Prompt, g.Generated)).ToList();
        return new SampleResult(modelPath, outputPath, validation, rows);
    }

    /// <summary>One row of the prompts CSV.</summary>
    public sealed class PromptRow
    {
        [LoadColumn(0)]
        public string Prompt { get; set; } = "";
    }

    /// <summary>One output row.</summary>
    public sealed class Generation
    {
        public string Prompt { get; set; } = "";

        public string Generated { get; set; } = "";
    }
}
