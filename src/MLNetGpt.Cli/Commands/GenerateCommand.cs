// `mlnetgpt generate MODEL.zip --prompt TEXT | --input prompts.csv|.jsonl --output out.jsonl`: streaming batch generation.
using System.Text;
using System.Text.Json;
using MLNetGpt.Models.Serialization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetGpt.Cli.Commands;

/// <summary>Settings of one `generate` invocation.</summary>
public sealed record GenerateRequest(string ModelPath, string? Prompt, string? InputPath, string? OutputPath, string? Column,
    int? MaxNewTokens, float? Temperature, int? TopK, float? TopP, long? Seed, int? BatchSize, int Threads);

/// <summary>Generates text from a saved model, for one prompt or a file of prompts, streaming rows in input order.</summary>
public static class GenerateCommand
{
    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(GenerateRequest r, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if ((r.Prompt is null) == (r.InputPath is null)) throw new CliException("generate needs exactly one of --prompt TEXT or --input FILE.");
        if (r.InputPath is not null && r.OutputPath is null) throw new CliException("generate --input needs --output FILE.jsonl.");
        // Before any work: a link, FIFO or device named by --output is never replaced by a file.
        if (r.OutputPath is not null) AtomicFile.EnsureReplaceable(Path.GetFullPath(r.OutputPath));
        var model = LoadedModel.Load(r.ModelPath);
        var g = model.Generator;
        var options = g.Options with
        {
            MaxNewTokens = r.MaxNewTokens ?? g.Options.MaxNewTokens,
            Temperature = r.Temperature ?? g.Options.Temperature,
            TopK = r.TopK ?? g.Options.TopK,
            TopP = r.TopP ?? g.Options.TopP,
            Seed = r.Seed ?? g.Options.Seed,
            GenerationBatchSize = r.BatchSize ?? g.Options.GenerationBatchSize,
        };
        try { options.Validate(); }
        catch (ArgumentException e) { throw new CliException(CliMessages.ForOption(e, OptionNames)); }
        var generator = g.WithOptions(options);
        if (r.Threads != 0) generator = generator.WithDevice("cpu", r.Threads);

        if (r.Prompt is not null)
        {
            string text;
            try { text = generator.Generate(r.Prompt, 0, cancellationToken); }
            catch (ArgumentException e) { throw new CliException($"--prompt cannot be used with this model: {CliMessages.Clean(e)}"); }
            if (r.OutputPath is null) { output.WriteLine(r.Prompt + text); return ExitCodes.Ok; }
            AtomicFile.Write(r.OutputPath, s => WriteRow(s, r.Prompt, text));
            return ExitCodes.Ok;
        }

        string inputPath = r.InputPath!;
        if (!File.Exists(inputPath)) throw new CliException($"Input file '{inputPath}' does not exist.");
        if (new FileInfo(inputPath).Length == 0) throw new CliException($"Input file '{inputPath}' is empty.");
        var ml = model.Context;
        string expected = model.InputSchema.Count > 0 ? model.InputSchema[0].Name : DataCatalogExtensions.DefaultTextColumnName;
        var (prompts, promptColumn) = PromptFiles.Load(ml, inputPath, r.Column, expected);
        if (promptColumn != expected)
            prompts = ml.Transforms.CopyColumns(expected, promptColumn).Fit(prompts).Transform(prompts);

        // The saved chain with its generation step swapped for the one carrying this command's options; lazy until read.
        var (_, index, steps) = TextGenerationModel.Find(model.Chain);
        var chain = new TransformerChain<ITransformer>(steps.Select((step, i) => i == index ? generator : step).ToArray());
        IDataView generated = chain.Transform(prompts);

        long rows = 0;
        var outCol = generated.Schema[g.Columns.OutputColumnName];
        var inCol = generated.Schema[promptColumn];
        int batch = options.GenerationBatchSize;
        try
        {
            AtomicFile.Write(r.OutputPath!, stream =>
            {
                using var cursor = generated.GetRowCursor([outCol, inCol]);
                var getOut = cursor.GetGetter<ReadOnlyMemory<char>>(outCol);
                var getIn = cursor.GetGetter<ReadOnlyMemory<char>>(inCol);
                ReadOnlyMemory<char> text = default, prompt = default;
                while (cursor.MoveNext())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    getIn(ref prompt);
                    getOut(ref text);
                    WriteRow(stream, prompt.ToString(), text.ToString());
                    rows++;
                }
            });
        }
        catch (ArgumentException e)
        {
            // Prompts are encoded a micro-batch at a time, so the bad one is among the rows after the last one written.
            string where = batch == 1 ? $"row {rows + 1}" : $"rows {rows + 1}-{rows + batch}";
            throw new CliException($"{inputPath}, {where}: {CliMessages.Clean(e)} Nothing was written to '{r.OutputPath}'.");
        }
        error.WriteLine($"wrote {rows} rows to {r.OutputPath}");
        return ExitCodes.Ok;
    }

    // The options' property names as the command line spells them, for validation messages.
    private static readonly Dictionary<string, string> OptionNames = new()
    {
        ["MaxNewTokens"] = "--max-new-tokens",
        ["Temperature"] = "--temperature",
        ["TopK"] = "--top-k",
        ["TopP"] = "--top-p",
        ["Seed"] = "--seed",
        ["GenerationBatchSize"] = "--batch-size",
    };

    private static void WriteRow(Stream stream, string prompt, string generated)
    {
        using var json = new Utf8JsonWriter(stream);
        json.WriteStartObject();
        json.WriteString("prompt", prompt);
        json.WriteString("generated", generated);
        json.WriteEndObject();
        json.Flush();
        stream.WriteByte((byte)'\n');
    }
}
