// Batch generation throughput through a real ML.NET pipeline (Transform and a cursor): N prompts × M new tokens on the nanogpt-cpu GPT, for several generation batch sizes.
// Usage: dotnet run -c Release --project bench/MLNetGpt.GenerationBench -- [--prompts 256] [--tokens 100] [--batch-sizes 1,32]
//        [--threads 0] [--repeats 3] [--data ../shared/data/tinyshakespeare.txt]
// Untrained weights (MaxIterations = 0): throughput does not depend on the weights, and no stop sequence ends a row early.
// Second mode, `gpt2 --folder DIR [--threads N] [--new-tokens 128] [--repeats 3]`: greedy KV-cache decoding of one row on
// an imported Hugging Face GPT-2 folder, one JSON line (see Gpt2Generation.cs and bench/gpt2-generate).
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetGpt;

if (args.Length > 0 && args[0] == "gpt2") return Gpt2Generation.Run(args[1..]);
var settings = Settings.Parse(args);
string text = File.ReadAllText(settings.DataPath);
var ml = new MLContext(seed: 1337);
var data = ml.Data.LoadFromEnumerable([new Row { Text = text }]);

// nanogpt-cpu: n_layer 4, n_head 4, n_embd 128, block 64, vocab 65 (Tiny Shakespeare characters).
var model = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
    .Append(ml.TextGeneration.Trainers.Gpt(new GptTrainer.Options
    {
        LayerCount = 4, HeadCount = 4, EmbeddingSize = 128, BlockSize = 64, MaxIterations = 0, EvalIterations = 1, Threads = settings.Threads,
        OutputTokenColumnName = "GeneratedIds",
    }))
    .Fit(data);
var generator = model.LastTransformer;
var tokenizerStep = model.First();
Console.WriteLine($"model: {generator.Config.Kind} n_layer 4, n_head 4, n_embd 128, block {generator.Model.BlockSize}, vocab {generator.Model.VocabularySize}, " +
    $"{generator.ParameterCount:N0} parameters, backend {generator.Model.Backend.Name} × {generator.Model.Backend.ThreadCount} threads");

// Prompts: consecutive 8–40 character slices of the corpus (lengths vary, as real prompts do).
var prompts = Enumerable.Range(0, settings.Prompts)
    .Select(i => new Row { Text = text.Substring(1000 + i * 97 % (text.Length - 2000), 8 + i * 13 % 33) })
    .ToList();
var promptView = ml.Data.LoadFromEnumerable(prompts);

var results = new List<(int Batch, double Seconds, double TokensPerSecond)>();
foreach (int batch in settings.BatchSizes)
{
    var chain = new TransformerChain<ITransformer>(tokenizerStep,
        generator.WithOptions(new TextGenerationOptions { MaxNewTokens = settings.Tokens, GenerationBatchSize = batch, Seed = 1 }));
    // Warm-up: one batch (JIT, caches, worker threads).
    Consume(chain.Transform(ml.Data.LoadFromEnumerable(prompts.Take(batch).ToList())));
    double best = double.MaxValue;
    long tokens = 0;
    for (int r = 0; r < settings.Repeats; r++)
    {
        var watch = Stopwatch.StartNew();
        tokens = Consume(chain.Transform(promptView));
        best = Math.Min(best, watch.Elapsed.TotalSeconds);
    }
    if (tokens != (long)settings.Prompts * settings.Tokens) throw new InvalidOperationException($"generated {tokens} tokens, expected {settings.Prompts * settings.Tokens}");
    results.Add((batch, best, tokens / best));
    Console.WriteLine($"generation batch size {batch,3}: {tokens} tokens in {best:F2} s (best of {settings.Repeats}) = {tokens / best:F0} tokens/s");
}

// Pipeline overhead: the same work straight through the Models generator (no data view, no decoding to text).
{
    int batch = settings.BatchSizes.Max();
    var ids = prompts.Select(p => generator.Tokenizer.EncodeToIds(p.Text).ToArray()).ToList();
    var direct = MLNetGpt.Models.Sampling.TextGenerator.Create(generator.Model, batch);
    var sampling = new MLNetGpt.Models.Sampling.SamplingOptions { MaxNewTokens = settings.Tokens, Seed = 1 };
    direct.Generate(ids.Take(batch).ToList(), sampling);
    double best = double.MaxValue;
    for (int r = 0; r < settings.Repeats; r++)
    {
        var watch = Stopwatch.StartNew();
        direct.Generate(ids, sampling);
        best = Math.Min(best, watch.Elapsed.TotalSeconds);
    }
    Console.WriteLine($"direct TextGenerator, batch {batch}: {best:F2} s = {(double)settings.Prompts * settings.Tokens / best:F0} tokens/s (pipeline overhead {(results.First(x => x.Batch == batch).Seconds / best - 1) * 100:F1}%)");
}

Console.WriteLine();
Console.WriteLine("| generation batch size | time (s) | tokens/s | vs batch " + results[0].Batch + " |");
Console.WriteLine("|---:|---:|---:|---:|");
foreach (var (batch, seconds, tps) in results)
    Console.WriteLine($"| {batch} | {seconds:F2} | {tps:F0} | {tps / results[0].TokensPerSecond:F2}× |");
return 0;

// Reads every generated row (and its ids) through a cursor, as a data job writing results would.
static long Consume(IDataView output)
{
    var column = output.Schema["GeneratedIds"];
    using var cursor = output.GetRowCursor([column]);
    var getter = cursor.GetGetter<VBuffer<int>>(column);
    VBuffer<int> ids = default;
    long tokens = 0;
    while (cursor.MoveNext())
    {
        getter(ref ids);
        tokens += ids.Length;
    }
    return tokens;
}

sealed class Row
{
    public string Text { get; set; } = "";
}

sealed record Settings(int Prompts, int Tokens, int[] BatchSizes, int Threads, int Repeats, string DataPath)
{
    public static Settings Parse(string[] args)
    {
        var s = new Settings(256, 100, [1, 32], 0, 3, Path.Combine("..", "shared", "data", "tinyshakespeare.txt"));
        for (int i = 0; i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length) throw new ArgumentException($"Option '{args[i]}' needs a value.");
            string v = args[i + 1];
            s = args[i] switch
            {
                "--prompts" => s with { Prompts = int.Parse(v, CultureInfo.InvariantCulture) },
                "--tokens" => s with { Tokens = int.Parse(v, CultureInfo.InvariantCulture) },
                "--batch-sizes" => s with { BatchSizes = v.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray() },
                "--threads" => s with { Threads = int.Parse(v, CultureInfo.InvariantCulture) },
                "--repeats" => s with { Repeats = int.Parse(v, CultureInfo.InvariantCulture) },
                "--data" => s with { DataPath = v },
                _ => throw new ArgumentException($"Unknown option '{args[i]}'; known: --prompts --tokens --batch-sizes --threads --repeats --data."),
            };
        }
        return s;
    }
}
