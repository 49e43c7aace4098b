// Small third-party-style components for tests: a savable transformer with a file, and estimators that record how they were fitted.
using System.Text.Json.Nodes;
using MLNetGpt.Pipelines;

namespace MLNetGpt.Pipelines.Tests;

/// <summary>Upper-cases a text column and appends a suffix stored as a file in the model (exercises options and entries).</summary>
public sealed class SuffixTransformer(string column, string suffix) : ITransformer
{
    public const string LoaderName = "Tests.Suffix";

    public string Column { get; } = column;

    public string Suffix { get; } = suffix;

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        SchemaErrors.RequireColumn(inputSchema, Column, TextDataViewType.Instance);
        return inputSchema;
    }

    public IDataView Transform(IDataView input)
    {
        GetOutputSchema(input.Schema);
        var ml = new MLContext(0);
        var rows = input.GetColumn<string>(Column).Select(s => new TextRow { Text = s.ToUpperInvariant() + Suffix });
        return ml.Data.LoadFromEnumerable(rows);
    }

    public void Save(ModelSaveContext context)
    {
        context.SetLoader(LoaderName, 1);
        context.SetOptions(new JsonObject { ["column"] = Column });
        context.WriteText("suffix.txt", Suffix);
    }

    public static ITransformer Load(ModelLoadContext context)
    {
        context.CheckVersion(1);
        return new SuffixTransformer(context.GetString("column"), context.ReadText("suffix.txt"));
    }
}

public sealed class TextRow
{
    public string Text { get; set; } = "";
}

public sealed class PromptRow
{
    public string Prompt { get; set; } = "";
}

/// <summary>An estimator that records its seed and would take minutes to fit, to show schema errors come first.</summary>
public sealed class RecordingEstimator(MLContext context, string inputColumn, TimeSpan fitTime) : ISeededEstimator<SuffixTransformer>
{
    public int FitCount;
    public int? SeedSeen;

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        SchemaErrors.RequireColumn(inputSchema, inputColumn, TextDataViewType.Instance);
        return inputSchema;
    }

    public SuffixTransformer Fit(IDataView input) => Fit(input, 0);

    public SuffixTransformer Fit(IDataView input, int chainPosition)
    {
        GetOutputSchema(input.Schema);
        Interlocked.Increment(ref FitCount);
        SeedSeen = context.DeriveSeed(chainPosition);
        Thread.Sleep(fitTime);
        return new SuffixTransformer(inputColumn, "!");
    }
}
