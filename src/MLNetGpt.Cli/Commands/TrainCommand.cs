// `mlnetgpt train PIPELINE.json [key=value ...]`: fetch data, split, tokenize, train with progress, save .zip, curve, sample, metrics.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MLNetGpt.Cli.Configuration;
using MLNetGpt.Cli.Output;
using MLNetGpt.Models;
using MLNetGpt.Models.Data;
using MLNetGpt.Models.Training;
using MLNetGpt.Pipelines;

namespace MLNetGpt.Cli.Commands;

/// <summary>Settings of one `train` invocation, as parsed from the command line.</summary>
/// <param name="PipelinePath">The pipeline file (null with <paramref name="ResumeDirectory"/>: the run's config.json is used).</param>
/// <param name="Overrides">key=value overrides.</param>
/// <param name="OutputDirectory">The run folder (default runs/NAME-TIMESTAMP).</param>
/// <param name="DataPath">A local corpus file (--from), overriding data.path.</param>
/// <param name="ResumeDirectory">A run folder to continue from its checkpoint.</param>
public sealed record TrainRequest(string? PipelinePath, IReadOnlyList<string> Overrides, string? OutputDirectory, string? DataPath, string? ResumeDirectory);

/// <summary>Runs a training pipeline end to end.</summary>
public static class TrainCommand
{
    /// <summary>Trains as <paramref name="request"/> says; returns the exit code.</summary>
    public static async Task<int> RunAsync(TrainRequest request, TextWriter output, TextWriter error, bool live, CancellationToken cancellationToken)
    {
        RunFolder run;
        PipelineDefinition d;
        string? resumeFrom = null;
        if (request.ResumeDirectory is { } resumeDir)
        {
            run = RunFolder.OpenForResume(resumeDir);
            d = PipelineConfigLoader.Load(run.ConfigPath, request.Overrides);
            resumeFrom = run.CheckpointPath;
        }
        else
        {
            if (request.PipelinePath is null) throw new CliException("train needs a pipeline file (for example pipelines/shakespeare-char-gpt.json) or --resume RUN_DIR.");
            d = PipelineConfigLoader.Load(request.PipelinePath, request.Overrides);
            run = RunFolder.Create(request.OutputDirectory ?? Path.Combine("runs", $"{d.Name}-{DateTime.Now:yyyyMMdd-HHmmss}"));
        }

        string corpusPath = ResolveCorpus(d, request.DataPath);
        output.WriteLine($"pipeline {d.Name}: {d.Model.Type} model, {d.Tokenizer.Type} tokenizer, {d.Train.MaxIters} steps");
        output.WriteLine($"data     {corpusPath}");
        output.WriteLine($"run      {run.Path}{(resumeFrom is null ? "" : " (resuming)")}");
        run.WriteConfig(d);

        using var log = new StreamWriter(run.LogPath, append: true) { AutoFlush = true };
        log.WriteLine($"# {DateTime.Now:O} train {d.Name}{(resumeFrom is null ? "" : " --resume")}");

        var ctx = new MLContext(d.Train.Seed);
        var text = ctx.Data.LoadFromTextFile(corpusPath);
        var split = ctx.Data.TrainTestSplitContiguous(text, d.Data.ValFraction);

        var history = resumeFrom is null ? [] : run.ReadLossHistory(int.MaxValue);
        var wall = Stopwatch.StartNew();
        var estimator = BuildPipeline(ctx, d, split.TestSet, resumeFrom, run, out var trainerOptionsSetter);

        ITransformer? model = null;
        await TrainingView.RunAsync<object?>(live, output, log, d.Train.MaxIters, plainEvery: Math.Max(1, d.Train.EvalInterval / 5), async view =>
        {
            var progress = new ActionProgress<TrainingProgress>(p =>
            {
                if (p.EvalTrainLoss is { } et)
                {
                    lock (history)
                    {
                        history.RemoveAll(h => h.Step >= p.Step);
                        history.Add((p.Step, et, p.ValLoss));
                        run.WriteLosses($"{d.Name}: loss", history);
                    }
                }
                view.Report(new TrainingStatus(p.Step, p.MaxIters, p.EvalTrainLoss ?? p.TrainLoss, p.ValLoss, p.TokensPerSecond,
                    p.Elapsed, p.Eta, p.EvalTrainLoss.HasValue));
            });
            trainerOptionsSetter(progress, cancellationToken);
            await Task.Run(() =>
            {
                model = estimator.Fit(split.TrainSet);
            }, CancellationToken.None);
            return null;
        });

        var generator = FindGenerator(model!);
        var result = generator.TrainingResult!;
        if (result.Cancelled)
        {
            output.WriteLine($"stopped at step {result.Steps}; checkpoint saved in {run.CheckpointPath}");
            output.WriteLine($"continue with: mlnetgpt train --resume {run.Path}");
            log.WriteLine($"cancelled at step {result.Steps}");
            return ExitCodes.Cancelled;
        }

        ctx.Model.Save(model!, text.Schema, run.ModelPath);
        if (history.Count > 0) run.WriteLosses($"{d.Name}: loss", history);

        var sampleOptions = generator.Options with
        {
            MaxNewTokens = d.Generate.MaxNewTokens,
            Temperature = (float)d.Generate.Temperature,
            TopK = d.Generate.TopK,
            TopP = (float)d.Generate.TopP,
            Seed = d.Generate.Seed,
        };
        string prompt = string.IsNullOrEmpty(d.Generate.Prompt) ? "\n" : d.Generate.Prompt;
        string sample = prompt + generator.WithOptions(sampleOptions).Generate(prompt, 0, cancellationToken);
        RunFolder.WriteText(run.SamplePath, sample);

        var metrics = new Dictionary<string, object?>
        {
            ["pipeline"] = d.Name,
            ["steps"] = result.Steps,
            ["final_train_loss"] = result.FinalTrainLoss,
            ["final_val_loss"] = result.FinalValLoss,
            ["tokens_per_s"] = Math.Round(result.TokensPerSecond, 1),
            ["ms_per_iter"] = Math.Round(result.MillisecondsPerIter, 3),
            ["train_wall_s"] = Math.Round(result.WallTime.TotalSeconds, 3),
            ["total_wall_s"] = Math.Round(wall.Elapsed.TotalSeconds, 3),
            ["peak_memory_mb"] = Math.Round(PeakMemory.Megabytes(), 1),
            ["parameters"] = generator.ParameterCount,
            ["vocabulary_size"] = generator.Tokenizer.VocabularySize,
            ["threads"] = d.Train.Threads == 0 ? Environment.ProcessorCount : d.Train.Threads,
        };
        RunFolder.WriteText(run.MetricsPath, JsonSerializer.Serialize(metrics, new JsonSerializerOptions { WriteIndented = true }));

        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done: {result.Steps} steps, train loss {result.FinalTrainLoss:0.0000}, val loss {(result.FinalValLoss is { } v ? v.ToString("0.0000", CultureInfo.InvariantCulture) : "-")}, {result.TokensPerSecond:0} tokens/s, {wall.Elapsed.TotalSeconds:0.0} s"));
        output.WriteLine($"model    {run.ModelPath}");
        output.WriteLine($"curve    {run.LossCurvePath}");
        output.WriteLine($"sample   {run.SamplePath}");
        output.WriteLine();
        output.WriteLine("---- sample ----");
        output.WriteLine(sample);
        output.WriteLine("----------------");
        log.WriteLine($"done at step {result.Steps}: train {result.FinalTrainLoss:0.0000} val {result.FinalValLoss:0.0000}");
        return ExitCodes.Ok;
    }

    /// <summary>The corpus file: --from, else data.path, else (for tinyshakespeare) MLNETGPT_DATA, the cache, or a download.</summary>
    public static string ResolveCorpus(PipelineDefinition d, string? from)
    {
        string? path = from ?? d.Data.Path;
        if (d.Data.Source == "file")
        {
            if (string.IsNullOrEmpty(path)) throw new CliException("data.source is 'file' but no data.path or --from was given.");
            if (!File.Exists(path)) throw new CliException($"Data file '{path}' does not exist.");
            return path;
        }
        return TinyShakespeare.Locate(path);
    }

    private static EstimatorChain<ITransformer> BuildPipeline(MLContext ctx, PipelineDefinition d, IDataView validation, string? resumeFrom,
        RunFolder run, out Action<IProgress<TrainingProgress>, CancellationToken> setProgress)
    {
        var tokenizer = d.Tokenizer.Type switch
        {
            "char" => ctx.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text"),
            "bpe" => ctx.Transforms.Text.TokenizeIntoBpeIds("Tokens", "Text",
                new BpeTokenizerEstimatorOptions { VocabularySize = d.Tokenizer.VocabSize, SplitPattern = d.Tokenizer.Pattern }),
            _ => ctx.Transforms.Text.TokenizeIntoBpeIds("Tokens", "Text", d.Tokenizer.TiktokenPath!, encodingName: d.Tokenizer.Type),
        };
        var generation = new TextGenerationOptions
        {
            MaxNewTokens = d.Generate.MaxNewTokens,
            Temperature = (float)d.Generate.Temperature,
            TopK = d.Generate.TopK,
            TopP = (float)d.Generate.TopP,
            Seed = d.Generate.Seed,
            GenerationBatchSize = d.Generate.BatchSize,
        };
        // Progress and cancellation are known only when the view starts; the options record is immutable, so the
        // trainer estimator is created lazily through this holder.
        var holder = new TrainerHolder(ctx, d, validation, resumeFrom, run, generation);
        setProgress = holder.Set;
        return tokenizer.Append(holder);
    }

    private static TextGenerationTransformer FindGenerator(ITransformer model) =>
        (model is IEnumerable<ITransformer> chain ? chain.OfType<TextGenerationTransformer>().LastOrDefault() : model as TextGenerationTransformer)
        ?? throw new InvalidOperationException("The trained pipeline has no text generation step.");

    /// <summary>An estimator that builds the bigram/GPT trainer once progress and cancellation are known.</summary>
    private sealed class TrainerHolder(MLContext ctx, PipelineDefinition d, IDataView validation, string? resumeFrom, RunFolder run,
        TextGenerationOptions generation) : IEstimator<ITransformer>, ISeededEstimator<ITransformer>
    {
        private IProgress<TrainingProgress>? _progress;
        private CancellationToken _token;

        public void Set(IProgress<TrainingProgress> progress, CancellationToken token) { _progress = progress; _token = token; }

        private LanguageModelTrainerEstimator Create()
        {
            if (d.Model.Type == "bigram")
                return ctx.TextGeneration.Trainers.Bigram((BigramTrainer.Options)WithRecipe(new BigramTrainer.Options { BlockSize = d.Model.BlockSize }));
            return ctx.TextGeneration.Trainers.Gpt((GptTrainer.Options)WithRecipe(new GptTrainer.Options
            {
                BlockSize = d.Model.BlockSize, LayerCount = d.Model.NLayer, HeadCount = d.Model.NHead, EmbeddingSize = d.Model.NEmbd,
                Dropout = (float)d.Model.Dropout, Bias = d.Model.Bias, TieWeights = d.Model.TieWeights,
                Activation = d.Model.Activation == "relu" ? Activation.Relu : Activation.Gelu,
            }));
        }

        // The train section, progress, cancellation, checkpoints and resume: the same for every model type.
        private LanguageModelTrainerOptions WithRecipe(LanguageModelTrainerOptions options)
        {
            var t = d.Train;
            return options with
            {
                BatchSize = t.BatchSize, MaxIterations = t.MaxIters,
                LearningRate = (float)t.LearningRate, MinLearningRate = (float)t.MinLr, WarmupIterations = t.WarmupIters,
                DecayLearningRate = t.DecayLr, WeightDecay = (float)t.WeightDecay, Beta1 = (float)t.Beta1, Beta2 = (float)t.Beta2,
                GradientClip = (float)t.GradClip, GradientAccumulationSteps = t.GradAccum, EvalInterval = t.EvalInterval,
                EvalIterations = t.EvalIters, ValidationData = validation, Threads = t.Threads, Progress = _progress,
                CancellationToken = _token, Checkpoint = trainer => trainer.SaveCheckpoint(run.CheckpointPath),
                CheckpointInterval = t.CheckpointInterval, ResumeFromCheckpoint = resumeFrom, Seed = t.Seed, Generation = generation,
            };
        }

        public ITransformer Fit(IDataView input) => Create().Fit(input);
        public ITransformer Fit(IDataView input, int chainPosition) => Create().Fit(input, chainPosition);
        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Create().GetOutputSchema(inputSchema);
    }
}

/// <summary>An <see cref="IProgress{T}"/> that calls its handler synchronously on the reporting thread.</summary>
public sealed class ActionProgress<T>(Action<T> handler) : IProgress<T>
{
    /// <inheritdoc/>
    public void Report(T value) => handler(value);
}

/// <summary>Peak resident memory of this process.</summary>
public static class PeakMemory
{
    /// <summary>VmHWM from /proc/self/status on Linux, else the process's peak working set, in MiB.</summary>
    public static double Megabytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
    }
}
