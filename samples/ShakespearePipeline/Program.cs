// Runs the Shakespeare sample:
//   dotnet run -c Release --project samples/ShakespearePipeline -- [--corpus FILE] [--prompts FILE.csv] [--out DIR] [--iterations N]
// Without --corpus the corpus is found as `mlnetgpt train` finds it: MLNETGPT_DATA, the cache (~/.cache/mlnetgpt), or a
// checksum-verified download of Tiny Shakespeare.
using System.Globalization;
using MLNetGpt.Models.Data;
using MLNetGpt.Models.Training;
using MLNetGpt.Samples;

string? corpus = null, prompts = null, output = null;
int iterations = 2000;
for (int i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--corpus": corpus = Value(); break;
        case "--prompts": prompts = Value(); break;
        case "--out": output = Value(); break;
        case "--iterations": iterations = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'\nusage: ShakespearePipeline [--corpus FILE] [--prompts FILE.csv] [--out DIR] [--iterations N]");
            return 2;
    }
}
output ??= Path.Combine(Path.GetTempPath(), "mlnetgpt-sample");
Directory.CreateDirectory(output);
if (prompts is null)
{
    prompts = Path.Combine(output, "prompts.csv");
    File.WriteAllText(prompts, "Prompt\nROMEO:\nJULIET:\n\"First Citizen:\nBefore we proceed\"\n");
}
try
{
    corpus ??= TinyShakespeare.Locate();
}
catch (Exception e) when (e is IOException or HttpRequestException or InvalidDataException)
{
    Console.Error.WriteLine($"error: {e.Message}\nPass a local copy with --corpus FILE or MLNETGPT_DATA=FILE.");
    return 1;
}
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
var progress = new Progress<TrainingProgress>(p => Console.WriteLine(
    $"step {p.Step}/{p.MaxIters} loss {p.TrainLoss:F4}" + (p.ValLoss is { } v ? $" val {v:F4}" : "") + $" {p.TokensPerSecond:F0} tok/s"));
var result = ShakespearePipelineSample.Run(corpus, prompts, output, new SampleSettings { MaxIterations = iterations, Progress = progress }, cts.Token);
Console.WriteLine($"validation loss {result.Validation.Loss:F4} (perplexity {result.Validation.Perplexity:F2}); model: {result.ModelPath}");
foreach (var (prompt, generated) in result.Generations) Console.WriteLine($"--- {prompt}\n{prompt}{generated}");
return 0;
