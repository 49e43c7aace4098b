// `mlnetgpt tokenizer train|encode|decode`: train a BPE tokenizer, and JSONL batch encoding/decoding in input order.
// encode/decode take --encoding gpt2|r50k_base|cl100k_base|o200k_base alone (rank tables from the Data packages).
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetGpt.Models.Serialization;
using MLNetGpt.Tokenizers;
using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace MLNetGpt.Cli.Commands;

/// <summary>
/// Where a tokenizer comes from: an encoding name alone (its rank table from the Microsoft.ML.Tokenizers.Data packages),
/// a .tiktoken file (+ encoding), a model .zip, or a tokenizer file we saved.
/// </summary>
public sealed record TokenizerSource(string? TiktokenPath, string? Encoding, string? ModelPath, string? TokenizerPath)
{
    /// <summary>Encodings whose data packages the CLI ships with (p50k_base's is not served by the package registry).</summary>
    public const string ShippedEncodings = "gpt2, r50k_base, cl100k_base or o200k_base";

    /// <summary>Loads the tokenizer; exactly one source must be given (<c>--encoding</c> alone counts as one).</summary>
    public Tokenizer Load()
    {
        int given = (TiktokenPath is null ? 0 : 1) + (ModelPath is null ? 0 : 1) + (TokenizerPath is null ? 0 : 1);
        if (given == 0 && Encoding is not null) return FromDataPackage(Encoding);
        if (given != 1)
            throw new CliException($"Name exactly one tokenizer: --encoding {ShippedEncodings.Replace(" or ", "|").Replace(", ", "|")}, --tiktoken FILE [--encoding NAME], --model MODEL.zip or --tokenizer FILE.");
        if (ModelPath is not null) return LoadedModel.Load(ModelPath).Generator.Tokenizer;
        string path = TiktokenPath ?? TokenizerPath!;
        if (!File.Exists(path)) throw new CliException($"Tokenizer file '{path}' does not exist.");
        try
        {
            if (TokenizerPath is not null) return TokenizerFile.Load(path);
            var encodingName = Encoding ?? Path.GetFileNameWithoutExtension(path);
            var encoding = encodingName switch
            {
                "gpt2" => TiktokenEncoding.Gpt2,
                "r50k_base" => TiktokenEncoding.R50kBase,
                "p50k_base" => TiktokenEncoding.P50kBase,
                "cl100k_base" => TiktokenEncoding.Cl100kBase,
                "o200k_base" => TiktokenEncoding.O200kBase,
                _ => throw new CliException($"Unknown encoding '{encodingName}'; expected gpt2, r50k_base, p50k_base, cl100k_base or o200k_base (--encoding)."),
            };
            return BpeTokenizer.LoadTiktoken(path, encoding);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException)
        {
            throw new CliException($"Tokenizer file '{path}' is invalid: {e.Message}");
        }
    }

    private static BpeTokenizer FromDataPackage(string encoding)
    {
        try
        {
            return BpeTokenizer.CreateForEncoding(encoding);
        }
        catch (ArgumentException)
        {
            throw new CliException($"Unknown encoding '{encoding}'; expected {ShippedEncodings}, or --tiktoken FILE for another rank table.");
        }
        catch (InvalidOperationException e)
        {
            throw new CliException($"Encoding '{encoding}' is not available without a file: {e.Message}");
        }
    }
}

/// <summary>Tokenizer commands.</summary>
public static class TokenizerCommands
{
    /// <summary>Trains a byte-level BPE tokenizer on a text file and saves it (our text format, or .tiktoken).</summary>
    public static int Train(string input, int vocabSize, string pattern, string outputPath, TextWriter output)
    {
        if (!File.Exists(input)) throw new CliException($"Input file '{input}' does not exist.");
        if (vocabSize < 256) throw new CliException($"--vocab-size {vocabSize} must be at least 256.");
        string text = File.ReadAllText(input);
        if (text.Length == 0) throw new CliException($"Input file '{input}' is empty.");
        var started = System.Diagnostics.Stopwatch.StartNew();
        var tokenizer = BpeTokenizer.Train(text, new BpeTrainerOptions { VocabularySize = vocabSize, Pattern = SplitPattern.FromName(pattern) });
        if (outputPath.EndsWith(".tiktoken", StringComparison.OrdinalIgnoreCase)) tokenizer.SaveTiktoken(outputPath);
        else tokenizer.Save(outputPath);
        int learned = 256 + (tokenizer.Merges?.Count ?? 0);
        string note = learned < vocabSize ? $" (asked for {vocabSize}: the text has no pair left to merge after {learned - 256} merges)" : "";
        output.WriteLine($"trained {learned} ids{note} in {started.Elapsed.TotalSeconds:0.00} s -> {Path.GetFullPath(outputPath)}");
        return ExitCodes.Ok;
    }

    /// <summary>Reads JSONL {"text": ...} and writes {"ids": [...]} in order (stdin/stdout by default; files written atomically).</summary>
    public static int Encode(TokenizerSource source, string? inputPath, string? outputPath, TextReader stdin, TextWriter stdout, TextWriter error,
        CancellationToken cancellationToken)
    {
        var tokenizer = source.Load();
        JsonlTokenizationResult result = default;
        WithStreams(inputPath, outputPath, stdin, stdout, (reader, writer) =>
        {
            try { result = JsonlTokenization.EncodeJsonl(reader, writer, tokenizer, null, cancellationToken); }
            catch (Exception e) when (e is FormatException or InvalidDataException or JsonException)
            {
                throw new CliException($"{inputPath ?? "stdin"}: {e.Message}");
            }
        });
        error.WriteLine($"encoded {result.Lines} lines, {result.Tokens} tokens");
        return ExitCodes.Ok;
    }

    /// <summary>Reads JSONL {"ids": [...]} and writes {"text": ...} in order.</summary>
    public static int Decode(TokenizerSource source, string? inputPath, string? outputPath, TextReader stdin, TextWriter stdout, TextWriter error)
    {
        var tokenizer = source.Load();
        int? vocabularySize = tokenizer switch
        {
            BpeTokenizer bpe => bpe.VocabularySize,
            CharacterTokenizer characters => characters.VocabularySize,
            _ => null,
        };
        long lines = 0;
        WithStreams(inputPath, outputPath, stdin, stdout, (reader, writer) =>
        {
            string? line;
            int lineNumber = 0;
            while ((line = reader.ReadLine()) is not null)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                int[] ids;
                try
                {
                    var node = JsonNode.Parse(line) as JsonObject ?? throw new FormatException("expected a JSON object");
                    var array = node["ids"] as JsonArray ?? throw new FormatException("missing \"ids\" array");
                    ids = array.Select(x => x!.GetValue<int>()).ToArray();
                    foreach (int id in ids)
                        if (vocabularySize is { } size && (uint)id >= (uint)size) throw new FormatException($"id {id} is outside the vocabulary [0,{size})");
                }
                catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
                {
                    throw new CliException($"{inputPath ?? "stdin"}, line {lineNumber}: {e.Message}");
                }
                writer.Write(JsonSerializer.Serialize(new { text = tokenizer.Decode(ids) }));
                writer.Write('\n');
                lines++;
            }
        });
        error.WriteLine($"decoded {lines} lines");
        return ExitCodes.Ok;
    }

    // Files are read without BOM stripping (a leading U+FEFF is text) and written atomically; stdin/stdout stream.
    private static void WithStreams(string? inputPath, string? outputPath, TextReader stdin, TextWriter stdout, Action<TextReader, TextWriter> body)
    {
        if (inputPath is not null && !File.Exists(inputPath)) throw new CliException($"Input file '{inputPath}' does not exist.");
        using var reader = inputPath is null ? null : new StreamReader(inputPath, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: false);
        var input = (TextReader?)reader ?? stdin;
        if (outputPath is null) { body(input, stdout); stdout.Flush(); return; }
        AtomicFile.Write(outputPath, s =>
        {
            using var writer = new StreamWriter(s, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
            body(input, writer);
        });
    }
}
