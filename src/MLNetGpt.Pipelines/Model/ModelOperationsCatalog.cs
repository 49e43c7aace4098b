// MLContext.Model: save and load .zip models, inspect them, and serve single predictions.
namespace MLNetGpt.Pipelines;

/// <summary>Options for loading a model.</summary>
public sealed record ModelLoadOptions
{
    /// <summary>
    /// Largest allowed uncompressed entry, in bytes. Default and maximum: <see cref="Array.MaxLength"/> (about 2 GiB, entries
    /// are verified in memory), enough for GPT-2 medium in fp32; lower it to refuse big models from untrusted sources.
    /// </summary>
    public long MaxEntryBytes { get; init; } = Array.MaxLength;

    /// <summary>Device that loaded language models run on ("cpu" or "reference"). Default "cpu".</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Threads of that device; 0 (default) uses all cores.</summary>
    public int Threads { get; init; }
}

/// <summary>Saving, loading and serving models (ML.NET's <c>mlContext.Model</c>).</summary>
public sealed class ModelOperationsCatalog
{
    private readonly MLContext _context;

    internal ModelOperationsCatalog(MLContext context) => _context = context;

    /// <summary>
    /// Saves <paramref name="model"/> (a chain is saved step by step, nested chains flattened) and the schema of the
    /// data it expects into one .zip at <paramref name="filePath"/>. The file is written to a temporary name and moved
    /// into place, so a crash never leaves a half-written model under <paramref name="filePath"/>.
    /// </summary>
    public void Save(ITransformer model, DataViewSchema inputSchema, string filePath)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        model.GetOutputSchema(inputSchema);
        ModelArchive.Save(Flatten(model).ToArray(), inputSchema, filePath);
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [model];

    /// <summary>Loads a model saved by <see cref="Save"/>; <paramref name="inputSchema"/> receives the schema it expects.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">The archive is corrupt, truncated, of an unknown version, has unsafe or unlisted entries, mismatched or oversized entries, or a step with no registered loader.</exception>
    public TransformerChain<ITransformer> Load(string filePath, out DataViewSchema inputSchema) => Load(filePath, out inputSchema, null);

    /// <inheritdoc cref="Load(string, out DataViewSchema)"/>
    public TransformerChain<ITransformer> Load(string filePath, out DataViewSchema inputSchema, ModelLoadOptions? options)
    {
        options ??= new ModelLoadOptions();
        CheckLimit(options);
        ComputeDevices.Create(options.Device, options.Threads); // a bad device fails before the archive is read
        using var archive = ModelArchive.Open(filePath, options.MaxEntryBytes);
        var steps = new ITransformer[archive.Info.Steps.Count];
        foreach (var step in archive.Info.Steps)
        {
            var load = _context.ComponentCatalog.GetLoader(step.Loader, step.Index);
            steps[step.Index] = load(new ModelLoadContext(_context, archive, step, options))
                ?? throw new InvalidDataException($"The loader '{step.Loader}' returned null for step {step.Index}.");
        }
        inputSchema = archive.Info.InputSchema;
        return new TransformerChain<ITransformer>(steps);
    }

    private static void CheckLimit(ModelLoadOptions options)
    {
        if (options.MaxEntryBytes < 1 || options.MaxEntryBytes > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxEntryBytes, $"MaxEntryBytes must be in [1, {Array.MaxLength}].");
    }

    /// <summary>Reads and validates a model's manifest (steps, options, files, input schema) without loading any weights.</summary>
    public ModelInfo Inspect(string filePath, ModelLoadOptions? options = null)
    {
        options ??= new ModelLoadOptions();
        CheckLimit(options);
        using var archive = ModelArchive.Open(filePath, options.MaxEntryBytes);
        return archive.Info;
    }

    /// <summary>
    /// A single-row prediction API over <paramref name="model"/>: <c>Predict(new Prompt { Text = "..." })</c>.
    /// Unlike ML.NET's, it is safe to call from many threads at once.
    /// </summary>
    public PredictionEngine<TSrc, TDst> CreatePredictionEngine<TSrc, TDst>(ITransformer model)
        where TSrc : class where TDst : class, new() => new(_context, model);
}
