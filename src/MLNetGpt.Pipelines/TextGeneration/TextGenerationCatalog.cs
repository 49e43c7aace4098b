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
        var steps = model is IEnumerable<ITransformer> chain ? chain.ToList() : [model];
        int index = steps.FindLastIndex(t => t is TextGenerationTransformer);
        if (index < 0) throw new ArgumentException("The model has no TextGenerationTransformer step to evaluate.", nameof(model));
        var generator = (TextGenerationTransformer)steps[index];
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
