// The training loop: seeded batches, gradient accumulation, global-norm clipping, AdamW per arena slice, warmup + cosine LR,
// periodic loss estimates, progress, cancellation and checkpoints that resume bit-for-bit (same thread count).
using System.Diagnostics;
using MLNetGpt.Models.Data;
using MLNetGpt.Models.Serialization;
using MLNetGpt.Tensors;

namespace MLNetGpt.Models.Training;

/// <summary>
/// Trains an <see cref="ILanguageModel"/> (a <see cref="GptModel"/> or <see cref="BigramModel"/>) on token ids.
/// Deterministic for a given seed and thread count: batches come from a <see cref="SplitMixRandom"/> whose state is
/// checkpointed, dropout masks and evaluation batches are derived from (seed, step), so <see cref="Resume(string, int[], int[], IComputeBackend, TrainingOptions)"/>
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

    private LanguageModelTrainer(ITrainableModel model, int[] trainTokens, int[]? valTokens, TrainingOptions options)
    {
        _model = model;
        Options = options;
        _t = options.BlockSize == 0 ? model.BlockSize : options.BlockSize;
        _m = Arena.Create(model.Parameters.Layout);
        _v = Arena.Create(model.Parameters.Layout);
        _train = BatchSampler.Create(trainTokens, options.BatchSize, _t, options.Seed, "train");
        _evalTrain = BatchSampler.Create(trainTokens, options.BatchSize, _t, options.Seed, "train");
        _evalVal = valTokens is null ? null : BatchSampler.Create(valTokens, options.BatchSize, _t, options.Seed, "validation");
        _inputs = new int[options.BatchSize * _t];
        _targets = new int[options.BatchSize * _t];
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
    /// </summary>
    public static LanguageModelTrainer Resume(string checkpointPath, int[] trainTokens, int[]? valTokens, IComputeBackend? backend = null, TrainingOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpointPath);
        if (!File.Exists(checkpointPath)) throw new FileNotFoundException($"Checkpoint '{checkpointPath}' does not exist.", checkpointPath);
        using var fs = File.OpenRead(checkpointPath);
        return Resume(fs, trainTokens, valTokens, backend, options, checkpointPath);
    }

    /// <summary>Restores a checkpoint from a stream (see <see cref="Resume(string, int[], int[], IComputeBackend, TrainingOptions)"/>).</summary>
    public static LanguageModelTrainer Resume(Stream checkpoint, int[] trainTokens, int[]? valTokens, IComputeBackend? backend = null, TrainingOptions? options = null) =>
        Resume(checkpoint, trainTokens, valTokens, backend, options, "stream");

    // Unknown keys are errors: a checkpoint written with other key names must not resume with silent defaults.
    private static readonly System.Text.Json.JsonSerializerOptions StrictJson = new()
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    private static LanguageModelTrainer Resume(Stream checkpoint, int[] trainTokens, int[]? valTokens, IComputeBackend? backend, TrainingOptions? options, string source)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var file = SafeTensorsFile.Read(checkpoint, source);
        ModelFiles.CheckFormat(file, ModelFiles.CheckpointFormat);
        var model = ModelFiles.ReadModel(file, backend);
        TrainingOptions saved;
        try
        {
            saved = System.Text.Json.JsonSerializer.Deserialize<TrainingOptions>(file.Metadata["training_options"], StrictJson)
                ?? throw new InvalidDataException("null training_options");
            saved.Validate();
        }
        catch (Exception e) when (e is KeyNotFoundException or System.Text.Json.JsonException or ArgumentException)
        {
            throw new InvalidDataException($"'{source}': missing or invalid 'training_options' in the checkpoint metadata: {e.Message}", e);
        }
        var trainer = Create(model, trainTokens, valTokens, options ?? saved);
        ModelFiles.ReadArena(file, trainer._m, "optimizer.exp_avg.");
        ModelFiles.ReadArena(file, trainer._v, "optimizer.exp_avg_sq.");
        if (!file.Metadata.TryGetValue("step", out var stepText) || !int.TryParse(stepText, out int step) || step < 0)
            throw new InvalidDataException($"'{source}': missing or invalid 'step' in the checkpoint metadata.");
        if (!file.Metadata.TryGetValue("rng_state", out var rngText) || !ulong.TryParse(rngText, out ulong rng))
            throw new InvalidDataException($"'{source}': missing or invalid 'rng_state' in the checkpoint metadata.");
        trainer.Step = step;
        trainer._train.Random.State = rng;
        return trainer;
    }

    /// <summary>
    /// Writes model, AdamW moments, step, sampler state and recipe as one safetensors file (metadata format
    /// "mlnetgpt-checkpoint", format_version 1; moments as "optimizer.exp_avg.NAME" / "optimizer.exp_avg_sq.NAME"), atomically.
    /// </summary>
    public void SaveCheckpoint(string path) => AtomicFile.Write(path, SaveCheckpoint);

    /// <summary>Writes the checkpoint to a stream (see <see cref="SaveCheckpoint(string)"/>).</summary>
    public void SaveCheckpoint(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var meta = new Dictionary<string, string>
        {
            ["format"] = ModelFiles.CheckpointFormat,
            ["format_version"] = ModelFiles.FormatVersion,
            ["config"] = _model.Config.ToJson(),
            ["training_options"] = System.Text.Json.JsonSerializer.Serialize(Options),
            ["step"] = Step.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["rng_state"] = _train.Random.State.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var tensors = ModelFiles.ParameterTensors(_model);
        tensors.AddRange(ModelFiles.ParameterTensors(_model, "optimizer.exp_avg.", _m));
        tensors.AddRange(ModelFiles.ParameterTensors(_model, "optimizer.exp_avg_sq.", _v));
        SafeTensorsFile.Write(destination, meta, tensors);
    }

    /// <summary>
    /// Runs steps from <see cref="Step"/> to <see cref="TrainingOptions.MaxIters"/>. Progress is reported every LogInterval steps and
    /// after each evaluation; <paramref name="checkpoint"/> is called every CheckpointInterval steps, on cancellation and at the end
    /// (the callback typically calls <see cref="SaveCheckpoint(string)"/>). Cancellation stops between steps and returns a result with
    /// <see cref="TrainingResult.Cancelled"/> set instead of throwing.
    /// </summary>
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
            trainTicks += Stopwatch.GetTimestamp() - t0;

            bool evaluate = Step == o.MaxIters || (o.EvalInterval > 0 && Step % o.EvalInterval == 0);
            if (evaluate) (evalTrain, evalVal) = EstimateLoss();
            if (progress is not null && (evaluate || Step % o.LogInterval == 0))
            {
                double trainSeconds = trainTicks / (double)Stopwatch.Frequency;
                int done = Step - startStep;
                double perStep = done == 0 ? 0 : wall.Elapsed.TotalSeconds / done;
                progress.Report(new TrainingProgress(Step, o.MaxIters, lastLoss, evaluate ? evalTrain : null, evaluate ? evalVal : null, lr,
                    trainSeconds > 0 ? done * tokensPerStep / trainSeconds : 0, wall.Elapsed, TimeSpan.FromSeconds(perStep * (o.MaxIters - Step))));
            }
            if (checkpoint is not null && o.CheckpointInterval > 0 && Step % o.CheckpointInterval == 0 && Step < o.MaxIters) checkpoint(this);
        }
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
        _model.Gradients.Clear();
        int accum = o.GradientAccumulationSteps;
        float loss = 0;
        for (int micro = 0; micro < accum; micro++)
        {
            _train.Next(_inputs, _targets);
            ulong dropoutSeed = SplitMixRandom.Derive(o.Seed, DropoutStream ^ ((ulong)Step * (ulong)accum + (ulong)micro));
            loss += _model.ForwardBackward(_inputs, _targets, o.BatchSize, _t, 1f / accum, dropoutSeed) / accum;
        }
        Step++;
        AdamWOptimizer.Step(_model, _m, _v, o, lr, Step);
        return loss;
    }

    private static void CheckVocabulary(int[] tokens, int vocabularySize, string name)
    {
        for (int i = 0; i < tokens.Length; i++)
            if ((uint)tokens[i] >= (uint)vocabularySize)
                throw new ArgumentOutOfRangeException(nameof(tokens), tokens[i], $"Token id {tokens[i]} at index {i} of the {name} corpus is outside the vocabulary [0,{vocabularySize}).");
    }
}
