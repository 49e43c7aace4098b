// The fitted language model as an ML.NET transformer: prompt token ids in, generated text (and ids) out, in micro-batches.
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Tokenizers;
using MLNetGpt.Data;
using MLNetGpt.Internals;
using MLNetGpt.Models;
using MLNetGpt.Models.Training;
using MLNetGpt.Tokenizing;

namespace MLNetGpt;

/// <summary>
/// Generates text after each row's prompt. The input is the token id column a tokenizer step produces (so a fitted chain
/// maps prompt text to generated text); the output is a text column and, optionally, the generated ids.
/// <see cref="Transform(IDataView)"/> is lazy: a cursor pulls <see cref="TextGenerationOptions.GenerationBatchSize"/> rows,
/// generates them in one batched KV-cache pass, serves them, and only then pulls more, so memory is bounded for any number
/// of rows. Row r is sampled from (seed, r), so results do not depend on batch size, thread count or whether rows come
/// through <c>Transform</c> or a <c>PredictionEngine</c> (which numbers its calls 0, 1, 2, ...).
/// </summary>
/// <remarks>
/// The transformer is thread-safe; ML.NET's <c>PredictionEngine</c> over it is not (one per thread, or use
/// <see cref="Generate"/>, which is). Saved by <c>mlContext.Model.Save</c> into the model .zip with its tokenizer and
/// weights, each covered by a SHA-256 that loading verifies.
/// </remarks>
public sealed class TextGenerationTransformer : ITransformer
{
    private const string TokenizerEntry = "tokenizer.txt";
    private const string WeightsEntry = "weights.safetensors";

    private readonly IHostEnvironment _env;
    private readonly LanguageModelHandle _handle;
    private readonly int[] _stopTokens;
    private readonly int[] _emptyPrompt;

    internal TextGenerationTransformer(IHostEnvironment env, LanguageModelHandle handle, Tokenizer tokenizer, TextGenerationColumns columns,
        TextGenerationOptions options, TrainingResult? trainingResult)
    {
        options.Validate();
        _env = env;
        _handle = handle;
        Tokenizer = tokenizer;
        Columns = columns;
        Options = options;
        TrainingResult = trainingResult;
        if (TokenizerOps.VocabularySize(tokenizer) is { } v && v > handle.Model.VocabularySize)
            throw new ArgumentException($"The tokenizer has {v} ids but the model only {handle.Model.VocabularySize}.", nameof(tokenizer));
        _stopTokens = options.StopSequences.Select(TryEncode).Where(ids => ids is { Length: 1 }).Select(ids => ids![0]).Distinct().ToArray();
        _emptyPrompt = TryEncode(options.EmptyPromptText) is { Length: > 0 } start ? start : [0];
    }

    private int[]? TryEncode(string text)
    {
        try
        {
            return TokenizerOps.Encode(Tokenizer, text);
        }
        catch (ArgumentException)
        {
            return null; // e.g. a character tokenizer that has never seen the character
        }
    }

    /// <summary>The language model (bigram or GPT). Do not use it directly while this transformer generates.</summary>
    public ILanguageModel Model => _handle.Model;

    /// <summary>The model configuration (kind, sizes).</summary>
    public LanguageModelConfig Config => _handle.Model.Config;

    /// <summary>Number of trainable parameters.</summary>
    public long ParameterCount => _handle.Model.ParameterCount;

    /// <summary>The tokenizer the model was trained with (decodes the output; encodes prompts for <see cref="Generate"/>).</summary>
    public Tokenizer Tokenizer { get; }

    /// <summary>Input and output column names.</summary>
    public TextGenerationColumns Columns { get; }

    /// <summary>Generation settings.</summary>
    public TextGenerationOptions Options { get; }

    /// <summary>The outcome of training when this transformer was just fitted (null after loading); <c>Cancelled</c> tells whether training stopped early.</summary>
    public TrainingResult? TrainingResult { get; }

    /// <summary>The same model and tokenizer with other generation settings (the model is shared, not copied).</summary>
    public TextGenerationTransformer WithOptions(TextGenerationOptions options) =>
        new(_env, _handle, Tokenizer, Columns, options ?? throw new ArgumentNullException(nameof(options)), TrainingResult);

    /// <summary>
    /// The same model on another device or thread count. The weights are shared, not copied (see
    /// <see cref="LanguageModel.WithBackend"/>); each transformer has its own generator and KV cache.
    /// </summary>
    public TextGenerationTransformer WithDevice(string device, int threads = 0)
    {
        var backend = ComputeDevices.Create(device, threads);
        return new TextGenerationTransformer(_env, new LanguageModelHandle(LanguageModel.WithBackend(_handle.Model, backend)), Tokenizer, Columns, Options, TrainingResult);
    }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaChecks.Require(inputSchema, Columns.TokenColumnName, SchemaChecks.TokenIdsType);
        return OutputColumn.Append(inputSchema, OutputColumns(Columns.OutputColumnName, Columns.OutputTokenColumnName));
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input) => Transform(input, CancellationToken.None);

    /// <summary>As <see cref="Transform(IDataView)"/>; <paramref name="cancellationToken"/> is checked between batches and
    /// decoding steps, and a cancelled cursor throws <see cref="OperationCanceledException"/> from MoveNext.</summary>
    public IDataView Transform(IDataView input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new MappedDataView(input, new Mapper(this, Options), cancellationToken);
    }

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return new MappedRowMapper(inputSchema, new Mapper(this, Options));
    }

    /// <summary>
    /// Generates after one prompt text, encoding it with <see cref="Tokenizer"/>; <paramref name="rowId"/> picks the random
    /// stream (row r of a <c>Transform</c> uses r), so the same prompt, row id and seed always give the same text. Safe to
    /// call from many threads.
    /// </summary>
    public string Generate(string prompt, long rowId = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var ids = prompt.Length == 0 ? _emptyPrompt : TokenizerOps.Encode(Tokenizer, prompt);
        var generated = _handle.Generate([ids.Length == 0 ? _emptyPrompt : ids], Options.ToSampling(_stopTokens), [rowId], 1, cancellationToken);
        return Finish(generated[0]).Text;
    }

    internal double EvaluateLoss(int[] tokens, int batchSize, int maxBatches, CancellationToken cancellationToken) =>
        _handle.EvaluateLoss(tokens, batchSize, maxBatches, cancellationToken);

    /// <summary>The columns a generator with these names appends.</summary>
    internal static IReadOnlyList<OutputColumn> OutputColumns(string outputColumnName, string? outputTokenColumnName) =>
        outputTokenColumnName is null
            ? [new OutputColumn(outputColumnName, TextDataViewType.Instance)]
            : [new OutputColumn(outputColumnName, TextDataViewType.Instance), new OutputColumn(outputTokenColumnName, SchemaChecks.TokenIdsType)];

    /// <summary>Decodes a row's ids and cuts it before the first stop sequence (dropping the ids from there on).</summary>
    private (string Text, int[] Ids) Finish(int[] ids)
    {
        string text = TokenizerOps.Decode(Tokenizer, ids);
        int cut = -1;
        foreach (var stop in Options.StopSequences)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        if (cut < 0) return (text, ids);
        // Keep the longest prefix of ids whose text fits before the cut.
        int keep = 0;
        for (int n = 1; n <= ids.Length; n++)
        {
            if (TokenizerOps.Decode(Tokenizer, ids[..n]).Length > cut) break;
            keep = n;
        }
        return (text[..cut], ids[..keep]);
    }

    /// <summary>Prompt ids in, generated text (and ids) out, a micro-batch at a time, under the model's lock.</summary>
    private sealed class Mapper(TextGenerationTransformer owner, TextGenerationOptions options) : BatchMapper
    {
        private readonly Models.Sampling.SamplingOptions _sampling = options.ToSampling(owner._stopTokens);

        public override string InputColumnName => owner.Columns.TokenColumnName;

        public override DataViewType InputType => SchemaChecks.TokenIdsType;

        public override IReadOnlyList<OutputColumn> Outputs { get; } = OutputColumns(owner.Columns.OutputColumnName, owner.Columns.OutputTokenColumnName);

        public override int BatchSize => options.GenerationBatchSize;

        public override void Map(ReadOnlySpan<object> sources, ReadOnlySpan<long> positions, object?[][] outputs, CancellationToken cancellationToken)
        {
            var prompts = new int[sources.Length][];
            for (int r = 0; r < sources.Length; r++)
                prompts[r] = sources[r] is int[] { Length: > 0 } ids ? ids : owner._emptyPrompt;
            var generated = owner._handle.Generate(prompts, _sampling, positions, BatchSize, cancellationToken);
            for (int r = 0; r < sources.Length; r++)
            {
                var (text, ids) = owner.Finish(generated[r]);
                outputs[r][0] = text;
                if (Outputs.Count > 1) outputs[r][1] = ids;
            }
        }
    }

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        var settings = new JsonObject
        {
            ["columns"] = JsonSerializer.SerializeToNode(Columns),
            ["generation"] = JsonSerializer.SerializeToNode(Options),
            ["config"] = JsonNode.Parse(Config.ToJson()),
            ["parameterCount"] = ParameterCount,
            ["tokenizer"] = Tokenizer.GetType().Name,
        };
        StepArchive.Save(ctx, StepKinds.Generator, settings,
        [
            new SideEntry(TokenizerEntry, s => TokenizerOps.Save(Tokenizer, s)),
            new SideEntry(WeightsEntry, _handle.SaveWeights),
        ]);
    }

    internal static TextGenerationTransformer Load(IHostEnvironment env, StepReader step)
    {
        var columns = step.Setting<TextGenerationColumns>("columns");
        var options = step.Setting<TextGenerationOptions>("generation");
        LanguageModelConfig config;
        try
        {
            config = LanguageModelConfig.FromJson(step.Settings["config"]?.ToJsonString() ?? throw step.Error("its settings have no 'config'"));
        }
        catch (FormatException e)
        {
            throw step.Error($"its model configuration is invalid: {e.Message}", e);
        }
        var tokenizer = step.ReadEntry(TokenizerEntry, TokenizerOps.MaxFileBytes, TokenizerOps.Load);
        var model = step.ReadEntry(WeightsEntry, LanguageModel.MaxWeightsFileBytes(config), s => LanguageModel.Load(s, ComputeDevices.Create("cpu")));
        if (model.Config != config)
            throw step.Error($"its weights are of a {model.Config.ToJson()} model but its settings say {config.ToJson()}");
        try
        {
            return new TextGenerationTransformer(env, new LanguageModelHandle(model), tokenizer, columns, options, null);
        }
        catch (ArgumentException e)
        {
            throw step.Error($"it is inconsistent: {e.Message}", e);
        }
    }
}

/// <summary>Column names of a <see cref="TextGenerationTransformer"/>.</summary>
public sealed record TextGenerationColumns
{
    /// <summary>Input: the prompt token ids (Vector&lt;Int32&gt;). Default "Tokens".</summary>
    public string TokenColumnName { get; init; } = "Tokens";

    /// <summary>Output: the generated text (without the prompt). Default "Generated".</summary>
    public string OutputColumnName { get; init; } = "Generated";

    /// <summary>Optional output: the generated token ids; null (default) for none.</summary>
    public string? OutputTokenColumnName { get; init; }
}
