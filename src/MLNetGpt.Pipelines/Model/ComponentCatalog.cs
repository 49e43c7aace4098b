// Registry of loaders by name, so saved steps (ours and third parties') can be read back from a model .zip.
namespace MLNetGpt.Pipelines;

/// <summary>
/// Maps a loader name written by <see cref="ModelSaveContext.SetLoader"/> to a function that rebuilds the transformer.
/// Built-in transformers are registered already; register your own before <see cref="ModelOperationsCatalog.Load(string, out DataViewSchema)"/>.
/// </summary>
public sealed class ComponentCatalog
{
    private static readonly Dictionary<string, Func<ModelLoadContext, ITransformer>> BuiltIns = new(StringComparer.Ordinal)
    {
        [ColumnCopyingTransformer.LoaderName] = ColumnCopyingTransformer.Load,
        [TokenizingTransformer.LoaderName] = TokenizingTransformer.Load,
        [TextGenerationTransformer.LoaderName] = TextGenerationTransformer.Load,
    };

    private readonly Dictionary<string, Func<ModelLoadContext, ITransformer>> _loaders = new(BuiltIns, StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Registers (or replaces) the loader for <paramref name="loaderName"/>.</summary>
    public void RegisterLoader(string loaderName, Func<ModelLoadContext, ITransformer> load)
    {
        if (string.IsNullOrWhiteSpace(loaderName)) throw new ArgumentException("Loader name must be non-empty.", nameof(loaderName));
        ArgumentNullException.ThrowIfNull(load);
        lock (_lock) _loaders[loaderName] = load;
    }

    /// <summary>The registered loader names.</summary>
    public IReadOnlyCollection<string> LoaderNames
    {
        get { lock (_lock) return _loaders.Keys.ToArray(); }
    }

    internal Func<ModelLoadContext, ITransformer> GetLoader(string loaderName, int stepIndex)
    {
        lock (_lock)
        {
            return _loaders.TryGetValue(loaderName, out var load) ? load
                : throw new InvalidDataException(
                    $"Step {stepIndex} was saved by '{loaderName}', which has no registered loader; register one with MLContext.ComponentCatalog.RegisterLoader. Known loaders: {string.Join(", ", _loaders.Keys.Order())}.");
        }
    }
}
