// mlContext.TextGeneration: the language model trainers (bigram, GPT), evaluation, and generation helpers.
using System.Runtime.CompilerServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetGpt.Data;

namespace MLNetGpt;

/// <summary>Adds <c>mlContext.TextGeneration</c> to ML.NET's <see cref="MLContext"/>, beside its built-in catalogs.</summary>
public static class TextGenerationMLContextExtensions
{
    private static readonly ConditionalWeakTable<MLContext, TextGenerationCatalog> Catalogs = new();

    extension(MLContext mlContext)
    {
        /// <summary>Language model trainers and evaluation (the catalog ML.NET would have for text generation).</summary>
        public TextGenerationCatalog TextGeneration =>
            Catalogs.GetValue(mlContext ?? throw new ArgumentNullException(nameof(mlContext)), c => new TextGenerationCatalog(c));
    }
}

/// <summary>Language model trainers, evaluation and generation helpers: <c>mlContext.TextGeneration</c>.</summary>
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
    /// Turns a built language model (for example one imported with <c>Gpt2Checkpoint.Load</c>) and its tokenizer into
    /// the model chain a trainer's Fit returns: a <see cref="TextTokenizingTransformer"/> from
    /// <paramref name="inputColumnName"/> to "Tokens", then a <see cref="TextGenerationTransformer"/> writing "Generated".
    /// The chain transforms, generates, evaluates and saves with <c>mlContext.Model.Save</c> (which needs one of
    /// MLNetGpt's tokenizers, e.g. <c>BpeTokenizer.CreateForModel("gpt2")</c>) like a fitted one. The chain uses
    /// <paramref name="model"/> itself: do not use the model elsewhere while the chain generates.
    /// </summary>
    /// <param name="model">A <see cref="Models.GptModel"/> or <see cref="Models.BigramModel"/>.</param>
    /// <param name="tokenizer">Maps text to the model's ids; it may not have more ids than the model.</param>
    /// <param name="inputColumnName">The prompt text column. Default "Text".</param>
    /// <param name="options">Generation settings; null means <see cref="TextGenerationOptions"/>' defaults.</param>
    /// <exception cref="ArgumentException">The model kind is not supported, the tokenizer has more ids than the model, or the options are invalid.</exception>
    public TransformerChain<ITransformer> CreateModel(Models.ILanguageModel model, Microsoft.ML.Tokenizers.Tokenizer tokenizer,
        string inputColumnName = DataCatalogExtensions.DefaultTextColumnName, TextGenerationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        if (model is not (Models.GptModel or Models.BigramModel))
            throw new ArgumentException($"Model of type {model.GetType().Name} cannot generate; use a GptModel or BigramModel.", nameof(model));
        Microsoft.ML.Runtime.IHostEnvironment env = _context;
        var columns = new TextGenerationColumns();
        var tokenizing = new TextTokenizingTransformer(env, columns.TokenColumnName, inputColumnName, tokenizer);
        var generator = new TextGenerationTransformer(env, new LanguageModelHandle(model), tokenizer, columns, options ?? new TextGenerationOptions(), null);
        return new TransformerChain<ITransformer>(tokenizing, generator);
    }

    /// <summary>
    /// Mean cross-entropy (nats/token) and perplexity e^loss of <paramref name="model"/> on <paramref name="data"/>: the
    /// model's steps before its generator turn the rows into token ids (or the token column is read as it is), the rows'
    /// ids are concatenated and scored over consecutive windows of the model's block size, <paramref name="batchSize"/>
    /// windows at a time, at most <paramref name="maxBatches"/> batches (0 = all).
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
        var featurized = data.Schema.GetColumnOrNull(tokenColumn) is null ? Apply(steps.Take(index), data) : data;
        SchemaChecks.Require(featurized.Schema, tokenColumn, SchemaChecks.TokenIdsType, paramName: nameof(data));
        int[] tokens = LanguageModelTrainerBase.ReadTokens(featurized, tokenColumn);
        int blockSize = generator.Model.BlockSize;
        if (tokens.Length < blockSize + 1)
            throw new ArgumentException($"The data has {tokens.Length} tokens; evaluating block size {blockSize} needs at least {blockSize + 1}.", nameof(data));
        double loss = generator.EvaluateLoss(tokens, batchSize, maxBatches, cancellationToken);
        long windows = (tokens.Length - 1) / blockSize;
        if (maxBatches > 0) windows = Math.Min(windows, (long)maxBatches * batchSize);
        return new TextGenerationMetrics(loss, Math.Exp(loss), tokens.Length, windows * blockSize);
    }

    /// <summary>
    /// <paramref name="model"/> with its generator's settings replaced by <paramref name="options"/> (weights shared, not
    /// copied), e.g. to generate longer texts or with another seed than the saved model says. All settings are replaced,
    /// the saved seed included: to change one, start from the saved ones
    /// (<c>TextGenerationModel.Find(model).Generator.Options with { MaxNewTokens = 500 }</c>).
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
    /// Generates for every row of <paramref name="prompts"/>, lazily (rows stream in micro-batches as a cursor moves).
    /// <paramref name="promptColumnName"/> names the prompt text column when it differs from the one the model was fitted
    /// on; <paramref name="options"/> overrides the saved generation settings; <paramref name="cancellationToken"/> stops
    /// between batches. The output has the prompt columns plus the model's output columns.
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
            SchemaChecks.Require(prompts.Schema, promptColumnName, TextDataViewType.Instance, paramName: nameof(promptColumnName));
            string? expected = steps.Take(index).OfType<TextTokenizingTransformer>().FirstOrDefault()?.InputColumnName;
            if (expected is not null && expected != promptColumnName)
                data = _context.Transforms.CopyColumns(expected, promptColumnName).Fit(data).Transform(data);
        }
        var featurized = Apply(steps.Take(index), data);
        return Apply(steps.Skip(index + 1), generator.Transform(featurized, cancellationToken));
    }

    private static IDataView Apply(IEnumerable<ITransformer> steps, IDataView data) => steps.Aggregate(data, (view, step) => step.Transform(view));
}

/// <summary>Finds the generator in a fitted or loaded model; loads models with the underlying error on failure.</summary>
public static class TextGenerationModel
{
    /// <summary>
    /// <c>mlContext.Model.Load(path, out inputSchema)</c>, except that a failure throws its underlying exception: ML.NET
    /// wraps whatever a component's loader throws in one or more <see cref="System.Reflection.TargetInvocationException"/>s,
    /// which hides messages such as "'TransformerChain/Transform_001/weights.safetensors' is damaged".
    /// </summary>
    public static ITransformer Load(MLContext mlContext, string path, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        try
        {
            return mlContext.Model.Load(path, out inputSchema);
        }
        catch (Exception e) when (File.Exists(path) && IsPreviousFormat(path))
        {
            throw new InvalidDataException(
                $"'{path}' was written by MLNetGpt before it saved models in ML.NET's format (it has a manifest.json at its root); re-train it to load it here.", e);
        }
        catch (Exception e) when (Unwrap(e) != e)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(Unwrap(e)).Throw();
            throw;
        }
    }

    // MLNetGpt's own .zip format (before the move onto ML.NET) began with manifest.json, format "mlnetgpt-model".
    private static bool IsPreviousFormat(string path)
    {
        try
        {
            using var zip = System.IO.Compression.ZipFile.OpenRead(path);
            var manifest = zip.GetEntry("manifest.json");
            if (manifest is null || manifest.Length > 1 << 20) return false;
            using var reader = new StreamReader(manifest.Open());
            return reader.ReadToEnd().Contains("\"mlnetgpt-model\"", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <inheritdoc cref="Load(MLContext, string, out DataViewSchema)"/>
    public static ITransformer Load(MLContext mlContext, Stream stream, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        try
        {
            return mlContext.Model.Load(stream, out inputSchema);
        }
        catch (Exception e) when (Unwrap(e) != e)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(Unwrap(e)).Throw();
            throw;
        }
    }

    /// <summary>The innermost cause of a model-loading failure (ML.NET nests it in reflection and catalog wrappers).</summary>
    public static Exception Unwrap(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        while (exception.InnerException is { } inner) exception = inner;
        return exception;
    }

    /// <summary>The last <see cref="TextGenerationTransformer"/> of <paramref name="model"/>, its index among the flattened steps, and the steps.</summary>
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
    public BigramTrainer Bigram(BigramTrainer.Options? options = null) => new(_context, options ?? new BigramTrainer.Options());

    /// <summary>A GPT; defaults are the nanogpt-cpu size (4 layers, 4 heads, 128 channels, block 64).</summary>
    public GptTrainer Gpt(GptTrainer.Options? options = null) => new(_context, options ?? new GptTrainer.Options());
}

/// <summary>Evaluation of a language model.</summary>
/// <param name="Loss">Mean cross-entropy in nats per predicted token.</param>
/// <param name="Perplexity">e^Loss.</param>
/// <param name="TokenCount">Tokens in the data.</param>
/// <param name="PredictedTokens">Tokens actually scored (whole windows only).</param>
public sealed record TextGenerationMetrics(double Loss, double Perplexity, long TokenCount, long PredictedTokens);
