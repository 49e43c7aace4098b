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
/// <param name="InitFrom">A model .zip whose weights training starts from (fine-tuning; nanoGPT's init_from).</param>
public sealed record TrainRequest(string? PipelinePath, IReadOnlyList<string> Overrides, string? OutputDirectory, string? DataPath, string? ResumeDirectory,
    string? InitFrom = null);

/// <summary>Runs a training pipeline end to end.</summary>
public static class TrainCommand
{
    /// <summary>
    /// Trains as <paramref name="request"/> says; returns the exit code. Everything that can be checked is checked before
    /// the first file is written (pipeline, corpus, resume compatibility), so a failed start leaves no run folder; a run
    /// that fails later never replaces its checkpoint or model with a broken one.
    /// </summary>
    public static async Task<int> RunAsync(TrainRequest request, TextWriter output, TextWriter error, bool live, CancellationToken cancellationToken)
    {
        var start = request.ResumeDirectory is { } resumeDir ? PrepareResume(request, resumeDir) : PrepareNewRun(request);
        var run = start.Run;
        bool created = false;
        if (start.Resume is null) run = RunFolder.Create(run.Path, out created);
        try
        {
            return await TrainAsync(start with { Run = run }, output, error, live, cancellationToken);
        }
        catch (Exception) when (start.Resume is null)
        {
            run.DiscardFailedStart(created);
            throw;
        }
    }

    /// <summary>What a train invocation will do, decided before anything is written.</summary>
    private sealed record Start(PipelineDefinition Definition, RunFolder Run, CorpusFile Corpus, CheckpointInfo? Resume,
        IReadOnlyList<string> Changes, InitialModel? Init = null);

    /// <summary>The model of train --init-from: its file, its loaded model and its tokenizer.</summary>
    private sealed record InitialModel(string Path, ILanguageModel Model, Microsoft.ML.Tokenizers.Tokenizer Tokenizer);

    private static Start PrepareNewRun(TrainRequest request)
    {
        if (request.PipelinePath is null) throw new CliException("train needs a pipeline file (for example pipelines/shakespeare-char-gpt.json) or --resume RUN_DIR.");
        var init = request.InitFrom is { } initPath && LoadedModel.Load(initPath).Generator is var g ? new InitialModel(initPath, g.Model, g.Tokenizer) : null;
        var d = WithCorpusPath(PipelineConfigLoader.Load(request.PipelinePath, request.Overrides, init?.Model.Config), request.DataPath);
        if (init is not null) CheckInitialModel(d, init);
        if (d.Train.MaxIters < 1)
            throw new CliException($"Key 'train.max_iters' = {d.Train.MaxIters} is invalid: there would be nothing to train; give at least 1 step.", ExitCodes.ConfigError);
        string path = request.OutputDirectory ?? Path.Combine("runs", $"{d.Name}-{DateTime.Now:yyyyMMdd-HHmmss}");
        RunFolder.CheckFreeForNewRun(path);
        var corpus = CorpusFile.Read(ResolveCorpus(d, request.DataPath));
        return new Start(d, RunFolder.ForPath(path), corpus, null, [], init);
    }

    /// <summary>
    /// --init-from: the pipeline's model must be the .zip's (only model.dropout may differ), and its tokenizer must be a
    /// named encoding equal to the .zip's, so that the run's config.json rebuilds both for --resume and eval.
    /// </summary>
    private static void CheckInitialModel(PipelineDefinition d, InitialModel init)
    {
        var differences = ConfigDifferences.Between(ConfigJson.ToJson(d with { Model = init.Model.Config }), ConfigJson.ToJson(d))
            .Where(x => x.Key.StartsWith("model.", StringComparison.Ordinal) && x.Key != "model.dropout").ToList();
        if (differences.Count > 0)
            throw new CliException(
                $"--init-from '{init.Path}' holds another model than the pipeline describes: {string.Join(", ", differences.Select(x => $"{x.Key} {x.Before} in the model, {x.After} in the pipeline"))}. " +
                "Leave the model section out (the model comes from --init-from) or set only model.dropout.", ExitCodes.ConfigError);
        var tokenizer = init.Tokenizer;
        if (d.Tokenizer.Type is "char" or "bpe")
            throw new CliException(
                $"--init-from continues the tokenizer of '{init.Path}'; tokenizer.type '{d.Tokenizer.Type}' would learn another one from the corpus. Set tokenizer.type to the model's encoding (gpt2 for GPT-2).", ExitCodes.ConfigError);
        if (!SameTokenizer(tokenizer, BpeTokenizer.CreateForEncoding(d.Tokenizer.Type)))
            throw new CliException(
                $"--init-from '{init.Path}' uses another tokenizer than tokenizer.type '{d.Tokenizer.Type}' ({TokenizerName(tokenizer)}); set tokenizer.type to the model's encoding.", ExitCodes.ConfigError);
    }

    private static string TokenizerName(Microsoft.ML.Tokenizers.Tokenizer t) => t is BpeTokenizer b ? $"a BPE tokenizer of {b.VocabularySize} ids" : t.GetType().Name;

    // Tokenizers are equal when they save to the same bytes (the format holds every rank, merge and special token).
    private static bool SameTokenizer(Microsoft.ML.Tokenizers.Tokenizer a, BpeTokenizer b)
    {
        if (a is not BpeTokenizer ours || ours.VocabularySize != b.VocabularySize) return false;
        using var x = new MemoryStream();
        using var y = new MemoryStream();
        ours.Save(x);
        b.Save(y);
        return x.GetBuffer().AsSpan(0, (int)x.Length).SequenceEqual(y.GetBuffer().AsSpan(0, (int)y.Length));
    }

    // A resume continues the run as configured: only the recipe (train.*), sampling (generate.*), the device and where
    // the corpus file lies may change, and the checkpoint must have been trained on this very corpus and model.
    private static Start PrepareResume(TrainRequest request, string directory)
    {
        if (request.PipelinePath is not null)
            throw new CliException($"train --resume continues the run with its own config.json; drop the pipeline file '{request.PipelinePath}' (overrides are key=value).");
        if (request.OutputDirectory is not null) throw new CliException("train --resume writes into the run folder it continues; drop --out.");
        if (request.InitFrom is not null) throw new CliException("train --resume continues from the run's checkpoint, which holds its weights; drop --init-from.");
        var run = RunFolder.OpenForResume(directory);
        var saved = PipelineConfigLoader.Load(run.ConfigPath, []);
        var d = WithCorpusPath(PipelineConfigLoader.Load(run.ConfigPath, request.Overrides), request.DataPath);
        var differences = ConfigDifferences.Between(ConfigJson.ToJson(saved), ConfigJson.ToJson(d));
        var refused = differences.Where(x => !ConfigDifferences.MayChangeOnResume(x.Key)).ToList();
        if (refused.Count > 0)
            throw new CliException(
                $"--resume continues '{run.Path}' as it was configured; these overrides would change it: {string.Join(", ", refused)}. " +
                "Only train.*, generate.*, device and the corpus location (--from) may change on --resume; start a new run (without --resume) for other settings.",
                ExitCodes.ConfigError);

        CheckpointInfo checkpoint;
        try { checkpoint = LanguageModelTrainer.ReadCheckpoint(run.CheckpointPath); }
        catch (InvalidDataException e) { throw new CliException($"Cannot resume: {e.Message}"); }

        var corpus = CorpusFile.Read(ResolveCorpus(d, request.DataPath));
        var problems = new List<string>();
        if (checkpoint.Annotations.TryGetValue(CorpusShaKey, out var sha) && sha != corpus.Sha256)
            problems.Add($"the corpus differs: the checkpoint was trained on {Annotation(checkpoint, CorpusBytesKey)} bytes with SHA-256 {sha[..16]}, " +
                         $"but '{corpus.Path}' has {corpus.Describe()}");
        if (checkpoint.Annotations.TryGetValue(TokenizerKey, out var tokenizer) && tokenizer != TokenizerJson(d))
            problems.Add($"the tokenizer differs: {tokenizer} in the checkpoint, {TokenizerJson(d)} in config.json");
        var modelNow = d.Model with { VocabularySize = checkpoint.Config.VocabularySize };
        if (!Equals(modelNow, checkpoint.Config))
        {
            var modelDiffs = ConfigDifferences.Between(ConfigJson.ToJson(d with { Model = checkpoint.Config }), ConfigJson.ToJson(d))
                .Where(x => x.Key.StartsWith("model.", StringComparison.Ordinal)).Select(x => x.ToString()).ToList();
            problems.Add($"the model differs from the checkpoint's: {(modelDiffs.Count > 0 ? string.Join(", ", modelDiffs) : $"{checkpoint.Config.Kind} in the checkpoint, {d.Model.Kind} in config.json")}");
        }
        if (problems.Count > 0)
            throw new CliException($"Cannot resume '{run.Path}': {string.Join("; ", problems)}. Nothing was changed; resume with the same corpus and settings, or start a new run.");

        int step = checkpoint.Step;
        if (step > d.Train.MaxIters)
            throw new CliException(
                $"Key 'train.max_iters' = {d.Train.MaxIters} is invalid: the checkpoint is at step {step}; pass train.max_iters=N with N > {step} to train further.",
                ExitCodes.ConfigError);
        if (step == d.Train.MaxIters && run.IsFinishedAt(step))
            throw new CliException(
                $"Run '{run.Path}' already finished at step {step} (model.zip and metrics.json are written); nothing was changed. " +
                $"To train further: mlnetgpt train --resume {run.Path} train.max_iters=N with N > {step}.");
        return new Start(d, run, corpus, checkpoint, differences.Select(x => x.ToString()).ToList());
    }

    // Annotations the CLI stores in every checkpoint, checked by --resume.
    private const string CorpusShaKey = "corpus_sha256", CorpusBytesKey = "corpus_bytes", TokenizerKey = "tokenizer";

    private static string Annotation(CheckpointInfo c, string key) =>
        c.Annotations.TryGetValue(key, out var v) ? long.TryParse(v, CultureInfo.InvariantCulture, out long n) ? n.ToString("N0", CultureInfo.InvariantCulture) : v : "?";

    private static string TokenizerJson(PipelineDefinition d) => JsonSerializer.Serialize(d.Tokenizer, PipelineConfigLoader.Strict);

    /// <summary>The definition with --from recorded as data.path (full path), so --resume, the Ctrl+C hint and eval find it offline.</summary>
    private static PipelineDefinition WithCorpusPath(PipelineDefinition d, string? from) =>
        from is null ? d : d with { Data = d.Data with { Path = Path.GetFullPath(from) } };

    private static async Task<int> TrainAsync(Start start, TextWriter output, TextWriter error, bool live, CancellationToken cancellationToken)
    {
        var (d, run, corpusFile, resume, changes, init) = start;
        output.WriteLine($"pipeline {d.Name}: {d.Model.Kind} model, {d.Tokenizer.Type} tokenizer, {d.Train.MaxIters} steps");
        if (init is not null) output.WriteLine($"init     {init.Path} ({init.Model.ParameterCount:N0} parameters)");
        output.WriteLine($"data     {corpusFile.Path}");
        output.WriteLine($"run      {run.Path}{(resume is null ? "" : $" (resuming at step {resume.Step})")}");
        if (changes.Count > 0) output.WriteLine($"changes  {string.Join(", ", changes)}");
        if (resume is not null && resume.Step == d.Train.MaxIters)
            output.WriteLine($"finishing: the checkpoint is at the last step; writing model.zip, the sample and metrics.json");
        int stale = run.RemoveStaleTemporaries();
        if (stale > 0) output.WriteLine($"removed  {stale} temporary file(s) left by an interrupted run");
        // config.json describes the settings that produced checkpoint.bin: a new run writes it now, a resume just before its
        // first checkpoint, so a resume that fails first (diverges, is killed) leaves the old settings beside the old checkpoint.
        bool configWritten = false;
        void WriteConfigOnce()
        {
            if (configWritten) return;
            run.WriteConfig(d);
            configWritten = true;
        }
        if (resume is null) WriteConfigOnce();

        using var log = new StreamWriter(run.LogPath, append: true) { AutoFlush = true };
        log.WriteLine($"# {DateTime.Now:O} train {d.Name}{(resume is null ? "" : $" --resume at step {resume.Step}")}{(init is null ? "" : $" --init-from {Path.GetFullPath(init.Path)}")}");

        var annotations = new Dictionary<string, string>
        {
            [CorpusShaKey] = corpusFile.Sha256,
            [CorpusBytesKey] = corpusFile.Bytes.ToString(CultureInfo.InvariantCulture),
            [TokenizerKey] = TokenizerJson(d),
        };

        // The same ML.NET pipeline a C# user writes: corpus -> contiguous split -> tokenizer -> trainer.
        var ml = new MLContext(seed: unchecked((int)d.Train.Seed));
        var corpus = ml.Data.LoadCorpusFromTextFile(corpusFile.Path);
        var split = ml.Data.TrainTestSplitContiguous(corpus, d.Data.ValFraction);

        var history = resume is null ? [] : run.ReadLossHistory(w => error.WriteLine($"warning: {w}"));
        var wall = Stopwatch.StartNew();
        ITransformer? model = null;
        try
        {
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
                var pipeline = TokenizerStep(ml, d).Append(TrainerStep(ml, d, split.TestSet, progress, cancellationToken, run, resume, init?.Model,
                    trainer => { WriteConfigOnce(); trainer.SaveCheckpoint(run.CheckpointPath, annotations); }));
                await Task.Run(() => model = pipeline.Fit(split.TrainSet), CancellationToken.None);
                return null;
            });
        }
        catch (TrainingDivergedException e)
        {
            log.WriteLine($"diverged at step {e.Step}");
            string kept = File.Exists(run.CheckpointPath)
                ? $" {run.CheckpointPath} (step {SafeStep(run.CheckpointPath)}) is unchanged{(File.Exists(run.ModelPath) ? ", and so is model.zip" : "")}."
                : " No checkpoint had been written, so nothing was kept.";
            throw new CliException(e.Message + kept);
        }
        catch (ArgumentException e)
        {
            // The library validates data against the settings inside Fit (too few tokens for the block size, ...).
            throw new CliException(CliMessages.Clean(e));
        }

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
            ["final_train_loss"] = Finite(result.FinalTrainLoss),
            ["final_val_loss"] = Finite(result.FinalValLoss),
            ["tokens_per_s"] = Math.Round(result.TokensPerSecond, 1),
            ["ms_per_iter"] = Math.Round(result.MillisecondsPerIter, 3),
            ["train_wall_s"] = Math.Round(result.WallTime.TotalSeconds, 3),
            ["total_wall_s"] = Math.Round(wall.Elapsed.TotalSeconds, 3),
            ["peak_memory_mb"] = Math.Round(PeakMemory.Megabytes(), 1),
            ["parameters"] = generator.ParameterCount,
            ["vocabulary_size"] = generator.Model.VocabularySize,
            ["threads"] = d.Train.Threads == 0 ? Environment.ProcessorCount : d.Train.Threads,
        };
        if (init is not null) metrics["init_from"] = Path.GetFullPath(init.Path);
        // Written last: its presence with this step count is what marks the run as finished (see RunFolder.IsFinishedAt).
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
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done at step {result.Steps}: train {result.FinalTrainLoss:0.0000} val {result.FinalValLoss:0.0000}"));
        return ExitCodes.Ok;
    }

    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;

    private static string SafeStep(string checkpointPath)
    {
        try { return LanguageModelTrainer.ReadCheckpoint(checkpointPath).Step.ToString(CultureInfo.InvariantCulture); }
        catch (Exception e) when (e is InvalidDataException or IOException) { return "?"; }
    }

    /// <summary>
    /// The corpus file: --from, else data.path, else (for tinyshakespeare) MLNETGPT_DATA, the cache, or a download. Offline,
    /// the error says to pass --from.
    /// </summary>
    public static string ResolveCorpus(PipelineDefinition d, string? from)
    {
        string? path = from ?? d.Data.Path;
        if (d.Data.Source == "file")
        {
            if (string.IsNullOrEmpty(path)) throw new CliException("data.source is 'file' but no data.path or --from was given.");
            if (!File.Exists(path)) throw new CliException($"Data file '{path}' does not exist.");
            return path;
        }
        return CorpusFile.LocateTinyShakespeare(path, "--from");
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
        IProgress<TrainingProgress> progress, CancellationToken cancellationToken, RunFolder run, CheckpointInfo? resume,
        ILanguageModel? initialModel, Action<LanguageModelTrainer> checkpoint)
    {
        LanguageModelTrainerOptions Common(LanguageModelTrainerOptions o) => o with
        {
            Training = d.Train,
            Device = d.Device,
            Seed = unchecked((int)d.Train.Seed),
            ValidationData = validation,
            Progress = progress,
            CancellationToken = cancellationToken,
            Checkpoint = checkpoint,
            ResumeFromCheckpoint = resume is null ? null : run.CheckpointPath,
            InitialModel = initialModel,
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
