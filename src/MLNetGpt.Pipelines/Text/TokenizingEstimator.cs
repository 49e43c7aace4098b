// The tokenizer estimator and transformer: text column in, Vector<Int32> token id column out, tokenizer as annotation.
using System.Text;
using System.Text.Json.Nodes;
using MLNetGpt.Tokenizers;
using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace MLNetGpt.Pipelines;

/// <summary>Learns a tokenizer from a text column (or wraps a pretrained one). Fit reads the whole column once.</summary>
public sealed class TokenizingEstimator : IEstimator<TokenizingTransformer>
{
    private readonly Func<string, Tokenizer> _create;
    private readonly bool _needsCorpus;

    internal TokenizingEstimator(string outputColumnName, string inputColumnName, Func<string, Tokenizer> create, string kind, bool needsCorpus = true)
    {
        if (string.IsNullOrEmpty(outputColumnName)) throw new ArgumentException("Output column name must be non-empty.", nameof(outputColumnName));
        if (string.IsNullOrEmpty(inputColumnName)) throw new ArgumentException("Input column name must be non-empty.", nameof(inputColumnName));
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        Kind = kind;
        _create = create;
        _needsCorpus = needsCorpus;
    }

    /// <summary>Name of the token id column.</summary>
    public string OutputColumnName { get; }

    /// <summary>Name of the text column.</summary>
    public string InputColumnName { get; }

    /// <summary>"character", "bpe" or "pretrained".</summary>
    public string Kind { get; }

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        SchemaErrors.RequireColumn(inputSchema, InputColumnName, TextDataViewType.Instance);
        // The tokenizer itself exists only after Fit; its source column is known now, which tells trainers downstream that
        // this column will carry a tokenizer.
        return MappedDataView.OutputSchema(inputSchema, [new OutputColumn(OutputColumnName, TokenizingTransformer.TokenIdsType,
            new DataViewSchema.Annotations([new(AnnotationNames.SourceColumn, InputColumnName)]))]);
    }

    /// <inheritdoc/>
    public TokenizingTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        GetOutputSchema(input.Schema);
        string corpus = _needsCorpus ? ReadCorpus(input) : "";
        return new TokenizingTransformer(OutputColumnName, InputColumnName, _create(corpus));
    }

    private string ReadCorpus(IDataView input)
    {
        // Rows are joined with '\n' so a line-per-row view trains the same tokenizer as the file it came from.
        var sb = new StringBuilder();
        bool first = true;
        foreach (var text in input.GetColumn<string>(InputColumnName))
        {
            if (!first) sb.Append('\n');
            sb.Append(text);
            first = false;
        }
        return sb.ToString();
    }
}

/// <summary>Maps a text column to the token ids of a fitted <see cref="Microsoft.ML.Tokenizers.Tokenizer"/>, row by row, lazily.</summary>
public sealed class TokenizingTransformer : ITransformer
{
    /// <summary>Name under which this transformer is saved and loaded.</summary>
    public const string LoaderName = "TokenizeIntoIds";

    /// <summary>Entry name of the saved tokenizer (the tokenizer's own versioned text format).</summary>
    public const string TokenizerEntryName = "tokenizer.txt";

    /// <summary>The type of token id columns: variable-length vector of Int32.</summary>
    public static VectorDataViewType TokenIdsType { get; } = new(NumberDataViewType.Int32);

    internal TokenizingTransformer(string outputColumnName, string inputColumnName, Tokenizer tokenizer)
    {
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        Tokenizer = tokenizer;
    }

    /// <summary>Name of the token id column.</summary>
    public string OutputColumnName { get; }

    /// <summary>Name of the text column.</summary>
    public string InputColumnName { get; }

    /// <summary>The fitted tokenizer (immutable, thread-safe).</summary>
    public Tokenizer Tokenizer { get; }

    private OutputColumn Output => new(OutputColumnName, TokenIdsType, new DataViewSchema.Annotations(
    [
        new(AnnotationNames.Tokenizer, Tokenizer),
        new(AnnotationNames.SourceColumn, InputColumnName),
    ]));

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        SchemaErrors.RequireColumn(inputSchema, InputColumnName, TextDataViewType.Instance);
        return MappedDataView.OutputSchema(inputSchema, [Output]);
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        GetOutputSchema(input.Schema);
        return new MappedDataView(input, [Output], [InputColumnName], 1, (sources, _, outputs, _) =>
        {
            for (int r = 0; r < sources.Length; r++) outputs[r][0] = Tokenizer.Encode((string?)sources[r][0] ?? "");
        });
    }

    /// <inheritdoc/>
    public void Save(ModelSaveContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.SetLoader(LoaderName, 1);
        context.SetOptions(new JsonObject
        {
            ["outputColumnName"] = OutputColumnName,
            ["inputColumnName"] = InputColumnName,
            ["tokenizer"] = Tokenizer.GetType().Name,
            ["vocabularySize"] = Tokenizer.VocabularySize,
        });
        using var s = context.CreateEntry(TokenizerEntryName);
        Tokenizer.Save(s);
    }

    internal static ITransformer Load(ModelLoadContext context)
    {
        context.CheckVersion(1);
        var tokenizer = LoadTokenizer(context, TokenizerEntryName);
        return new TokenizingTransformer(context.GetString("outputColumnName"), context.GetString("inputColumnName"), tokenizer);
    }

    internal static Tokenizer LoadTokenizer(ModelLoadContext context, string entryName)
    {
        using var s = context.OpenEntry(entryName);
        try
        {
            return TokenizerFile.Load(s);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"Step {context.StepIndex} ('{context.LoaderName}'): entry '{entryName}' is not a valid tokenizer: {e.Message}", e);
        }
    }
}
