// Batch tokenization for data jobs: JSON lines {"text": ...} in, {"ids": [...]} out, in order, parallel, bounded memory.
using System.Globalization;
using System.Text;
using System.Text.Json;
using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace MLNetGpt.Tokenizers;

/// <summary>Options of <see cref="JsonlTokenization.EncodeJsonl"/>, with documented defaults.</summary>
public sealed record JsonlTokenizationOptions
{
    /// <summary>Name of the input string property. Default "text".</summary>
    public string TextProperty { get; init; } = "text";

    /// <summary>Name of the output array property. Default "ids".</summary>
    public string IdsProperty { get; init; } = "ids";

    /// <summary>
    /// How special-token strings in the texts are treated by a <see cref="BpeTokenizer"/>. Default <see cref="SpecialTokenMode.AsText"/>.
    /// Other tokenizers (Microsoft's, for example) encode with their own <c>EncodeToIds</c> and ignore this setting.
    /// </summary>
    public SpecialTokenMode SpecialTokens { get; init; } = SpecialTokenMode.AsText;

    /// <summary>Lines read, encoded in parallel and written per batch; bounds memory. Default 4096.</summary>
    public int LinesPerBatch { get; init; } = 4096;

    /// <summary>Worker count; -1 (default) means all cores.</summary>
    public int MaxDegreeOfParallelism { get; init; } = -1;
}

/// <summary>What <see cref="JsonlTokenization.EncodeJsonl"/> did.</summary>
/// <param name="Lines">Lines read and written.</param>
/// <param name="Tokens">Ids written in total.</param>
public readonly record struct JsonlTokenizationResult(long Lines, long Tokens);

/// <summary>Encodes JSON-lines files for data preparation.</summary>
public static class JsonlTokenization
{
    /// <summary>
    /// Reads lines <c>{"text": "..."}</c> (other properties are ignored) and writes one line <c>{"ids":[...]}</c> per input
    /// line, in input order. Batches of <see cref="JsonlTokenizationOptions.LinesPerBatch"/> lines are encoded in parallel,
    /// so memory stays bounded by one batch.
    /// </summary>
    /// <exception cref="FormatException">A line is empty, not JSON, not an object, or lacks a string text property;
    /// the message gives the 1-based line number. Lines before the bad batch have been written.</exception>
    /// <exception cref="ArgumentException">A text cannot be encoded (for example an unknown character); the message gives the line number.</exception>
    public static JsonlTokenizationResult EncodeJsonl(TextReader input, TextWriter output, Tokenizer tokenizer, JsonlTokenizationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(tokenizer);
        options ??= new JsonlTokenizationOptions();
        if (options.LinesPerBatch < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.LinesPerBatch, "LinesPerBatch must be at least 1.");
        if (string.IsNullOrEmpty(options.TextProperty)) throw new ArgumentException("TextProperty is empty.", nameof(options));
        if (string.IsNullOrEmpty(options.IdsProperty)) throw new ArgumentException("IdsProperty is empty.", nameof(options));

        var prefix = "{" + JsonSerializer.Serialize(options.IdsProperty) + ":[";
        var lines = new string?[options.LinesPerBatch];
        var results = new string[options.LinesPerBatch];
        var counts = new int[options.LinesPerBatch];
        var errors = new Exception?[options.LinesPerBatch];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism, CancellationToken = cancellationToken };
        long lineNumber = 0, tokens = 0;
        while (true)
        {
            var n = 0;
            while (n < lines.Length && input.ReadLine() is { } line) lines[n++] = line;
            if (n == 0) break;
            var first = lineNumber + 1;
            Parallel.For(0, n, parallel, () => new StringBuilder(4096), (i, _, builder) =>
            {
                try
                {
                    var text = ReadText(lines[i]!, options.TextProperty);
                    var ids = tokenizer switch
                    {
                        BpeTokenizer bpe => bpe.Encode(text, options.SpecialTokens),
                        CharacterTokenizer characters => characters.Encode(text),
                        _ => tokenizer.EncodeToIds(text).ToArray(),
                    };
                    builder.Clear().Append(prefix);
                    for (var k = 0; k < ids.Length; k++)
                    {
                        if (k > 0) builder.Append(',');
                        builder.Append(ids[k].ToString(CultureInfo.InvariantCulture));
                    }
                    results[i] = builder.Append("]}").ToString();
                    counts[i] = ids.Length;
                    errors[i] = null;
                }
                catch (Exception e) when (e is FormatException or ArgumentException)
                {
                    errors[i] = e;
                }
                return builder;
            }, _ => { });
            for (var i = 0; i < n; i++)
            {
                if (errors[i] is { } error)
                {
                    output.Flush();
                    var at = first + i;
                    throw error is FormatException
                        ? new FormatException($"line {at}: {error.Message}", error)
                        : new ArgumentException($"line {at}: {error.Message}", error);
                }
                output.Write(results[i]);
                output.Write('\n');
                tokens += counts[i];
                lines[i] = null;
                results[i] = null!;
            }
            lineNumber += n;
        }
        output.Flush();
        return new JsonlTokenizationResult(lineNumber, tokens);
    }

    private static string ReadText(string line, string property)
    {
        if (string.IsNullOrWhiteSpace(line)) throw new FormatException("empty line; expected a JSON object");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new FormatException($"invalid JSON at column {(e.BytePositionInLine ?? 0) + 1}: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new FormatException($"expected a JSON object, found {document.RootElement.ValueKind}");
            if (!document.RootElement.TryGetProperty(property, out var value)) throw new FormatException($"no \"{property}\" property");
            if (value.ValueKind != JsonValueKind.String) throw new FormatException($"\"{property}\" is {value.ValueKind}, expected a string");
            try
            {
                return value.GetString()!;
            }
            catch (InvalidOperationException e)
            {
                // e.g. "\ud800": a lone surrogate escape, which no .NET string decoded from JSON can hold
                throw new FormatException($"\"{property}\" is not valid text: {e.Message}", e);
            }
        }
    }
}
