// How a tokenizer step hands its fitted tokenizer to the trainer after it: annotations on the token id column.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Tokenizers;

namespace MLNetGpt.Tokenizing;

/// <summary>
/// Annotations of a token id column. A trainer reads the tokenizer from the column it trains on, so the fitted model can
/// decode what it generates, and the source column so validation text can be encoded the same way.
/// </summary>
internal static class TokenizerAnnotations
{
    /// <summary>The fitted <see cref="Tokenizer"/> (type <see cref="TokenizerDataViewType"/>).</summary>
    public const string Tokenizer = "MLNetGpt.Tokenizer";

    /// <summary>The name of the text column the ids were computed from (text).</summary>
    public const string SourceColumn = "MLNetGpt.SourceColumn";

    /// <summary>Annotations of a token id column produced by <paramref name="tokenizer"/> from <paramref name="sourceColumn"/>.</summary>
    public static DataViewSchema.Annotations Create(Tokenizer tokenizer, string sourceColumn)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        builder.Add(Tokenizer, TokenizerDataViewType.Instance, (ref Tokenizer value) => value = tokenizer);
        builder.Add(SourceColumn, TextDataViewType.Instance, (ref ReadOnlyMemory<char> value) => value = sourceColumn.AsMemory());
        return builder.ToAnnotations();
    }

    /// <summary>The same annotations as an estimator's schema shape promises them (values exist only after Fit).</summary>
    public static SchemaShape Shape() => new(
    [
        Internals.MLNetAccess.Column(Tokenizer, SchemaShape.Column.VectorKind.Scalar, TokenizerDataViewType.Instance),
        Internals.MLNetAccess.Column(SourceColumn, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance),
    ]);

    /// <summary>The tokenizer and source column carried by <paramref name="column"/>, or nulls.</summary>
    public static (Tokenizer? Tokenizer, string? SourceColumn) Read(DataViewSchema.Column column)
    {
        Tokenizer? tokenizer = null;
        string? source = null;
        var annotations = column.Annotations;
        if (annotations.Schema.GetColumnOrNull(Tokenizer) is { Type: TokenizerDataViewType } t)
            annotations.GetValue(t.Name, ref tokenizer);
        if (annotations.Schema.GetColumnOrNull(SourceColumn) is { Type: TextDataViewType } s)
        {
            ReadOnlyMemory<char> text = default;
            annotations.GetValue(s.Name, ref text);
            source = text.ToString();
        }
        return (tokenizer, source);
    }

    /// <summary>Whether an estimator's output shape promises a tokenizer on <paramref name="column"/>.</summary>
    public static bool Promised(SchemaShape.Column column) =>
        column.Annotations is { } a && a.TryFindColumn(Tokenizer, out var t) && t.ItemType is TokenizerDataViewType;
}

/// <summary>The annotation type holding a <see cref="Microsoft.ML.Tokenizers.Tokenizer"/> object.</summary>
internal sealed class TokenizerDataViewType : StructuredDataViewType
{
    public static TokenizerDataViewType Instance { get; } = new();

    private TokenizerDataViewType()
        : base(typeof(Tokenizer))
    {
    }

    public override bool Equals(DataViewType? other) => other is TokenizerDataViewType;

    public override int GetHashCode() => typeof(TokenizerDataViewType).GetHashCode();

    public override string ToString() => "Tokenizer";
}
