// MLContext.Transforms: column transforms; text tokenizers live under Transforms.Text.
namespace MLNetGpt.Pipelines;

/// <summary>Column transforms (ML.NET's <c>mlContext.Transforms</c>).</summary>
public sealed class TransformsCatalog
{
    internal TransformsCatalog(MLContext context)
    {
        Context = context;
        Text = new TextCatalog(context);
    }

    internal MLContext Context { get; }

    /// <summary>Text transforms: tokenizers that map text to token ids.</summary>
    public TextCatalog Text { get; }

    /// <summary>Copies <paramref name="inputColumnName"/> to <paramref name="outputColumnName"/>, e.g. to give a CSV's "Prompt" column the name a model expects.</summary>
    public ColumnCopyingEstimator CopyColumns(string outputColumnName, string inputColumnName) =>
        new(outputColumnName, inputColumnName);
}
