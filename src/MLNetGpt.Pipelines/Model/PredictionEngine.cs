// Single-row predictions over a fitted model from plain objects, safe to call from many threads.
namespace MLNetGpt.Pipelines;

/// <summary>
/// Predicts one row at a time: <c>engine.Predict(new Prompt { Text = "ROMEO:" })</c>. Each call builds a one-row view,
/// runs the model's lazy <see cref="ITransformer.Transform"/> and reads the row back, so concurrent calls share nothing
/// but the model (whose generator serializes access to its scratch buffers). A single-row prediction has row id 0, so
/// the same input and seed always give the same output.
/// </summary>
public sealed class PredictionEngine<TSrc, TDst> where TSrc : class where TDst : class, new()
{
    private readonly MLContext _context;

    internal PredictionEngine(MLContext context, ITransformer model)
    {
        _context = context;
        Model = model ?? throw new ArgumentNullException(nameof(model));
        var inputSchema = PocoMapping<TSrc>.Schema();
        OutputSchema = model.GetOutputSchema(inputSchema);
        foreach (var p in PocoMapping<TDst>.Properties.Where(p => p.Property.CanWrite))
            SchemaErrors.RequireColumn(OutputSchema, p.Column, p.Type);
    }

    /// <summary>The model.</summary>
    public ITransformer Model { get; }

    /// <summary>The schema of the model's output for <typeparamref name="TSrc"/> inputs.</summary>
    public DataViewSchema OutputSchema { get; }

    /// <summary>The model's output for <paramref name="example"/>.</summary>
    public TDst Predict(TSrc example)
    {
        ArgumentNullException.ThrowIfNull(example);
        var view = Model.Transform(_context.Data.LoadFromEnumerable([example]));
        return _context.Data.CreateEnumerable<TDst>(view).Single();
    }
}
