// The training loop: seeded batches, gradient accumulation, global-norm clipping, AdamW per arena slice, warmup + cosine LR,
// periodic loss estimates, progress, cancellation and checkpoints that resume bit-for-bit (same thread count).
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MLNetGpt.Models.Data;
using MLNetGpt.Models.Serialization;
using MLNetGpt.Tensors;

namespace MLNetGpt.Models.Training;

/// <summary>
/// Trains an <see cref="ILanguageModel"/> (a <see cref="GptModel"/> or <see cref="BigramModel"/>) on token ids.
/// Deterministic for a given seed and thread count: batches come from a <see cref="SplitMixRandom"/> whose state is
/// checkpointed, dropout masks and evaluation batches are derived from (seed, step), so <see cref="Resume(string, int[], int[], IComputeBackend, TrainingOptions, LanguageModelConfig)"/>
/// continues exactly where the run stopped.
/// </summary>
public sealed class LanguageModelTrainer
{
    private const ulong DropoutStream = 0xD50F_0000_0000_0000UL;
    private const ulong EvalStream = 0xE7A1_0000_0000_0000UL;

    private readonly ITrainableModel _model;
    private readonly Arena _m, _v;
    private readonly BatchSampler _train;
    private readonly BatchSampler _evalTrain;
    private readonly BatchSampler? _evalVal;
    private readonly int[] _inputs, _targets;
    private readonly int _t;
    private readonly TokenFingerprint _trainPrint;
    private readonly TokenFingerprint? _validationPrint;
    private float _lastStepLoss = float.NaN;
    private readonly float[] _clip = new float[1]; // the global-norm clip's factor of the step (AdamWOptimizer.Step)

    private LanguageModelTrainer(ITrainableModel model, int[] trainTokens, int[]? valTokens, TrainingOptions options)
    {
        _model = model;
        Options = options;
        _t = options.BlockSize == 0 ? model.BlockSize : options.BlockSize;
        _m = Arena.Create(model.Parameters.Layout);
        _v = Arena.Create(model.Parameters.Layout);
        model.Backend.Attach(_m.Data); // device backends keep the AdamW moments on the device (see GptModel's constructor)
        model.Backend.Attach(_v.Data);
        model.Backend.Attach(_clip); // and the gradient clip's factor, which AdamW reads there
        _train = BatchSampler.Create(trainTokens, options.BatchSize, _t, options.Seed, "train");
        _evalTrain = BatchSampler.Create(trainTokens, options.BatchSize, _t, options.Seed, "train");
        _evalVal = valTokens is null ? null : BatchSampler.Create(valTokens, options.BatchSize, _t, options.Seed, "validation");
        _inputs = new int[options.BatchSize * _t];
        _targets = new int[options.BatchSize * _t];
        _trainPrint = TokenFingerprint.Of(trainTokens);
        _validationPrint = valTokens is null ? null : TokenFingerprint.Of(valTokens);
    }

    /// <summary>The model being trained (updated in place).</summary>
    public ILanguageModel Model => _model;

    /// <summary>The recipe.</summary>
    public TrainingOptions Options { get; }

    /// <summary>Optimizer steps completed so far (restored by a resume).</summary>
    public int Step { get; private set; }

    /// <summary>
    /// Prepares training. <paramref name="trainTokens"/> (and <paramref name="valTokens"/> when given) need at least T+1 tokens, all in
    /// [0, V); T is <see cref="TrainingOptions.BlockSize"/> (0 = the model's) and may not exceed the model's block size.
    /// </summary>
    public static LanguageModelTrainer Create(ILanguageModel model, int[] trainTokens, int[]? valTokens, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(trainTokens);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (model is not ITrainableModel trainable)
            throw new ArgumentException($"Model of type {model.GetType().Name} cannot be trained; use GptModel or BigramModel.", nameof(model));
        if (options.BlockSize > model.BlockSize)
            throw new ArgumentOutOfRangeException(nameof(options), options.BlockSize,
                $"TrainingOptions.BlockSize {options.BlockSize} is larger than the model's block size {model.BlockSize}.");
        CheckVocabulary(trainTokens, model.VocabularySize, "train");
        if (valTokens is not null) CheckVocabulary(valTokens, model.VocabularySize, "validation");
        return new LanguageModelTrainer(trainable, trainTokens, valTokens, options);
    }

    /// <summary>Creates a trainer and runs it to the end (see <see cref="Run"/>).</summary>
    public static TrainingResult Train(ILanguageModel model, int[] trainTokens, int[]? valTokens, TrainingOptions options,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Create(model, trainTokens, valTokens, options).Run(progress, cancellationToken);

    /// <summary>
    /// Restores a checkpoint written by <see cref="SaveCheckpoint(string)"/>: model, AdamW moments, step and sampler state.
    /// <paramref name="options"/> null reuses the saved recipe (pass one, e.g. with a larger MaxIters, to continue differently).
    /// The checkpoint must be intact (its checksum covers every byte) and must have been trained on exactly these tokens:
    /// the count and SHA-256 of <paramref name="trainTokens"/> and <paramref name="valTokens"/> are compared with the
    /// fingerprints stored in it, so another corpus, another tokenizer or another split is refused instead of resumed.
    /// With <paramref name="expectedConfig"/>, the stored model configuration must equal it.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is damaged, truncated, of another format, or holds non-finite values.</exception>
    /// <exception cref="ArgumentException">The tokens, the configuration or MaxIters do not fit the checkpoint; the message says what differs.</exception>
    public static LanguageModelTrainer Resume(string checkpointPath, int[] trainTokens, int[]? valTokens, IComputeBackend? backend = null,
        TrainingOptions? options = null, LanguageModelConfig? expectedConfig = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpointPath);
        if (!File.Exists(checkpointPath)) throw new FileNotFoundException($"Checkpoint '{checkpointPath}' does not exist.", checkpointPath);
        using var fs = File.OpenRead(checkpointPath);
        return Resume(fs, trainTokens, valTokens, backend, options, expectedConfig, checkpointPath);
    }

    /// <summary>Restores a checkpoint from a stream (see <see cref="Resume(string, int[], int[], IComputeBackend, TrainingOptions, LanguageModelConfig)"/>).</summary>
    public static LanguageModelTrainer Resume(Stream checkpoint, int[] trainTokens, int[]? valTokens, IComputeBackend? backend = null,
        TrainingOptions? options = null, LanguageModelConfig? expectedConfig = null) =>
        Resume(checkpoint, trainTokens, valTokens, backend, options, expectedConfig, "stream");

    /// <summary>
    /// Reads and verifies a checkpoint's checksum and metadata without building the trainer: step, configuration, recipe,
    /// the fingerprints of the tokens it was trained on and the caller's annotations.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is damaged, truncated or not a checkpoint.</exception>
    public static CheckpointInfo ReadCheckpoint(string checkpointPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpointPath);
        if (!File.Exists(checkpointPath)) throw new FileNotFoundException($"Checkpoint '{checkpointPath}' does not exist.", checkpointPath);
        using var fs = File.OpenRead(checkpointPath);
        return ReadCheckpoint(fs, checkpointPath);
    }

    /// <summary>Reads a checkpoint's metadata from a stream (see <see cref="ReadCheckpoint(string)"/>).</summary>
    public static CheckpointInfo ReadCheckpoint(Stream checkpoint, string source = "stream")
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        using var file = OpenCheckpoint(checkpoint, source);
        ModelFiles.CheckFormat(file, ModelFiles.CheckpointFormat);
        return ReadInfo(file);
    }

    /// <summary>
    /// The checkpoint's header, checksum verified; a seekable stream is then read tensor by tensor (the model and its AdamW
    /// moments are held once, in their arenas), any other one is read whole.
    /// </summary>
    private static CheckpointSource OpenCheckpoint(Stream checkpoint, string source) => checkpoint.CanSeek
        ? new CheckpointSource(SafeTensorsReader.Open(checkpoint, source, leaveOpen: true))
        : new CheckpointSource(SafeTensorsFile.Read(checkpoint, source));

    /// <summary>A checkpoint file, in memory or streamed; disposing releases the reader.</summary>
    private sealed class CheckpointSource(ITensorSource file) : ITensorSource, IDisposable
    {
        public string Source => file.Source;
        public IReadOnlyDictionary<string, string> Metadata => file.Metadata;
        public IReadOnlyDictionary<string, TensorInfo> Tensors => file.Tensors;
        public long DataLength => file.DataLength;
        public bool ChecksumVerified => file.ChecksumVerified;
        public void CopyTo(string name, ReadOnlySpan<int> expectedShape, Span<float> destination) => file.CopyTo(name, expectedShape, destination);
        public void Dispose() => (file as IDisposable)?.Dispose();
    }

    // Unknown keys are errors: a checkpoint written with other key names must not resume with silent defaults.
    private static readonly JsonSerializerOptions StrictJson = new()
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    private static CheckpointInfo ReadInfo(ITensorSource file)
    {
        string source = file.Source;
        var config = ModelFiles.ReadConfig(file);
        TrainingOptions saved;
        try
        {
            saved = JsonSerializer.Deserialize<TrainingOptions>(file.Metadata["training_options"], StrictJson)
                ?? throw new InvalidDataException("null training_options");
            saved.Validate();
        }
        catch (Exception e) when (e is KeyNotFoundException or JsonException or ArgumentException)
        {
            throw new InvalidDataException($"'{source}': missing or invalid 'training_options' in the checkpoint metadata: {e.Message}", e);
        }
        if (!file.Metadata.TryGetValue("step", out var stepText) || !int.TryParse(stepText, NumberStyles.None, CultureInfo.InvariantCulture, out int step))
            throw new InvalidDataException($"'{source}': missing or invalid 'step' in the checkpoint metadata.");
        if (!file.Metadata.TryGetValue("rng_state", out var rngText) || !ulong.TryParse(rngText, NumberStyles.None, CultureInfo.InvariantCulture, out ulong rng))
            throw new InvalidDataException($"'{source}': missing or invalid 'rng_state' in the checkpoint metadata.");
        float lastLoss = float.NaN;
        if (file.Metadata.TryGetValue("last_step_loss", out var lossText)
            && !float.TryParse(lossText, NumberStyles.Float, CultureInfo.InvariantCulture, out lastLoss))
            throw new InvalidDataException($"'{source}': invalid 'last_step_loss' in the checkpoint metadata.");
        var train = TokenFingerprint.Read(file.Metadata, "train_tokens", source)
            ?? throw new InvalidDataException($"'{source}': missing 'train_tokens' in the checkpoint metadata.");
        var validation = TokenFingerprint.Read(file.Metadata, "validation_tokens", source);
        Dictionary<string, string> annotations;
        try
        {
            annotations = file.Metadata.TryGetValue("annotations", out var a)
                ? JsonSerializer.Deserialize<Dictionary<string, string>>(a) ?? throw new InvalidDataException("null annotations")
                : [];
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{source}': invalid 'annotations' in the checkpoint metadata: {e.Message}", e);
        }
        return new CheckpointInfo(step, config, saved, train, validation, annotations, lastLoss, rng);
    }

    private static LanguageModelTrainer Resume(Stream checkpoint, int[] trainTokens, int[]? valTokens, IComputeBackend? backend, TrainingOptions? options,
        LanguageModelConfig? expectedConfig, string source)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(trainTokens);
        using var file = OpenCheckpoint(checkpoint, source);
        ModelFiles.CheckFormat(file, ModelFiles.CheckpointFormat);
        var info = ReadInfo(file);
        if (expectedConfig is not null && !Equals(expectedConfig, info.Config))
            throw new ArgumentException(
                $"'{source}' holds a model with another configuration: {ConfigDifferences(info.Config, expectedConfig)} (checkpoint vs. requested).",
                nameof(expectedConfig));
        CheckFingerprint(source, "training", info.TrainTokens, TokenFingerprint.Of(trainTokens), nameof(trainTokens));
        var validation = valTokens is null ? (TokenFingerprint?)null : TokenFingerprint.Of(valTokens);
        if (info.ValidationTokens is null != validation is null)
            throw new ArgumentException(info.ValidationTokens is null
                ? $"'{source}' was trained without validation tokens; resume it without them."
                : $"'{source}' was trained with validation tokens ({info.ValidationTokens}); resume it with the same ones.", nameof(valTokens));
        if (validation is { } v) CheckFingerprint(source, "validation", info.ValidationTokens!.Value, v, nameof(valTokens));

        var model = ModelFiles.ReadModel(file, backend);
        ModelFiles.CheckNoOtherTensors(file, model, "", ModelFiles.FirstMomentPrefix, ModelFiles.SecondMomentPrefix);
        var trainer = Create(model, trainTokens, valTokens, options ?? info.Training);
        if (trainer.Options.MaxIters < info.Step)
            throw new ArgumentOutOfRangeException(nameof(options), trainer.Options.MaxIters,
                $"'{source}' is at step {info.Step}, beyond MaxIters {trainer.Options.MaxIters}; resume with MaxIters of at least {info.Step}.");
        ModelFiles.ReadArena(file, trainer._m, ModelFiles.FirstMomentPrefix);
        ModelFiles.ReadArena(file, trainer._v, ModelFiles.SecondMomentPrefix);
        trainer._model.Backend.CopyToDevice(trainer._m.Span);
        trainer._model.Backend.CopyToDevice(trainer._v.Span);
        trainer.Step = info.Step;
        trainer._train.Random.State = info.RngState;
        trainer._lastStepLoss = info.LastStepLoss;
        return trainer;
    }

    private static void CheckFingerprint(string source, string split, TokenFingerprint saved, TokenFingerprint given, string paramName)
    {
        if (saved != given)
            throw new ArgumentException(
                $"The {split} tokens differ from those '{source}' was trained on: {given} now, {saved} in the checkpoint. " +
                "The corpus, the tokenizer or the split changed; resume with the same data, or start a new run.", paramName);
    }

    /// <summary>"n_embd 16 vs 64, n_layer 1 vs 2": the keys whose values differ between two configurations.</summary>
    internal static string ConfigDifferences(LanguageModelConfig a, LanguageModelConfig b)
    {
        if (a.Kind != b.Kind) return $"kind {a.Kind} vs {b.Kind}";
        var x = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(a.ToJson())!;
        var y = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(b.ToJson())!;
        var diffs = x.Where(p => !System.Text.Json.Nodes.JsonNode.DeepEquals(p.Value, y[p.Key]))
            .Select(p => $"{p.Key} {p.Value?.ToJsonString()} vs {y[p.Key]?.ToJsonString()}").ToList();
        return diffs.Count == 0 ? "(none)" : string.Join(", ", diffs);
    }

    /// <summary>
    /// Writes model, AdamW moments, step, sampler state, recipe and the fingerprints of the training and validation tokens
    /// as one safetensors file (metadata format "mlnetgpt-checkpoint", format_version 2, a SHA-256 checksum of every byte;
    /// moments as "optimizer.exp_avg.NAME" / "optimizer.exp_avg_sq.NAME"), atomically.
    /// </summary>
    /// <exception cref="TrainingDivergedException">A weight or moment is NaN or infinite: nothing is written.</exception>
    public void SaveCheckpoint(string path) => SaveCheckpoint(path, null);

    /// <summary>
    /// Writes the checkpoint (see <see cref="SaveCheckpoint(string)"/>) with the caller's <paramref name="annotations"/>
    /// (for example fingerprints of the corpus file), returned by <see cref="ReadCheckpoint(string)"/>.
    /// </summary>
    public void SaveCheckpoint(string path, IReadOnlyDictionary<string, string>? annotations)
    {
        EnsureFiniteState(); // before the temporary file exists: a diverged state never replaces a good checkpoint
        AtomicFile.Write(path, s => SaveCheckpoint(s, annotations));
    }

    /// <summary>Writes the checkpoint to a stream (see <see cref="SaveCheckpoint(string)"/>).</summary>
    public void SaveCheckpoint(Stream destination) => SaveCheckpoint(destination, null);

    /// <summary>Writes the checkpoint with annotations to a stream (see <see cref="SaveCheckpoint(string, IReadOnlyDictionary{string, string})"/>).</summary>
    public void SaveCheckpoint(Stream destination, IReadOnlyDictionary<string, string>? annotations)
    {
        ArgumentNullException.ThrowIfNull(destination);
        EnsureFiniteState();
        var meta = new Dictionary<string, string>
        {
            ["format"] = ModelFiles.CheckpointFormat,
            ["format_version"] = ModelFiles.CheckpointFormatVersion,
            ["config"] = _model.Config.ToJson(),
            ["training_options"] = JsonSerializer.Serialize(Options),
            ["step"] = Step.ToString(CultureInfo.InvariantCulture),
            ["rng_state"] = _train.Random.State.ToString(CultureInfo.InvariantCulture),
            ["train_tokens"] = _trainPrint.Count.ToString(CultureInfo.InvariantCulture),
            ["train_tokens_sha256"] = _trainPrint.Sha256,
        };
        if (float.IsFinite(_lastStepLoss)) meta["last_step_loss"] = _lastStepLoss.ToString("R", CultureInfo.InvariantCulture);
        if (_validationPrint is { } v)
        {
            meta["validation_tokens"] = v.Count.ToString(CultureInfo.InvariantCulture);
            meta["validation_tokens_sha256"] = v.Sha256;
        }
        if (annotations is { Count: > 0 }) meta["annotations"] = JsonSerializer.Serialize(annotations);
        var tensors = ModelFiles.ParameterTensors(_model);
        tensors.AddRange(ModelFiles.ParameterTensors(_model, ModelFiles.FirstMomentPrefix, _m));
        tensors.AddRange(ModelFiles.ParameterTensors(_model, ModelFiles.SecondMomentPrefix, _v));
        SafeTensorsFile.Write(destination, meta, tensors, checksum: true);
    }

    /// <summary>Throws <see cref="TrainingDivergedException"/> when a weight or an AdamW moment is NaN or infinite.</summary>
    private void EnsureFiniteState()
    {
        // The host is about to read (and then save) the weights and moments: bring them back from a device backend.
        _model.Backend.CopyToHost(_model.Parameters.Span);
        _model.Backend.CopyToHost(_m.Span);
        _model.Backend.CopyToHost(_v.Span);
        foreach (var (arena, what) in new[] { (_model.Parameters, "weight"), (_m, "first moment"), (_v, "second moment") })
        {
            var data = arena.Data;
            for (int i = 0; i < data.Length; i++)
            {
                if (float.IsFinite(data[i])) continue;
                string name = arena.Layout.Slices.FirstOrDefault(s => i >= s.Offset && i < s.Offset + s.Length)?.Name ?? $"index {i}";
                throw new TrainingDivergedException(Step,
                    $"Training diverged at step {Step}: {what} '{name}' is {data[i].ToString(CultureInfo.InvariantCulture)}. {TrainingDivergedException.Advice}");
            }
        }
    }

    /// <summary>
    /// Runs steps from <see cref="Step"/> to <see cref="TrainingOptions.MaxIters"/>. Progress is reported every LogInterval steps and
    /// after each evaluation; <paramref name="checkpoint"/> is called every CheckpointInterval steps, on cancellation and at the end
    /// (the callback typically calls <see cref="SaveCheckpoint(string)"/>). Cancellation stops between steps and returns a result with
    /// <see cref="TrainingResult.Cancelled"/> set instead of throwing. A run with no step left still makes the final loss estimate.
    /// </summary>
    /// <exception cref="TrainingDivergedException">
    /// A step's loss, a loss estimate, a weight or a moment became NaN or infinite; neither the progress handler nor the
    /// checkpoint hook saw that state, so the last checkpoint written is the last good one.
    /// </exception>
    public TrainingResult Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default,
        Action<LanguageModelTrainer>? checkpoint = null)
    {
        var o = Options;
        var wall = Stopwatch.StartNew();
        long trainTicks = 0;
        int startStep = Step;
        long tokensPerStep = (long)o.BatchSize * _t * o.GradientAccumulationSteps;
        double? evalTrain = null, evalVal = null;
        float lastLoss = float.NaN;
        bool cancelled = false;
        while (Step < o.MaxIters)
        {
            if (cancellationToken.IsCancellationRequested) { cancelled = true; break; }
            long t0 = Stopwatch.GetTimestamp();
            float lr = o.LearningRateAt(Step);
            lastLoss = TrainStep(lr);
            _lastStepLoss = lastLoss;
            trainTicks += Stopwatch.GetTimestamp() - t0;
            if (!float.IsFinite(lastLoss))
                throw new TrainingDivergedException(Step, string.Create(CultureInfo.InvariantCulture,
                    $"Training diverged at step {Step}: the training loss is {lastLoss} (learning rate {lr:G3}). {TrainingDivergedException.Advice}"));

            bool evaluate = Step == o.MaxIters || (o.EvalInterval > 0 && Step % o.EvalInterval == 0);
            if (evaluate) (evalTrain, evalVal) = CheckedEstimate();
            if (progress is not null && (evaluate || Step % o.LogInterval == 0))
            {
                double trainSeconds = trainTicks / (double)Stopwatch.Frequency;
                int done = Step - startStep;
                double perStep = done == 0 ? 0 : wall.Elapsed.TotalSeconds / done;
                progress.Report(new TrainingProgress(Step, o.MaxIters, lastLoss, evaluate ? evalTrain : null, evaluate ? evalVal : null, lr,
                    trainSeconds > 0 ? done * tokensPerStep / trainSeconds : 0, wall.Elapsed, TimeSpan.FromSeconds(perStep * (o.MaxIters - Step))));
            }
            if (checkpoint is not null && o.CheckpointInterval > 0 && Step % o.CheckpointInterval == 0 && Step < o.MaxIters)
            {
                EnsureFiniteState();
                checkpoint(this);
            }
        }
        if (!cancelled && evalTrain is null)
        {
            // No step ran (MaxIters 0, or a resumed checkpoint already at MaxIters): the final estimate is still made, from
            // the same (seed, step) stream as the uninterrupted run's, so the result is the same numbers, never NaN.
            (evalTrain, evalVal) = CheckedEstimate();
            lastLoss = _lastStepLoss;
            progress?.Report(new TrainingProgress(Step, o.MaxIters, lastLoss, evalTrain, evalVal, o.LearningRateAt(Math.Max(0, Step - 1)), 0, wall.Elapsed, TimeSpan.Zero));
        }
        if (float.IsNaN(lastLoss)) lastLoss = _lastStepLoss;
        EnsureFiniteState();
        checkpoint?.Invoke(this);
        double seconds = trainTicks / (double)Stopwatch.Frequency;
        int steps = Step - startStep;
        return new TrainingResult(Step, evalTrain ?? lastLoss, evalVal, lastLoss,
            seconds > 0 ? steps * tokensPerStep / seconds : 0, steps > 0 ? seconds * 1000 / steps : 0, wall.Elapsed, cancelled);
    }

    /// <summary>
    /// nanoGPT's estimate_loss: mean eval-mode loss over <see cref="TrainingOptions.EvalIters"/> random batches of each split.
    /// The batches are drawn from a stream derived from (seed, step), so evaluating never perturbs training.
    /// </summary>
    public (double Train, double? Validation) EstimateLoss()
    {
        double train = EstimateSplit(_evalTrain);
        double? val = _evalVal is null ? null : EstimateSplit(_evalVal);
        return (train, val);
    }

    private (double Train, double? Validation) CheckedEstimate()
    {
        var (train, val) = EstimateLoss();
        if (!double.IsFinite(train) || (val is { } v && !double.IsFinite(v)))
            throw new TrainingDivergedException(Step, string.Create(CultureInfo.InvariantCulture,
                $"Training diverged at step {Step}: the estimated loss is {train} (train), {val?.ToString(CultureInfo.InvariantCulture) ?? "-"} (validation). {TrainingDivergedException.Advice}"));
        return (train, val);
    }

    private double EstimateSplit(BatchSampler sampler)
    {
        sampler.Random.State = SplitMixRandom.Derive(Options.Seed, EvalStream ^ (ulong)Step);
        double sum = 0;
        for (int i = 0; i < Options.EvalIters; i++)
        {
            sampler.Next(_inputs, _targets);
            sum += _model.ForwardLoss(_inputs, _targets, Options.BatchSize, _t);
        }
        return sum / Options.EvalIters;
    }

    /// <summary>One optimizer step at learning rate <paramref name="lr"/>; returns the mean micro-batch loss.</summary>
    private float TrainStep(float lr)
    {
        var o = Options;
        _model.Backend.Fill(_model.Gradients.Span, 0f); // where the gradients live (the device, for a GPU backend)
        int accum = o.GradientAccumulationSteps;
        float loss = 0;
        for (int micro = 0; micro < accum; micro++)
        {
            _train.Next(_inputs, _targets);
            ulong dropoutSeed = SplitMixRandom.Derive(o.Seed, DropoutStream ^ ((ulong)Step * (ulong)accum + (ulong)micro));
            loss += _model.ForwardBackward(_inputs, _targets, o.BatchSize, _t, 1f / accum, dropoutSeed) / accum;
        }
        Step++;
        AdamWOptimizer.Step(_model, _m, _v, o, lr, Step, _clip);
        return loss;
    }

    private static void CheckVocabulary(int[] tokens, int vocabularySize, string name)
    {
        for (int i = 0; i < tokens.Length; i++)
            if ((uint)tokens[i] >= (uint)vocabularySize)
                throw new ArgumentOutOfRangeException(nameof(tokens), tokens[i], $"Token id {tokens[i]} at index {i} of the {name} corpus is outside the vocabulary [0,{vocabularySize}).");
    }
}
