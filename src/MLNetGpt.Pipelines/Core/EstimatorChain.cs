// An untrained pipeline: estimators fitted in order, each on the output of the previous ones (ML.NET's EstimatorChain).
namespace MLNetGpt.Pipelines;

/// <summary>
/// Estimators fitted in order. <see cref="Fit(IDataView)"/> first checks the whole chain's schema (milliseconds), so a missing or
/// mistyped column fails before any tokenizer or model trains; then fits each estimator on the lazily transformed output
/// of the ones before it. Seeded estimators get their chain position, from which their seed derives.
/// </summary>
public sealed class EstimatorChain<TLastTransformer> : ISeededEstimator<TransformerChain<TLastTransformer>>
    where TLastTransformer : class, ITransformer
{
    private readonly IEstimator<ITransformer>[] _estimators;

    /// <summary>An empty chain.</summary>
    public EstimatorChain() : this([]) { }

    private EstimatorChain(IEstimator<ITransformer>[] estimators) => _estimators = estimators;

    /// <summary>The estimators in order.</summary>
    public IReadOnlyList<IEstimator<ITransformer>> Estimators => _estimators;

    /// <summary>A chain with <paramref name="estimator"/> added at the end.</summary>
    public EstimatorChain<TNewTrans> Append<TNewTrans>(IEstimator<TNewTrans> estimator) where TNewTrans : class, ITransformer =>
        new([.. _estimators, estimator ?? throw new ArgumentNullException(nameof(estimator))]);

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        for (int i = 0; i < _estimators.Length; i++)
        {
            try
            {
                inputSchema = _estimators[i].GetOutputSchema(inputSchema);
            }
            catch (ArgumentOutOfRangeException e) when (_estimators.Length > 1)
            {
                throw new ArgumentOutOfRangeException("inputSchema",
                    $"{e.Message.Split(" (Parameter")[0]} (in step {i}, {_estimators[i].GetType().Name}, of the estimator chain)");
            }
        }
        return inputSchema;
    }

    /// <inheritdoc/>
    public TransformerChain<TLastTransformer> Fit(IDataView input) => Fit(input, null);

    /// <summary>
    /// Fits this chain as the estimator at <paramref name="chainPosition"/> of an outer chain: its estimators get positions
    /// hashed from (outer position, inner position), so they never share a seed with the outer chain's estimators.
    /// </summary>
    public TransformerChain<TLastTransformer> Fit(IDataView input, int chainPosition) => Fit(input, (int?)chainPosition);

    private TransformerChain<TLastTransformer> Fit(IDataView input, int? outerPosition)
    {
        ArgumentNullException.ThrowIfNull(input);
        GetOutputSchema(input.Schema);
        var fitted = new ITransformer[_estimators.Length];
        for (int i = 0; i < _estimators.Length; i++)
        {
            int position = outerPosition is { } outer ? SeedMath.Derive(outer, i, 0x5EED) : i;
            fitted[i] = _estimators[i] is ISeededEstimator<ITransformer> seeded ? seeded.Fit(input, position) : _estimators[i].Fit(input);
            if (i < _estimators.Length - 1) input = fitted[i].Transform(input);
        }
        return new TransformerChain<TLastTransformer>(fitted);
    }
}

/// <summary>ML.NET's <c>estimator.Append(next)</c> on any estimator.</summary>
public static class EstimatorExtensions
{
    /// <summary>A two-step chain: <paramref name="start"/> then <paramref name="estimator"/>.</summary>
    public static EstimatorChain<TTrans> Append<TTrans>(this IEstimator<ITransformer> start, IEstimator<TTrans> estimator)
        where TTrans : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(start);
        return start is EstimatorChain<ITransformer> chain
            ? chain.Append(estimator)
            : new EstimatorChain<ITransformer>().Append(start).Append(estimator);
    }
}
