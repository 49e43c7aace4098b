// The trainer estimator: checks the schema, gathers token ids, trains a bigram or GPT with the Models trainer, returns the generator.
using MLNetGpt.Models;
using MLNetGpt.Models.Training;
using MLNetGpt.Tokenizers;
using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace MLNetGpt.Pipelines;

/// <summary>
/// Fits a language model on a token id column (ML.NET's trainer estimator). <see cref="Fit(IDataView)"/> checks the schema and
/// options first (milliseconds), then concatenates the column's rows into one token stream, trains with
/// <see cref="LanguageModelTrainer"/> (progress, cancellation and checkpoints from the options), and returns a
/// <see cref="TextGenerationTransformer"/>.
/// </summary>
public sealed class LanguageModelTrainerEstimator : ISeededEstimator<TextGenerationTransformer>
{
    private readonly MLContext _context;

    internal LanguageModelTrainerEstimator(MLContext context, LanguageModelTrainerOptions options)
    {
        _context = context;
        Options = options ?? throw new ArgumentNullException(nameof(options));
    }

    /// <summary>The options.</summary>
    public LanguageModelTrainerOptions Options { get; }

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var column = SchemaErrors.RequireColumn(inputSchema, Options.TokenColumnName, TokenizingTransformer.TokenIdsType);
        if (!column.Annotations.TryGetValue<string>(AnnotationNames.SourceColumn, out _))
            throw new ArgumentOutOfRangeException("inputSchema",
                $"Column '{Options.TokenColumnName}' was not produced by a tokenizer step, so the model could not decode its output; add Transforms.Text.Tokenize* (or TokenizeWith for a given tokenizer) before the trainer.");
        CheckOptions();
        var outputs = new List<OutputColumn> { new(Options.OutputColumnName, TextDataViewType.Instance) };
        if (Options.OutputTokenColumnName is not null) outputs.Add(new(Options.OutputTokenColumnName, TokenizingTransformer.TokenIdsType));
        return MappedDataView.OutputSchema(inputSchema, outputs);
    }

    private void CheckOptions()
    {
        Options.ToTrainingOptions(0).Validate();
        Options.CreateConfig(1).Validate(); // sizes only: the vocabulary is known after the tokenizer is fitted
        Options.Generation.Validate();
        ComputeDevices.Create(Options.Device, Options.Threads);
        if (Options.ResumeFromCheckpoint is { } path && !File.Exists(path))
            throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        if (Options.ValidationData is { } validation && validation.Schema.GetColumnOrNull(Options.TokenColumnName) is null)
        {
            // The text column is only known once the tokenizer is fitted; require at least one text column now.
            if (!validation.Schema.Any(c => c.Type is TextDataViewType))
                throw new ArgumentOutOfRangeException(nameof(Options.ValidationData),
                    $"Validation data needs column '{Options.TokenColumnName}' or the text column the tokenizer reads. Columns present: {validation.Schema}.");
        }
    }

    /// <inheritdoc/>
    public TextGenerationTransformer Fit(IDataView input) => Fit(input, 0);

    /// <inheritdoc/>
    public TextGenerationTransformer Fit(IDataView input, int chainPosition)
    {
        ArgumentNullException.ThrowIfNull(input);
        GetOutputSchema(input.Schema);
        var column = input.Schema[Options.TokenColumnName];
        if (!column.Annotations.TryGetValue<Tokenizer>(AnnotationNames.Tokenizer, out var tokenizer))
            throw new ArgumentOutOfRangeException("inputSchema",
                $"Column '{Options.TokenColumnName}' carries no tokenizer; produce it with a Transforms.Text.Tokenize* step so the model can decode its output.");
        column.Annotations.TryGetValue<string>(AnnotationNames.SourceColumn, out var sourceColumn);
        sourceColumn ??= DataOperationsCatalog.DefaultTextColumnName;

        int[] train = ReadTokens(input, Options.TokenColumnName);
        int[]? validation = Options.ValidationData is null ? null : ReadValidation(Options.ValidationData, tokenizer, sourceColumn);
        var config = Options.CreateConfig(tokenizer.VocabularySize);
        config.Validate();
        int needed = config.BlockSize + 1;
        if (train.Length < needed)
            throw new ArgumentException($"The training data has {train.Length} tokens; block size {config.BlockSize} needs at least {needed}.", nameof(input));
        if (validation is not null && validation.Length < needed)
            throw new ArgumentException($"The validation data has {validation.Length} tokens; block size {config.BlockSize} needs at least {needed}.", nameof(Options.ValidationData));

        int seed = Options.Seed ?? _context.DeriveSeed(chainPosition);
        var backend = ComputeDevices.Create(Options.Device, Options.Threads);
        var trainingOptions = Options.ToTrainingOptions(SeedMath.Mix((ulong)seed ^ 0x7EA1_0000UL));
        var trainer = Options.ResumeFromCheckpoint is { } checkpoint
            ? LanguageModelTrainer.Resume(checkpoint, train, validation, backend, trainingOptions)
            : LanguageModelTrainer.Create(LanguageModel.Create(config, backend, SeedMath.Mix((ulong)seed)), train, validation, trainingOptions);
        var result = trainer.Run(Options.Progress, Options.CancellationToken, Options.Checkpoint);
        var columns = new TextGenerationColumns
        {
            TokenColumnName = Options.TokenColumnName,
            SourceColumnName = sourceColumn,
            OutputColumnName = Options.OutputColumnName,
            OutputTokenColumnName = Options.OutputTokenColumnName,
        };
        var generation = Options.Generation.Seed is null ? Options.Generation with { Seed = _context.DeriveSeed(chainPosition, 2) } : Options.Generation;
        return new TextGenerationTransformer(new LanguageModelHandle(trainer.Model), tokenizer, columns, generation, result);
    }

    /// <summary>All rows of a token id column, concatenated.</summary>
    internal static int[] ReadTokens(IDataView data, string columnName)
    {
        var all = new List<int>();
        foreach (var ids in data.GetColumn<VBuffer<int>>(columnName)) all.AddRange(ids.GetValues());
        return [.. all];
    }

    private int[] ReadValidation(IDataView data, Tokenizer tokenizer, string sourceColumn)
    {
        if (data.Schema.GetColumnOrNull(Options.TokenColumnName) is { } c)
        {
            SchemaErrors.RequireColumn(data.Schema, c.Name, TokenizingTransformer.TokenIdsType);
            return ReadTokens(data, c.Name);
        }
        SchemaErrors.RequireColumn(data.Schema, sourceColumn, TextDataViewType.Instance);
        var all = new List<int>();
        foreach (var text in data.GetColumn<string>(sourceColumn)) all.AddRange(tokenizer.Encode(text));
        return [.. all];
    }
}
