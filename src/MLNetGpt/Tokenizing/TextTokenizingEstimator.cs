// The tokenizer step: Fit learns a character or BPE tokenizer from a text column (or takes a given one); Transform maps text to ids.
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Tokenizers;
using MLNetGpt.Data;
using MLNetGpt.Internals;
using MLNetGpt.Tokenizing;

namespace MLNetGpt;

/// <summary>
/// Learns a tokenizer from a text column at <see cref="Fit"/> (reading the whole column once, rows joined with '\n'), or
/// wraps a given one; the fitted <see cref="TextTokenizingTransformer"/> maps each row's text to its token ids.
/// </summary>
public sealed class TextTokenizingEstimator : IEstimator<TextTokenizingTransformer>
{
    private readonly IHost _host;
    private readonly Func<string, Tokenizer>? _train;
    private readonly Tokenizer? _tokenizer;

    internal TextTokenizingEstimator(IHostEnvironment env, string outputColumnName, string? inputColumnName, Func<string, Tokenizer>? train,
        Tokenizer? tokenizer)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        if (inputColumnName is { Length: 0 }) throw new ArgumentException("The input column name must be non-empty.", nameof(inputColumnName));
        _host = env.Register(nameof(TextTokenizingEstimator));
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName ?? outputColumnName;
        _train = train;
        _tokenizer = tokenizer;
    }

    /// <summary>Name of the token id column (Vector&lt;Int32&gt;).</summary>
    public string OutputColumnName { get; }

    /// <summary>Name of the text column.</summary>
    public string InputColumnName { get; }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaChecks.Require(inputSchema, InputColumnName, TextDataViewType.Instance);
        var columns = inputSchema.ToDictionary(c => c.Name);
        columns[OutputColumnName] = MLNetAccess.Column(OutputColumnName, SchemaShape.Column.VectorKind.VariableVector,
            NumberDataViewType.Int32, TokenizerAnnotations.Shape());
        return new SchemaShape(columns.Values);
    }

    /// <inheritdoc/>
    public TextTokenizingTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var column = SchemaChecks.Require(input.Schema, InputColumnName, TextDataViewType.Instance);
        var tokenizer = _tokenizer;
        if (tokenizer is null)
        {
            using var ch = _host.Start("Fit");
            string corpus = ReadCorpus(input, column);
            tokenizer = _train!(corpus);
            ch.Info(MessageSensitivity.None, $"{tokenizer.GetType().Name} fitted on {corpus.Length:N0} characters of '{InputColumnName}': {TokenizerOps.VocabularySize(tokenizer)} ids");
        }
        return new TextTokenizingTransformer(_host, OutputColumnName, InputColumnName, tokenizer);
    }

    // Rows are joined with '\n' so a line-per-row view trains the same tokenizer as the file it came from.
    private static string ReadCorpus(IDataView input, DataViewSchema.Column column)
    {
        var text = new StringBuilder();
        using var cursor = input.GetRowCursor([column]);
        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(column);
        ReadOnlyMemory<char> value = default;
        bool first = true;
        while (cursor.MoveNext())
        {
            getter(ref value);
            if (!first) text.Append('\n');
            text.Append(value.Span);
            first = false;
        }
        return text.ToString();
    }
}

/// <summary>
/// Maps a text column to the token ids of a fitted tokenizer, row by row and lazily. The id column carries the tokenizer
/// as an annotation, which is how a trainer after it knows how to decode. Saved with the tokenizer (SHA-256 checked on load).
/// </summary>
public sealed class TextTokenizingTransformer : ITransformer
{
    private const string TokenizerEntry = "tokenizer.txt";
    private readonly IHostEnvironment _env;

    internal TextTokenizingTransformer(IHostEnvironment env, string outputColumnName, string inputColumnName, Tokenizer tokenizer)
    {
        _env = env;
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        Tokenizer = tokenizer;
    }

    /// <summary>Name of the token id column (Vector&lt;Int32&gt;).</summary>
    public string OutputColumnName { get; }

    /// <summary>Name of the text column.</summary>
    public string InputColumnName { get; }

    /// <summary>The fitted tokenizer (immutable, thread-safe).</summary>
    public Tokenizer Tokenizer { get; }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var mapper = new Mapper(this);
        mapper.RequireInput(inputSchema);
        return OutputColumn.Append(inputSchema, mapper.Outputs);
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new MappedDataView(input, new Mapper(this));
    }

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return new MappedRowMapper(inputSchema, new Mapper(this));
    }

    private sealed class Mapper(TextTokenizingTransformer owner) : BatchMapper
    {
        public override string InputColumnName => owner.InputColumnName;

        public override DataViewType InputType => TextDataViewType.Instance;

        public override IReadOnlyList<OutputColumn> Outputs { get; } =
            [new OutputColumn(owner.OutputColumnName, SchemaChecks.TokenIdsType, TokenizerAnnotations.Create(owner.Tokenizer, owner.InputColumnName))];

        public override int BatchSize => 1;

        public override void Map(ReadOnlySpan<object> sources, ReadOnlySpan<long> positions, object?[][] outputs, CancellationToken cancellationToken)
        {
            for (int r = 0; r < sources.Length; r++) outputs[r][0] = TokenizerOps.Encode(owner.Tokenizer, (string)sources[r]);
        }
    }

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        var settings = new JsonObject
        {
            ["outputColumnName"] = OutputColumnName,
            ["inputColumnName"] = InputColumnName,
            ["tokenizer"] = Tokenizer.GetType().Name,
            ["vocabularySize"] = TokenizerOps.VocabularySize(Tokenizer),
        };
        StepArchive.Save(ctx, StepKinds.Tokenizer, settings, [new SideEntry(TokenizerEntry, s => TokenizerOps.Save(Tokenizer, s))]);
    }

    internal static TextTokenizingTransformer Load(IHostEnvironment env, StepReader step)
    {
        string output = step.Setting<string>("outputColumnName"), input = step.Setting<string>("inputColumnName");
        var tokenizer = step.ReadEntry(TokenizerEntry, TokenizerOps.MaxFileBytes, TokenizerOps.Load);
        if (step.Settings["vocabularySize"] is { } v && v.GetValue<int>() != TokenizerOps.VocabularySize(tokenizer))
            throw step.Error($"its tokenizer has {TokenizerOps.VocabularySize(tokenizer)} ids but its settings say {v}");
        return new TextTokenizingTransformer(env, output, input, tokenizer);
    }
}
