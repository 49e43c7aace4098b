// The estimator/transformer contracts (ML.NET's IEstimator<T>, ITransformer, ICanSaveModel), public and savable by anyone.
namespace MLNetGpt.Pipelines;

/// <summary>
/// A component that can be saved into a model .zip. Unlike ML.NET, where the save context is internal, anyone can
/// implement this: write options and files through <see cref="ModelSaveContext"/>, and register a loader for the same
/// name with <see cref="ComponentCatalog.RegisterLoader"/>.
/// </summary>
public interface ICanSaveModel
{
    /// <summary>Writes the component: call <see cref="ModelSaveContext.SetLoader"/>, then options and files.</summary>
    void Save(ModelSaveContext context);
}

/// <summary>A fitted component that maps a data view to a data view, lazily.</summary>
public interface ITransformer : ICanSaveModel
{
    /// <summary>
    /// The schema <see cref="Transform"/> would produce for <paramref name="inputSchema"/>, checked without reading data.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A required column is missing or has the wrong type.</exception>
    DataViewSchema GetOutputSchema(DataViewSchema inputSchema);

    /// <summary>A lazy view of <paramref name="input"/> with this transformer's output columns; nothing is computed until a cursor moves.</summary>
    IDataView Transform(IDataView input);
}

/// <summary>An untrained component: <see cref="Fit"/> learns from data and returns a transformer.</summary>
public interface IEstimator<out TTransformer> where TTransformer : ITransformer
{
    /// <summary>Trains on <paramref name="input"/>. Checks the schema first, so a wrong column fails before any work.</summary>
    TTransformer Fit(IDataView input);

    /// <summary>The schema the fitted transformer would produce, checked without training (ML.NET uses SchemaShape here).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A required column is missing or has the wrong type.</exception>
    DataViewSchema GetOutputSchema(DataViewSchema inputSchema);
}

/// <summary>
/// An estimator whose randomness comes from its <see cref="MLContext"/>: its seed derives from the context seed and its
/// position in an <see cref="EstimatorChain{TLastTransformer}"/> (0 when fitted alone), not from the order calls happen in.
/// </summary>
public interface ISeededEstimator<out TTransformer> : IEstimator<TTransformer> where TTransformer : ITransformer
{
    /// <summary>Trains as <see cref="IEstimator{TTransformer}.Fit"/> does, as the estimator at <paramref name="chainPosition"/> of a chain.</summary>
    TTransformer Fit(IDataView input, int chainPosition);
}
