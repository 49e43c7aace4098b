// The estimator both trainers share: checks the schema, gathers token ids, trains with the Models trainer, returns the generator.
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Tokenizers;
using MLNetGpt.Data;
using MLNetGpt.Internals;
using MLNetGpt.Models;
using MLNetGpt.Models.Data;
using MLNetGpt.Models.Training;
using MLNetGpt.Tokenizing;

namespace MLNetGpt;

/// <summary>
/// Fits a language model on a token id column. <see cref="Fit"/> checks the schema and options first (milliseconds),
/// then concatenates the column's rows into one token stream, trains with <see cref="LanguageModelTrainer"/> (progress
/// to the options and to <c>MLContext.Log</c>, cancellation, checkpoints), and returns a <see cref="TextGenerationTransformer"/>.
/// A resume checks that the checkpoint was made from the same tokens and model configuration. A non-finite loss or weight
/// stops training with <see cref="TrainingDivergedException"/> naming the step (no checkpoint is written from that state).
/// </summary>
public abstract class LanguageModelTrainerBase : IEstimator<TextGenerationTransformer>
{
    private readonly IHost _host;
    private readonly MLContext? _context;
    private readonly LanguageModelTrainerOptions _options;

    private protected LanguageModelTrainerBase(IHostEnvironment env, string name, LanguageModelTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(env);
        _host = env.Register(name);
        _context = env as MLContext;
        _options = options ?? throw new ArgumentNullException(nameof(options));
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var column = SchemaChecks.Require(inputSchema, _options.TokenColumnName, SchemaChecks.TokenIdsType);
        if (!TokenizerAnnotations.Promised(column)) throw NoTokenizer();
        CheckOptions();
        var columns = inputSchema.ToDictionary(c => c.Name);
        foreach (var output in TextGenerationTransformer.OutputColumns(_options.OutputColumnName, _options.OutputTokenColumnName))
        {
            columns[output.Name] = output.Type is VectorDataViewType v
                ? MLNetAccess.Column(output.Name, SchemaShape.Column.VectorKind.VariableVector, v.ItemType)
                : MLNetAccess.Column(output.Name, SchemaShape.Column.VectorKind.Scalar, output.Type);
        }
        return new SchemaShape(columns.Values);
    }

    /// <inheritdoc/>
    public TextGenerationTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var column = SchemaChecks.Require(input.Schema, _options.TokenColumnName, SchemaChecks.TokenIdsType);
        var (tokenizer, sourceColumn) = TokenizerAnnotations.Read(column);
        if (tokenizer is null) throw NoTokenizer();
        CheckOptions();

        using var ch = _host.Start("Training");
        int[] train = ReadTokens(input, _options.TokenColumnName);
        int[]? validation = _options.ValidationData is null ? null : ReadValidation(_options.ValidationData, tokenizer, sourceColumn);
        int vocabulary = TokenizerOps.VocabularySize(tokenizer) ?? 1 + Math.Max(Max(train), validation is null ? 0 : Max(validation));
        var config = _options.CreateConfig(vocabulary);
        config.Validate();
        int needed = config.BlockSize + 1;
        if (train.Length < needed)
            throw new ArgumentException($"The training data has {train.Length} tokens; block size {config.BlockSize} needs at least {needed}.", nameof(input));
        if (validation is not null && validation.Length < needed)
            throw new ArgumentException($"The validation data has {validation.Length} tokens; block size {config.BlockSize} needs at least {needed}.", nameof(LanguageModelTrainerOptions.ValidationData));

        var backend = ComputeDevices.Create(_context, _options.Device, _options.Threads, ch);
        // Seeds come from the host's random source (deterministic under new MLContext(seed)) unless the options fix them.
        int seed = _options.Seed ?? _host.Rand.Next();
        long generationSeed = _options.Generation.Seed ?? _host.Rand.Next();
        // Two independent streams: one initializes the weights, the other drives batches, dropout and evaluation.
        var training = _options.Training with { Seed = SplitMixRandom.Derive((ulong)seed, 1) };
        ch.Info(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
            $"{config.Kind}: {train.Length:N0} training tokens, {(validation?.Length ?? 0):N0} validation tokens, vocabulary {vocabulary}, {training.MaxIters} steps on '{_options.Device}'"));

        var trainer = _options.ResumeFromCheckpoint is { } checkpoint
            ? LanguageModelTrainer.Resume(checkpoint, train, validation, backend, training, expectedConfig: config)
            : LanguageModelTrainer.Create(InitialModel(config, backend, seed), train, validation, training);
        var result = trainer.Run(new LoggingProgress(ch, _options.Progress), _options.CancellationToken, _options.Checkpoint);
        ch.Info(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
            $"{config.Kind}: {(result.Cancelled ? "cancelled" : "done")} at step {result.Steps}, train loss {result.FinalTrainLoss:0.0000}, val loss {result.FinalValLoss?.ToString("0.0000", CultureInfo.InvariantCulture) ?? "-"}, {result.TokensPerSecond:0} tokens/s"));

        var columns = new TextGenerationColumns
        {
            TokenColumnName = _options.TokenColumnName,
            OutputColumnName = _options.OutputColumnName,
            OutputTokenColumnName = _options.OutputTokenColumnName,
        };
        var generation = _options.Generation with { Seed = generationSeed };
        return new TextGenerationTransformer(_host, new LanguageModelHandle(trainer.Model), tokenizer, columns, generation, result);
    }

    /// <summary>The model training starts from: a copy of the options' InitialModel, or a fresh one seeded from <paramref name="seed"/>.</summary>
    private ILanguageModel InitialModel(LanguageModelConfig config, Tensors.IComputeBackend backend, int seed)
    {
        if (_options.InitialModel is not { } initial) return LanguageModel.Create(config, backend, SplitMixRandom.Derive((ulong)seed, 0));
        try
        {
            return LanguageModel.Create(config, initial, backend);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"InitialModel does not fit these options: {e.Message}", nameof(LanguageModelTrainerOptions.InitialModel), e);
        }
    }

    private ArgumentOutOfRangeException NoTokenizer() => new("inputSchema",
        $"Column '{_options.TokenColumnName}' was not produced by a tokenizer step, so the model could not decode its output; add mlContext.Transforms.Text.TokenizeIntoCharacterIds or TokenizeIntoBpeIds before the trainer.");

    private void CheckOptions()
    {
        _options.Training.Validate();
        _options.CreateConfig(1).Validate(); // sizes only: the vocabulary is known after the tokenizer is fitted
        _options.Generation.Validate();
        ComputeDevices.Check(_context, _options.Device, _options.Threads); // the device must be usable before any work
        if (_options.ResumeFromCheckpoint is { } path && !File.Exists(path))
            throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        if (_options.ResumeFromCheckpoint is not null && _options.InitialModel is not null)
            throw new ArgumentException("Set InitialModel or ResumeFromCheckpoint, not both: a checkpoint holds its own weights.", nameof(LanguageModelTrainerOptions.InitialModel));
    }

    /// <summary>All rows of a token id column, concatenated.</summary>
    internal static int[] ReadTokens(IDataView data, string columnName)
    {
        var column = data.Schema[columnName];
        var all = new List<int>();
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<int>>(column);
        VBuffer<int> ids = default;
        while (cursor.MoveNext())
        {
            getter(ref ids);
            foreach (int id in ids.DenseValues()) all.Add(id);
        }
        return [.. all];
    }

    private int[] ReadValidation(IDataView data, Tokenizer tokenizer, string? sourceColumn)
    {
        if (data.Schema.GetColumnOrNull(_options.TokenColumnName) is { } c)
        {
            SchemaChecks.Require(data.Schema, c.Name, SchemaChecks.TokenIdsType, paramName: nameof(LanguageModelTrainerOptions.ValidationData));
            return ReadTokens(data, c.Name);
        }
        if (sourceColumn is null || data.Schema.GetColumnOrNull(sourceColumn) is null)
            throw new ArgumentOutOfRangeException(nameof(LanguageModelTrainerOptions.ValidationData),
                $"Validation data needs column '{_options.TokenColumnName}' or the text column '{sourceColumn}' the tokenizer reads. Columns present: {string.Join(", ", data.Schema.Select(x => x.Name))}.");
        var text = SchemaChecks.Require(data.Schema, sourceColumn, TextDataViewType.Instance, paramName: nameof(LanguageModelTrainerOptions.ValidationData));
        var all = new List<int>();
        using var cursor = data.GetRowCursor([text]);
        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(text);
        ReadOnlyMemory<char> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            all.AddRange(TokenizerOps.Encode(tokenizer, value.ToString()));
        }
        return [.. all];
    }

    private static int Max(int[] ids) => ids.Length == 0 ? 0 : ids.Max();

    /// <summary>Forwards progress to the options' handler and logs evaluations to the MLContext's log.</summary>
    private sealed class LoggingProgress(IChannel channel, IProgress<TrainingProgress>? inner) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            if (p.EvalTrainLoss is { } train)
            {
                channel.Info(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
                    $"step {p.Step}/{p.MaxIters}: train loss {train:0.0000}, val loss {p.ValLoss?.ToString("0.0000", CultureInfo.InvariantCulture) ?? "-"}, {p.TokensPerSecond:0} tokens/s"));
            }
            inner?.Report(p);
        }
    }
}
