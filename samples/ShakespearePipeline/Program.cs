// Runs the Shakespeare sample: dotnet run -c Release --project samples/ShakespearePipeline -- [tinyshakespeare.txt] [prompts.csv] [output dir] [iterations]
using MLNetGpt.Models.Training;
using MLNetGpt.Samples;

string textPath = args.Length > 0 ? args[0] : Path.Combine("..", "shared", "data", "tinyshakespeare.txt");
string outputDirectory = args.Length > 2 ? args[2] : Path.Combine(Path.GetTempPath(), "mlnetgpt-sample");
string promptsPath = args.Length > 1 ? args[1] : Path.Combine(outputDirectory, "prompts.csv");
int iterations = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 2000;
if (args.Length <= 1)
{
    Directory.CreateDirectory(outputDirectory);
    File.WriteAllText(promptsPath, "Prompt\nROMEO:\nJULIET:\n\"First Citizen:\nBefore we proceed\"\n");
}
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
var progress = new Progress<TrainingProgress>(p => Console.WriteLine(
    $"step {p.Step}/{p.MaxIters} loss {p.TrainLoss:F4}" + (p.ValLoss is { } v ? $" val {v:F4}" : "") + $" {p.TokensPerSecond:F0} tok/s"));
var result = ShakespearePipelineSample.Run(textPath, promptsPath, outputDirectory,
    new SampleSettings { MaxIterations = iterations, Progress = progress }, cts.Token);
Console.WriteLine($"validation loss {result.Validation.Loss:F4} (perplexity {result.Validation.Perplexity:F2}); model: {result.ModelPath}");
foreach (var (prompt, generated) in result.Generations) Console.WriteLine($"--- {prompt}\n{prompt}{generated}");
