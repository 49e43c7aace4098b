// MLContext.TextGeneration: language model trainers (bigram, GPT) and their evaluation.
namespace MLNetGpt.Pipelines;

/// <summary>Language model trainers and evaluation (the catalog ML.NET would have for text generation).</summary>
public sealed class TextGenerationCatalog
{
    private readonly MLContext _context;

    internal TextGenerationCatalog(MLContext context)
    {
        _context = context;
        Trainers = new TextGenerationTrainers(context);
    }

    /// <summary>The trainers.</summary>
    public TextGenerationTrainers Trainers { get; }

    /// <summary>
    /// <paramref name="model"/> with its generator's settings replaced by <paramref name="options"/> (weights shared, not
    /// copied), e.g. to apply command-line overrides before generating or saving.
    /// </summary>
    public TransformerChain<ITransformer> WithGenerationOptions(ITransformer model, TextGenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (generator, index, steps) = TextGenerationModel.Find(model);
        var copy = steps.ToArray();
        copy[index] = generator.WithOptions(options);
        return new TransformerChain<ITransformer>(copy);
    }

    /// <summary>
    /// Generates for every row of <paramref name="prompts"/>, lazily (nothing runs until a cursor moves; rows stream in
    /// micro-batches). <paramref name="promptColumnName"/> names the prompt text column when it differs from the column the
    /// model was fitted on (found from its tokenizer step, e.g. "Text"); <paramref name="options"/> overrides the saved
    /// generation settings; <paramref name="cancellationToken"/> stops between batches. The output has the prompt columns
    /// plus the generated text column.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The prompt column is missing or not text.</exception>
    public IDataView Generate(ITransformer model, IDataView prompts, string? promptColumnName = null,
        TextGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var (generator, index, steps) = TextGenerationModel.Find(model);
        if (options is not null) generator = generator.WithOptions(options);
        var data = prompts;
        if (promptColumnName is not null)
        {
            SchemaErrors.RequireColumn(prompts.Schema, promptColumnName, TextDataViewType.Instance);
            string expected = steps.OfType<TokenizingTransformer>().FirstOrDefault()?.InputColumnName ?? generator.Columns.SourceColumnName;
            if (expected != promptColumnName) data = new ColumnCopyingTransformer(expected, promptColumnName).Transform(data);
        }
        var before = new TransformerChain<ITransformer>([.. steps.Take(index)]);
        var after = new TransformerChain<ITransformer>([.. steps.Skip(index + 1)]);
        after.GetOutputSchema(generator.GetOutputSchema(before.GetOutputSchema(data.Schema)));
        return after.Transform(generator.Transform(before.Transform(data), cancellationToken));
    }

    /// <summary>
    /// Mean cross-entropy (nats/token) and perplexity e^loss of <paramref name="model"/> on <paramref name="data"/>: the
    /// rows' token ids (computed by the model's own tokenizer steps from raw text, or read from the token column) are
    /// concatenated and scored over consecutive windows of the model's block size, <paramref name="batchSize"/> windows at a
    /// time, at most <paramref name="maxBatches"/> batches (0 = all).
    /// </summary>
    /// <exception cref="ArgumentException">The model has no <see cref="TextGenerationTransformer"/>, or the data has too few tokens.</exception>
    public TextGenerationMetrics Evaluate(ITransformer model, IDataView data, int batchSize = 8, int maxBatches = 0,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Batch size must be at least 1.");
        var (generator, index, steps) = TextGenerationModel.Find(model);
        string tokenColumn = generator.Columns.TokenColumnName;
        int[] tokens;
        if (data.Schema.GetColumnOrNull(tokenColumn) is null && data.Schema.GetColumnOrNull(generator.Columns.SourceColumnName) is { Type: TextDataViewType } && index == 0)
        {
            tokens = data.GetColumn<string>(generator.Columns.SourceColumnName).SelectMany(t => generator.Tokenizer.Encode(t)).ToArray();
        }
        else
        {
            var featurized = data;
            if (data.Schema.GetColumnOrNull(tokenColumn) is null)
                featurized = new TransformerChain<ITransformer>([.. steps.Take(index)]).Transform(data);
            SchemaErrors.RequireColumn(featurized.Schema, tokenColumn, TokenizingTransformer.TokenIdsType);
            tokens = LanguageModelTrainerEstimator.ReadTokens(featurized, tokenColumn);
        }
        int blockSize = generator.Model.BlockSize;
        if (tokens.Length < blockSize + 1)
            throw new ArgumentException($"The data has {tokens.Length} tokens; evaluating block size {blockSize} needs at least {blockSize + 1}.", nameof(data));
        double loss = generator.EvaluateLoss(tokens, batchSize, maxBatches, cancellationToken);
        long windows = (tokens.Length - 1) / blockSize;
        if (maxBatches > 0) windows = Math.Min(windows, (long)maxBatches * batchSize);
        return new TextGenerationMetrics(loss, Math.Exp(loss), tokens.Length, windows * blockSize);
    }
}

/// <summary>Helpers for serving a fitted or loaded text generation model.</summary>
public static class TextGenerationModel
{
    /// <summary>The last <see cref="TextGenerationTransformer"/> step of <paramref name="model"/> and its index in the flattened steps.</summary>
    /// <exception cref="ArgumentException">The model has none.</exception>
    public static (TextGenerationTransformer Generator, int Index, IReadOnlyList<ITransformer> Steps) Find(ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var steps = Flatten(model).ToList();
        int index = steps.FindLastIndex(t => t is TextGenerationTransformer);
        if (index < 0) throw new ArgumentException("The model has no TextGenerationTransformer step.", nameof(model));
        return ((TextGenerationTransformer)steps[index], index, steps);
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [model];
}

/// <summary>The trainers of <see cref="TextGenerationCatalog"/>.</summary>
public sealed class TextGenerationTrainers
{
    private readonly MLContext _context;

    internal TextGenerationTrainers(MLContext context) => _context = context;

    /// <summary>The bigram baseline (Karpathy's "Let's build GPT" starting point).</summary>
    public LanguageModelTrainerEstimator Bigram(BigramTrainer.Options? options = null) => new(_context, options ?? new BigramTrainer.Options());

    /// <summary>A GPT; defaults are the nanogpt-cpu size (4 layers, 4 heads, 128 channels, block 64).</summary>
    public LanguageModelTrainerEstimator Gpt(GptTrainer.Options? options = null) => new(_context, options ?? new GptTrainer.Options());
}

/// <summary>Evaluation of a language model.</summary>
/// <param name="Loss">Mean cross-entropy in nats per predicted token.</param>
/// <param name="Perplexity">e^Loss.</param>
/// <param name="TokenCount">Tokens in the data.</param>
/// <param name="PredictedTokens">Tokens actually scored (whole windows only).</param>
public sealed record TextGenerationMetrics(double Loss, double Perplexity, long TokenCount, long PredictedTokens);
