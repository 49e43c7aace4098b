// The fitted language model as a transformer: token id prompts in, generated text (and ids) out, streamed in micro-batches.
using System.Text.Json.Nodes;
using MLNetGpt.Models;
using MLNetGpt.Models.Training;
using MLNetGpt.Tokenizers;
using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace MLNetGpt.Pipelines;

/// <summary>
/// Generates text after each row's prompt. The input is the token id column a tokenizer step produces (so a fitted chain
/// maps prompt text → generated text); the output is a text column and, optionally, the generated ids. <see cref="Transform(IDataView)"/>
/// is lazy: a cursor pulls <see cref="TextGenerationOptions.GenerationBatchSize"/> rows, generates them in one batched
/// KV-cache call, hands them out, and only then pulls more, so memory is bounded for any number of rows. Row r is sampled
/// from (seed, r), so results do not depend on batch size, thread count or which thread asks. Thread-safe.
/// </summary>
public sealed class TextGenerationTransformer : ITransformer
{
    /// <summary>Name under which this transformer is saved and loaded.</summary>
    public const string LoaderName = "TextGeneration";

    /// <summary>Entry holding the weights (safetensors, GPT-2 tensor names, config in the metadata).</summary>
    public const string WeightsEntryName = "weights.safetensors";

    /// <summary>Entry holding the tokenizer used to decode (and to encode prompts for <see cref="Generate"/>).</summary>
    public const string TokenizerEntryName = "tokenizer.txt";

    private readonly LanguageModelHandle _handle;
    private readonly int[] _stopTokens;
    private readonly int[] _emptyPrompt;

    internal TextGenerationTransformer(LanguageModelHandle handle, Tokenizer tokenizer, TextGenerationColumns columns,
        TextGenerationOptions options, TrainingResult? trainingResult)
    {
        options.Validate();
        _handle = handle;
        Tokenizer = tokenizer;
        Columns = columns;
        Options = options;
        TrainingResult = trainingResult;
        if (tokenizer.VocabularySize > handle.Model.VocabularySize)
            throw new ArgumentException($"The tokenizer has {tokenizer.VocabularySize} ids but the model only {handle.Model.VocabularySize}.", nameof(tokenizer));
        _stopTokens = options.StopSequences.Select(TryEncode).Where(ids => ids is { Length: 1 }).Select(ids => ids![0]).Distinct().ToArray();
        _emptyPrompt = TryEncode(options.EmptyPromptText) is { Length: > 0 } start ? start : [0];
    }

    private int[]? TryEncode(string text)
    {
        try
        {
            return Tokenizer.Encode(text);
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

    /// <summary>The tokenizer the model was trained with.</summary>
    public Tokenizer Tokenizer { get; }

    /// <summary>Input and output column names.</summary>
    public TextGenerationColumns Columns { get; }

    /// <summary>Generation settings.</summary>
    public TextGenerationOptions Options { get; }

    /// <summary>The outcome of training when this transformer was just fitted (null after loading). <c>Cancelled</c> tells whether training stopped early.</summary>
    public TrainingResult? TrainingResult { get; }

    /// <summary>The same model and tokenizer with other generation settings (the model is shared, not copied).</summary>
    public TextGenerationTransformer WithOptions(TextGenerationOptions options) =>
        new(_handle, Tokenizer, Columns, options ?? throw new ArgumentNullException(nameof(options)), TrainingResult);

    /// <summary>The same model, reloaded onto another device or thread count (weights are copied).</summary>
    public TextGenerationTransformer WithDevice(string device, int threads = 0)
    {
        var backend = ComputeDevices.Create(device, threads);
        using var ms = new MemoryStream();
        _handle.SaveWeights(ms);
        ms.Position = 0;
        return new TextGenerationTransformer(new LanguageModelHandle(LanguageModel.Load(ms, backend)), Tokenizer, Columns, Options, TrainingResult);
    }

    private OutputColumn[] Outputs =>
        Columns.OutputTokenColumnName is null
            ? [new OutputColumn(Columns.OutputColumnName, TextDataViewType.Instance)]
            : [new OutputColumn(Columns.OutputColumnName, TextDataViewType.Instance), new OutputColumn(Columns.OutputTokenColumnName, TokenizingTransformer.TokenIdsType)];

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        SchemaErrors.RequireColumn(inputSchema, Columns.TokenColumnName, TokenizingTransformer.TokenIdsType);
        return MappedDataView.OutputSchema(inputSchema, Outputs);
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input) => Transform(input, CancellationToken.None);

    /// <summary>As <see cref="Transform(IDataView)"/>; <paramref name="cancellationToken"/> is checked between batches and steps,
    /// and a cancelled cursor throws <see cref="OperationCanceledException"/> from MoveNext.</summary>
    public IDataView Transform(IDataView input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        GetOutputSchema(input.Schema);
        var sampling = Options.ToSampling(_stopTokens);
        int batch = Options.GenerationBatchSize;
        bool withIds = Columns.OutputTokenColumnName is not null;
        return new MappedDataView(input, Outputs, [Columns.TokenColumnName], batch, (sources, rowIds, outputs, ct) =>
        {
            var prompts = new int[sources.Length][];
            for (int r = 0; r < sources.Length; r++)
                prompts[r] = sources[r][0] is int[] { Length: > 0 } ids ? ids : _emptyPrompt;
            var generated = _handle.Generate(prompts, sampling, rowIds, batch, ct);
            for (int r = 0; r < sources.Length; r++)
            {
                var (text, ids) = Finish(generated[r]);
                outputs[r][0] = text;
                if (withIds) outputs[r][1] = ids;
            }
        }, cancellationToken);
    }

    /// <summary>Decodes a row's ids and cuts it before the first stop sequence (dropping the ids from there on).</summary>
    private (string Text, int[] Ids) Finish(int[] ids)
    {
        string text = Tokenizer.Decode(ids);
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
            if (Tokenizer.Decode(ids.AsSpan(0, n)).Length > cut) break;
            keep = n;
        }
        return (text[..cut], ids[..keep]);
    }

    /// <summary>
    /// Generates after one prompt text, encoding it with <see cref="Tokenizer"/>; <paramref name="rowId"/> picks the random
    /// stream, so the same prompt, row id and seed always give the same text. Safe to call from many threads.
    /// </summary>
    public string Generate(string prompt, long rowId = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var ids = prompt.Length == 0 ? _emptyPrompt : Tokenizer.Encode(prompt);
        var generated = _handle.Generate([ids], Options.ToSampling(_stopTokens), [rowId], 1, cancellationToken);
        return Finish(generated[0]).Text;
    }

    internal double EvaluateLoss(int[] tokens, int batchSize, int maxBatches, CancellationToken cancellationToken) =>
        _handle.EvaluateLoss(tokens, batchSize, maxBatches, cancellationToken);

    /// <inheritdoc/>
    public void Save(ModelSaveContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.SetLoader(LoaderName, 1);
        var options = new JsonObject
        {
            ["columns"] = System.Text.Json.JsonSerializer.SerializeToNode(Columns, ModelJson.Options),
            ["generation"] = System.Text.Json.JsonSerializer.SerializeToNode(Options, ModelJson.Options),
            ["kind"] = Model.Kind,
            ["parameterCount"] = ParameterCount,
            ["config"] = JsonNode.Parse(Config.ToJson()),
        };
        context.SetOptions(options);
        using (var s = context.CreateEntry(TokenizerEntryName)) Tokenizer.Save(s);
        using (var s = context.CreateEntry(WeightsEntryName)) _handle.SaveWeights(s);
    }

    internal static ITransformer Load(ModelLoadContext context)
    {
        context.CheckVersion(1);
        var columns = Deserialize<TextGenerationColumns>(context, "columns");
        var options = Deserialize<TextGenerationOptions>(context, "generation");
        var tokenizer = TokenizingTransformer.LoadTokenizer(context, TokenizerEntryName);
        ILanguageModel model;
        using (var s = context.OpenEntry(WeightsEntryName))
            model = LanguageModel.Load(s, ComputeDevices.Create(context.LoadOptions.Device, context.LoadOptions.Threads));
        try
        {
            return new TextGenerationTransformer(new LanguageModelHandle(model), tokenizer, columns, options, null);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"Step {context.StepIndex} ('{LoaderName}') is inconsistent: {e.Message}", e);
        }
    }

    private static T Deserialize<T>(ModelLoadContext context, string name)
    {
        var node = context.Options[name] ?? throw new InvalidDataException($"Step {context.StepIndex} ('{LoaderName}') is missing option '{name}'.");
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<T>(node, ModelJson.Options)
                ?? throw new InvalidDataException($"Step {context.StepIndex} ('{LoaderName}') option '{name}' is null.");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"Step {context.StepIndex} ('{LoaderName}') option '{name}' is invalid: {e.Message}", e);
        }
    }
}

/// <summary>Column names of a <see cref="TextGenerationTransformer"/>.</summary>
public sealed record TextGenerationColumns
{
    /// <summary>Input: the prompt token ids (Vector&lt;Int32&gt;). Default "Tokens".</summary>
    public string TokenColumnName { get; init; } = "Tokens";

    /// <summary>The text column the token ids were computed from (for evaluation on raw text). Default "Text".</summary>
    public string SourceColumnName { get; init; } = "Text";

    /// <summary>Output: the generated text (without the prompt). Default "Generated".</summary>
    public string OutputColumnName { get; init; } = "Generated";

    /// <summary>Optional output: the generated token ids; null (default) for none.</summary>
    public string? OutputTokenColumnName { get; init; }
}
