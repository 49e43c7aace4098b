// `mlnetgpt train PIPELINE.json [key=value ...]`: fetch data, split, tokenize, train with progress, save .zip, curve, sample, metrics.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MLNetGpt.Cli.Configuration;
using MLNetGpt.Cli.Output;
using MLNetGpt.Models;
using MLNetGpt.Models.Data;
using MLNetGpt.Models.Training;
using Microsoft.ML;
using MLNetGpt.Models.Serialization;
using MLNetGpt.Tokenizers;

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
        output.WriteLine($"pipeline {d.Name}: {d.Model.Kind} model, {d.Tokenizer.Type} tokenizer, {d.Train.MaxIters} steps");
        output.WriteLine($"data     {corpusPath}");
        output.WriteLine($"run      {run.Path}{(resumeFrom is null ? "" : " (resuming)")}");
        run.WriteConfig(d);

        using var log = new StreamWriter(run.LogPath, append: true) { AutoFlush = true };
        log.WriteLine($"# {DateTime.Now:O} train {d.Name}{(resumeFrom is null ? "" : " --resume")}");

        // The same ML.NET pipeline a C# user writes: corpus -> contiguous split -> tokenizer -> trainer.
        var ml = new MLContext(seed: unchecked((int)d.Train.Seed));
        var corpus = ml.Data.LoadCorpusFromTextFile(corpusPath);
        var split = ml.Data.TrainTestSplitContiguous(corpus, d.Data.ValFraction);

        var history = resumeFrom is null ? [] : run.ReadLossHistory(int.MaxValue);
        var wall = Stopwatch.StartNew();
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
            var pipeline = TokenizerStep(ml, d).Append(TrainerStep(ml, d, split.TestSet, progress, cancellationToken, run, resumeFrom));
            await Task.Run(() => model = pipeline.Fit(split.TrainSet), CancellationToken.None);
            return null;
        });

        var generator = TextGenerationModel.Find(model!).Generator;
        var result = generator.TrainingResult!;
        if (result.Cancelled)
        {
            output.WriteLine($"stopped at step {result.Steps}; checkpoint saved in {run.CheckpointPath}");
            output.WriteLine($"continue with: mlnetgpt train --resume {run.Path}");
            log.WriteLine($"cancelled at step {result.Steps}");
            return ExitCodes.Cancelled;
        }

        AtomicFile.Write(run.ModelPath, stream => ml.Model.Save(model!, corpus.Schema, stream));
        if (history.Count > 0) run.WriteLosses($"{d.Name}: loss", history);

        string prompt = string.IsNullOrEmpty(d.Generate.Prompt) ? "\n" : d.Generate.Prompt;
        string sample = prompt + generator.Generate(prompt, 0, cancellationToken);
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
            ["vocabulary_size"] = generator.Model.VocabularySize,
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

    /// <summary>The tokenizer step the pipeline's tokenizer section describes.</summary>
    private static TextTokenizingEstimator TokenizerStep(MLContext ml, PipelineDefinition d) => d.Tokenizer.Type switch
    {
        "char" => ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text"),
        "bpe" => ml.Transforms.Text.TokenizeIntoBpeIds("Tokens", "Text",
            new BpeTrainerOptions { VocabularySize = d.Tokenizer.VocabSize, Pattern = SplitPattern.FromName(d.Tokenizer.Pattern) }),
        var encoding => ml.Transforms.Text.TokenizeIntoBpeIds("Tokens", "Text", BpeTokenizer.CreateForEncoding(encoding)),
    };

    /// <summary>The trainer step: the pipeline's model and train records, plus progress, cancellation, checkpoints and resume.</summary>
    private static IEstimator<TextGenerationTransformer> TrainerStep(MLContext ml, PipelineDefinition d, IDataView validation,
        IProgress<TrainingProgress> progress, CancellationToken cancellationToken, RunFolder run, string? resumeFrom)
    {
        LanguageModelTrainerOptions Common(LanguageModelTrainerOptions o) => o with
        {
            Training = d.Train,
            Device = d.Device,
            Seed = unchecked((int)d.Train.Seed),
            ValidationData = validation,
            Progress = progress,
            CancellationToken = cancellationToken,
            Checkpoint = trainer => trainer.SaveCheckpoint(run.CheckpointPath),
            ResumeFromCheckpoint = resumeFrom,
            Generation = d.Generate.Options,
        };
        return d.Model switch
        {
            GptConfig gpt => ml.TextGeneration.Trainers.Gpt((GptTrainer.Options)Common(new GptTrainer.Options { Model = gpt })),
            BigramConfig bigram => ml.TextGeneration.Trainers.Bigram((BigramTrainer.Options)Common(new BigramTrainer.Options { Model = bigram })),
            _ => throw new CliException($"Unknown model type '{d.Model.Kind}'."),
        };
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
