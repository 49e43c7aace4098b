// Training benchmark: trains one configuration on Tiny Shakespeare (char level) and prints one JSON line with throughput,
// losses, peak RSS and KV-cache sampling speed. bench/compare-pytorch runs it beside bench/pytorch/train_ref.py.
// Usage: MLNetGpt.TrainBench --config nanogpt-cpu [--threads 2] [--iters N] [--eval-iters N] [--sample-tokens 500] [--data PATH]
//        [--seed 1337] (model init and training) [--profile] (kernel time per training step, to stderr) [--show-sample] (the sampled text, to stderr)
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MLNetGpt.Models;
using MLNetGpt.Models.Data;
using MLNetGpt.Models.Sampling;
using MLNetGpt.Models.Training;
using MLNetGpt.Tensors;
using MLNetGpt.TrainBench;

var args_ = ParseArgs(args);
string configName = args_.GetValueOrDefault("config", "nanogpt-cpu");
int threads = int.Parse(args_.GetValueOrDefault("threads", "1"), CultureInfo.InvariantCulture);
var bench = ReferenceRecipes.Get(configName);
ulong seed = ulong.Parse(args_.GetValueOrDefault("seed", "1337"), CultureInfo.InvariantCulture);
var training = bench.Training with { Threads = threads, Seed = seed };
if (args_.TryGetValue("iters", out var itersText))
{
    int iters = int.Parse(itersText, CultureInfo.InvariantCulture);
    training = training with { MaxIters = iters, LearningRateDecayIters = training.LearningRateDecayIters == 0 ? 0 : iters };
}
int evalIters = args_.TryGetValue("eval-iters", out var e) ? int.Parse(e, CultureInfo.InvariantCulture) : bench.EvalIters;
int sampleTokens = int.Parse(args_.GetValueOrDefault("sample-tokens", "500"), CultureInfo.InvariantCulture);

string text = TinyShakespeare.Load(args_.GetValueOrDefault("data"));
var vocab = CharVocabulary.Create(text);
var (train, val) = DataSplit.TrainValidation(vocab.Encode(text));
text = null!;

IComputeBackend backend = CpuBackend.Create(threads);
TimingBackend? timing = args_.ContainsKey("profile") ? new TimingBackend(backend) : null;
if (timing is not null) backend = timing;
var model = LanguageModel.Create(bench.Model with { VocabularySize = vocab.Size }, backend, seed);
var trainer = LanguageModelTrainer.Create(model, train, val, training with { EvalIters = Math.Max(1, evalIters) });
var result = trainer.Run();
if (timing is not null)
{
    Console.Error.WriteLine($"training: {result.MillisecondsPerIter:F3} ms/step wall over {result.Steps} steps; kernel time per step:");
    timing.Report(Console.Error, result.Steps);
}
// The trainer's final estimate (EvalIters random batches of each split, eval mode) gives the reported losses.
double? trainLoss = evalIters > 0 ? result.FinalTrainLoss : null;
double? valLoss = evalIters > 0 ? result.FinalValLoss : null;

// KV-cache sampling: one row from a newline prompt, temperature 1.
var generator = TextGenerator.Create(model, 1);
generator.Generate([0], new SamplingOptions { MaxNewTokens = 20, Seed = 1 }); // warm up
timing?.Reset();
var sw = Stopwatch.StartNew();
var sample = generator.Generate([0], new SamplingOptions { MaxNewTokens = sampleTokens, Seed = 1337 });
double sampleSeconds = sw.Elapsed.TotalSeconds;
if (timing is not null)
{
    Console.Error.WriteLine($"sampling: {sampleSeconds * 1e6 / sample.Length:F1} us/token wall; kernel time per token:");
    timing.Report(Console.Error, sample.Length, "token");
}

var line = new Dictionary<string, object?>
{
    ["config"] = configName,
    ["impl"] = "mlnetgpt",
    ["threads"] = threads,
    ["iters"] = result.Steps,
    ["params"] = model.ParameterCount,
    ["tokens_per_s"] = Math.Round(result.TokensPerSecond, 1),
    ["ms_per_iter"] = Math.Round(result.MillisecondsPerIter, 3),
    ["train_loss"] = trainLoss is null ? null : Math.Round(trainLoss.Value, 4),
    ["val_loss"] = valLoss is null ? null : Math.Round(valLoss.Value, 4),
    ["peak_rss_mb"] = Math.Round(PeakRssMegabytes(), 1),
    ["sample_tokens_per_s"] = Math.Round(sample.Length / sampleSeconds, 1),
    ["wall_s"] = Math.Round(result.WallTime.TotalSeconds, 2),
    ["kernels"] = model.Backend is CpuBackend cpu ? cpu.Width.ToString() : model.Backend.Name,
    ["isa"] = CpuIsa.Describe(),
};
Console.WriteLine(JsonSerializer.Serialize(line));
if (args_.ContainsKey("show-sample")) Console.Error.WriteLine(vocab.Decode(sample));
return 0;

static Dictionary<string, string> ParseArgs(string[] a)
{
    var d = new Dictionary<string, string>(StringComparer.Ordinal);
    for (int i = 0; i < a.Length; i++)
    {
        if (!a[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"Unexpected argument '{a[i]}'.");
        string key = a[i][2..];
        if (key is "show-sample" or "profile") { d[key] = "1"; continue; }
        if (i + 1 >= a.Length) throw new ArgumentException($"Option --{key} needs a value.");
        d[key] = a[++i];
    }
    foreach (var k in d.Keys)
        if (k is not ("config" or "threads" or "iters" or "eval-iters" or "sample-tokens" or "data" or "show-sample" or "profile" or "seed"))
            throw new ArgumentException($"Unknown option --{k}.");
    return d;
}

static double PeakRssMegabytes()
{
    // VmHWM: the resident set's high-water mark, as /usr/bin/time -v reports it.
    foreach (var l in File.ReadLines("/proc/self/status"))
        if (l.StartsWith("VmHWM:", StringComparison.Ordinal))
            return double.Parse(l[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
    return double.NaN;
}
