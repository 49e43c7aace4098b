// A fitted pipeline: transformers applied in order (ML.NET's TransformerChain).
using System.Collections;

namespace MLNetGpt.Pipelines;

/// <summary>Transformers applied one after another; <see cref="LastTransformer"/> is typically the model.</summary>
public sealed class TransformerChain<TLastTransformer> : ITransformer, IEnumerable<ITransformer>
    where TLastTransformer : class, ITransformer
{
    private readonly ITransformer[] _transformers;

    /// <summary>Creates a chain of <paramref name="transformers"/>; the last one must be a <typeparamref name="TLastTransformer"/> (or the chain empty).</summary>
    public TransformerChain(params ITransformer[] transformers)
    {
        ArgumentNullException.ThrowIfNull(transformers);
        _transformers = transformers.ToArray();
        if (_transformers.Any(t => t is null)) throw new ArgumentException("Transformers must not be null.", nameof(transformers));
        if (_transformers.Length > 0 && _transformers[^1] is not TLastTransformer)
            throw new ArgumentException($"The last transformer is a {_transformers[^1].GetType().Name}, not a {typeof(TLastTransformer).Name}.", nameof(transformers));
    }

    /// <summary>The last transformer (null for an empty chain).</summary>
    public TLastTransformer LastTransformer => _transformers.Length == 0 ? null! : (TLastTransformer)_transformers[^1];

    /// <summary>Number of transformers.</summary>
    public int Count => _transformers.Length;

    /// <summary>The transformer at <paramref name="index"/>.</summary>
    public ITransformer this[int index] => _transformers[index];

    /// <summary>A chain with <paramref name="transformer"/> added at the end.</summary>
    public TransformerChain<TNewLast> Append<TNewLast>(TNewLast transformer) where TNewLast : class, ITransformer =>
        new([.. _transformers, transformer ?? throw new ArgumentNullException(nameof(transformer))]);

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        foreach (var t in _transformers) inputSchema = t.GetOutputSchema(inputSchema);
        return inputSchema;
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        GetOutputSchema(input.Schema); // all schema errors before any view is built
        foreach (var t in _transformers) input = t.Transform(input);
        return input;
    }

    /// <summary>Chains are saved step by step by <see cref="ModelOperationsCatalog.Save"/>; saving one as a single step is not supported.</summary>
    public void Save(ModelSaveContext context) =>
        throw new NotSupportedException("A TransformerChain is saved by ModelOperationsCatalog.Save, which writes each of its transformers as a step.");

    /// <inheritdoc/>
    public IEnumerator<ITransformer> GetEnumerator() => ((IEnumerable<ITransformer>)_transformers).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
