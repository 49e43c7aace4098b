// Copies a column under a new name (ML.NET's CopyColumns), the simplest savable transformer.
using System.Text.Json.Nodes;

namespace MLNetGpt.Pipelines;

/// <summary>Estimator of <see cref="ColumnCopyingTransformer"/>; nothing to learn.</summary>
public sealed class ColumnCopyingEstimator : IEstimator<ColumnCopyingTransformer>
{
    private readonly ColumnCopyingTransformer _transformer;

    internal ColumnCopyingEstimator(string outputColumnName, string inputColumnName) =>
        _transformer = new ColumnCopyingTransformer(outputColumnName, inputColumnName);

    /// <inheritdoc/>
    public ColumnCopyingTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _transformer.GetOutputSchema(input.Schema);
        return _transformer;
    }

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => _transformer.GetOutputSchema(inputSchema);
}

/// <summary>Adds a copy of one column under another name.</summary>
public sealed class ColumnCopyingTransformer : ITransformer
{
    /// <summary>Name under which this transformer is saved and loaded.</summary>
    public const string LoaderName = "CopyColumns";

    internal ColumnCopyingTransformer(string outputColumnName, string inputColumnName)
    {
        if (string.IsNullOrEmpty(outputColumnName)) throw new ArgumentException("Output column name must be non-empty.", nameof(outputColumnName));
        if (string.IsNullOrEmpty(inputColumnName)) throw new ArgumentException("Input column name must be non-empty.", nameof(inputColumnName));
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
    }

    /// <summary>Name of the new column.</summary>
    public string OutputColumnName { get; }

    /// <summary>Name of the copied column.</summary>
    public string InputColumnName { get; }

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        var source = SchemaErrors.RequireColumn(inputSchema, InputColumnName);
        return MappedDataView.OutputSchema(inputSchema, [new OutputColumn(OutputColumnName, source.Type, source.Annotations)]);
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var source = SchemaErrors.RequireColumn(input.Schema, InputColumnName);
        return new MappedDataView(input, [new OutputColumn(OutputColumnName, source.Type, source.Annotations)], [InputColumnName], 1,
            (sources, _, outputs, _) =>
            {
                for (int r = 0; r < sources.Length; r++) outputs[r][0] = sources[r][0];
            });
    }

    /// <inheritdoc/>
    public void Save(ModelSaveContext context)
    {
        context.SetLoader(LoaderName, 1);
        context.SetOptions(new JsonObject { ["outputColumnName"] = OutputColumnName, ["inputColumnName"] = InputColumnName });
    }

    internal static ColumnCopyingTransformer Load(ModelLoadContext context)
    {
        context.CheckVersion(1);
        return new ColumnCopyingTransformer(context.GetString("outputColumnName"), context.GetString("inputColumnName"));
    }
}
