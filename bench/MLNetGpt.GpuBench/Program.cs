// GPU benchmark (bench/gpu/run.sh runs it on the GPU machine, published self-contained by bench/gpu/build.sh). One JSON line
// per check on stdout; progress on stderr.
//   parity [--cpu-accelerator]: CudaBackend (FP32 products, then TF32) against CpuBackend on a small GPT: logits, loss,
//       every gradient, five AdamW steps. Exit code 1 when the FP32 comparison fails its tolerances.
//   train --config nanogpt-cpu|lecture|gpt2 [--iters N] [--warmup W] [--batch B] [--eval-iters E] [--eval-interval I]
//       [--data PATH] [--fp32] [--cpu-accelerator] [--sample-tokens S]: training throughput (tokens/s over N steps after
//       W untimed ones) and device memory; with --eval-iters, the final train/val loss estimate (the lecture's 5000-step
//       run uses this); then S tokens sampled from the trained model with the KV cache (one row, after a 20-token warm-up),
//       as train_ref.py's sample_tokens_per_s (which recomputes the whole context per token: nanoGPT's generate).
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MLNetGpt.Models;
using MLNetGpt.Models.Data;
using MLNetGpt.Models.Sampling;
using MLNetGpt.Models.Training;
using MLNetGpt.Tensors;
using MLNetGpt.Tensors.Cuda;

var (command, options) = ParseArgs(args);
bool cpuAccelerator = options.ContainsKey("cpu-accelerator");
try
{
    return command switch
    {
        "parity" => Parity(cpuAccelerator),
        "train" => Train(options, cpuAccelerator),
        _ => throw new ArgumentException($"Unknown command '{command}'; expected parity or train."),
    };
}
catch (GpuUnavailableException e)
{
    Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?> { ["check"] = command, ["error"] = e.Message }));
    Console.Error.WriteLine(e.Message);
    return 2;
}

static CudaBackend Backend(bool cpuAccelerator, bool tf32) =>
    cpuAccelerator ? CudaBackend.CreateOnCpuAccelerator() : CudaBackend.Create(0, tf32);

static Dictionary<string, object?> Describe(CudaBackend b) => new()
{
    ["device"] = b.DeviceName,
    ["device_memory_gb"] = Math.Round(b.DeviceMemoryBytes / 1e9, 1),
    ["matmul"] = b.MatMulEngine,
    ["libdevice"] = b.UsesLibDevice,
};

// ---- parity ----

static int Parity(bool cpuAccelerator)
{
    // Small but not trivial: odd vocabulary, 3 heads of 16, dropout on (the masks are the same hash on both backends).
    var config = new GptConfig
    {
        VocabularySize = 67, BlockSize = 32, LayerCount = 2, HeadCount = 3, EmbeddingSize = 48, Dropout = 0.1f, Bias = true,
        Activation = Activation.Gelu, TieWeights = true,
    };
    const int B = 4, T = 32;
    var rng = new Random(1);
    var tokens = Enumerable.Range(0, 5000).Select(_ => rng.Next(config.VocabularySize)).ToArray();
    bool pass = true;
    foreach (bool tf32 in cpuAccelerator ? new[] { false } : new[] { false, true })
    {
        using var gpu = Backend(cpuAccelerator, tf32);
        var cpu = CpuBackend.Create();
        var line = Describe(gpu);
        line["check"] = "parity";
        line["tf32"] = tf32;
        var a = GptModel.Create(config, cpu, seed: 3);
        var g = GptModel.Create(config, gpu, seed: 3);
        var x = tokens.AsSpan(0, B * T).ToArray();
        var y = tokens.AsSpan(1, B * T).ToArray();

        var la = new float[B * T * config.VocabularySize];
        var lg = new float[la.Length];
        a.ComputeLogits(x, B, T, la);
        g.ComputeLogits(x, B, T, lg);
        line["logits_max_rel_err"] = MaxRelError(la, lg);

        float lossA = a.ForwardBackward(x, y, B, T, 1f, 99);
        float lossG = g.ForwardBackward(x, y, B, T, 1f, 99);
        line["loss_cpu"] = lossA;
        line["loss_gpu"] = lossG;
        gpu.CopyToHost(g.Gradients.Span);
        string worst = "";
        double worstErr = 0;
        foreach (var s in a.Gradients.Layout.Slices)
        {
            double err = MaxRelError(a.Gradients[s], g.Gradients[s]);
            if (err >= worstErr) { worstErr = err; worst = s.Name; }
        }
        line["grad_max_rel_err"] = worstErr;
        line["grad_worst"] = worst;

        var recipe = new TrainingOptions { MaxIters = 5, BatchSize = B, LearningRate = 1e-3f, WarmupIters = 0, EvalInterval = 0, EvalIters = 1, LogInterval = 1, Seed = 5 };
        var stepsA = Steps(GptModel.Create(config, cpu, seed: 3), tokens, recipe);
        var modelG = GptModel.Create(config, gpu, seed: 3);
        var stepsG = Steps(modelG, tokens, recipe);
        line["adamw_losses_cpu"] = stepsA.Losses;
        line["adamw_losses_gpu"] = stepsG.Losses;
        double stepErr = stepsA.Losses.Zip(stepsG.Losses, (p, q) => Math.Abs(p - q)).Max();
        line["adamw_loss_max_abs_err"] = stepErr;
        gpu.CopyToHost(modelG.Parameters.Span);
        line["weights_after_5_steps_max_rel_err"] = MaxRelError(stepsA.Model.Parameters.Span, modelG.Parameters.Span);

        // FP32 products: differences are summation order only. TF32 rounds the products' inputs to 10 mantissa bits (about
        // 1e-3 relative): reported, not judged.
        double logitsErr = (double)line["logits_max_rel_err"]!;
        bool ok = tf32 || (logitsErr < 1e-4 && Math.Abs(lossA - lossG) < 1e-4 && worstErr < 1e-3 && stepErr < 1e-4);
        line["pass"] = tf32 ? null : ok;
        pass &= ok;
        Console.WriteLine(JsonSerializer.Serialize(line));
    }
    return pass ? 0 : 1;
}

// max |a-b| / max(|a|max, 1e-6): the largest error relative to the tensor's scale
static double MaxRelError(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
{
    double scale = 1e-6, err = 0;
    for (int i = 0; i < a.Length; i++) scale = Math.Max(scale, Math.Abs(a[i]));
    for (int i = 0; i < a.Length; i++) err = Math.Max(err, Math.Abs((double)a[i] - b[i]));
    return err / scale;
}

static (List<float> Losses, GptModel Model) Steps(GptModel model, int[] tokens, TrainingOptions recipe)
{
    var losses = new StepLosses();
    LanguageModelTrainer.Train(model, tokens, null, recipe, losses);
    return (losses.Losses, model);
}

// ---- train ----

static int Train(Dictionary<string, string> o, bool cpuAccelerator)
{
    string name = o.GetValueOrDefault("config", "lecture");
    int Int(string key, int fallback) => o.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
    // nanogpt-cpu and lecture are the PyTorch comparison's recipes (ReferenceRecipes, as train_ref.py); gpt2 is GPT-2 124M
    // (vocabulary 50257, T 1024, B 4) with nanoGPT's train_gpt2 recipe, on the same characters (the ids fit any vocabulary).
    var (modelConfig, recipe) = name == "gpt2"
        ? ((LanguageModelConfig)new GptConfig
        {
            VocabularySize = 50257, BlockSize = 1024, LayerCount = 12, HeadCount = 12, EmbeddingSize = 768, Dropout = 0f, Bias = true,
            Activation = Activation.Gelu, TieWeights = true,
        }, new TrainingOptions
        {
            // B 4: at B 8 the activation arena (one float[] cut at offsets, as on the CPU) would pass 2³¹ floats.
            BatchSize = 4, LearningRate = 6e-4f, MinLearningRate = 6e-5f, WarmupIters = 10, WeightDecay = 0.1f, Beta1 = 0.9f,
            Beta2 = 0.95f, GradientClip = 1f, EvalInterval = 0, LogInterval = 1,
        })
        : (ReferenceRecipes.Get(name).Model, ReferenceRecipes.Get(name).Training);
    int warmup = Int("warmup", 3), iters = Math.Max(2, Int("iters", 20)), evalIters = Int("eval-iters", 0), sampleTokens = Int("sample-tokens", 0);
    int batch = Int("batch", recipe.BatchSize);
    string text = TinyShakespeare.Load(o.GetValueOrDefault("data"));
    var vocab = CharVocabulary.Create(text);
    var (train, val) = DataSplit.TrainValidation(vocab.Encode(text));
    if (modelConfig is GptConfig g && name != "gpt2") modelConfig = g with { VocabularySize = vocab.Size };

    using var backend = Backend(cpuAccelerator, tf32: !o.ContainsKey("fp32"));
    var model = LanguageModel.Create(modelConfig, backend, 1337);
    int total = warmup + iters;
    var options = recipe with
    {
        MaxIters = total, BatchSize = batch, LearningRateDecayIters = recipe.LearningRateDecayIters == 0 ? 0 : total,
        EvalIters = Math.Max(1, evalIters), EvalInterval = Int("eval-interval", 0), LogInterval = 1, Seed = 1337,
    };
    var clock = new StepClock(backend, name, warmup, total);
    var trainer = LanguageModelTrainer.Create(model, train, val, options);
    var result = trainer.Run(clock);
    double seconds = clock.TimedSeconds;
    double? samplePerSecond = null;
    if (sampleTokens > 0)
    {
        var generator = TextGenerator.Create(model, 1);
        var sampling = new SamplingOptions { MaxNewTokens = 20, Temperature = 1f, Seed = 42 };
        generator.Generate([[0]], sampling); // warm-up: the decoder's buffers and the kernels' first launches
        var watch = Stopwatch.StartNew();
        int produced = generator.Generate([[0]], sampling with { MaxNewTokens = sampleTokens })[0].Length;
        samplePerSecond = Math.Round(produced / watch.Elapsed.TotalSeconds, 1); // the logits' copy to the host waits for the GPU
    }
    long tokens = (long)(iters - 1) * batch * model.BlockSize; // the timed steps (see StepClock)
    var line = Describe(backend);
    line["check"] = "train";
    line["config"] = name;
    line["impl"] = "mlnetgpt";
    line["params"] = model.ParameterCount;
    line["batch"] = batch;
    line["block"] = model.BlockSize;
    line["warmup"] = warmup;
    line["iters"] = iters;
    line["tokens_per_s"] = Math.Round(tokens / seconds, 1);
    line["ms_per_iter"] = Math.Round(seconds * 1000 / (iters - 1), 3);
    line["device_allocated_mb"] = Math.Round(backend.AllocatedBytes / 1048576.0, 1);
    line["peak_rss_mb"] = Math.Round(PeakRssMegabytes(), 1);
    line["last_step_loss"] = Math.Round(result.LastStepLoss, 4);
    line["train_loss"] = evalIters > 0 ? Math.Round(result.FinalTrainLoss, 4) : null;
    line["val_loss"] = evalIters > 0 && result.FinalValLoss is { } v ? Math.Round(v, 4) : null;
    line["eval_losses"] = clock.Evaluations;
    line["sample_tokens_per_s"] = samplePerSecond;
    line["host_device_mb"] = Math.Round(backend.TransferredBytes / 1048576.0, 1);
    line["wall_s"] = Math.Round(result.WallTime.TotalSeconds, 2);
    Console.WriteLine(JsonSerializer.Serialize(line));
    return 0;
}

static (string, Dictionary<string, string>) ParseArgs(string[] a)
{
    if (a.Length == 0) throw new ArgumentException("Usage: MLNetGpt.GpuBench parity|train [--option value ...]");
    var d = new Dictionary<string, string>(StringComparer.Ordinal);
    string[] flags = ["cpu-accelerator", "fp32"];
    string[] valued = ["config", "iters", "warmup", "batch", "eval-iters", "eval-interval", "data", "sample-tokens"];
    for (int i = 1; i < a.Length; i++)
    {
        if (!a[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"Unexpected argument '{a[i]}'.");
        string key = a[i][2..];
        if (flags.Contains(key)) { d[key] = "1"; continue; }
        if (!valued.Contains(key)) throw new ArgumentException($"Unknown option --{key}.");
        if (i + 1 >= a.Length) throw new ArgumentException($"Option --{key} needs a value.");
        d[key] = a[++i];
    }
    return (a[0], d);
}

static double PeakRssMegabytes()
{
    foreach (var l in File.ReadLines("/proc/self/status"))
        if (l.StartsWith("VmHWM:", StringComparison.Ordinal))
            return double.Parse(l[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
    return double.NaN;
}

/// <summary>Step losses, reported synchronously (Progress&lt;T&gt; would post them to the thread pool).</summary>
internal sealed class StepLosses : IProgress<TrainingProgress>
{
    public List<float> Losses { get; } = [];
    public void Report(TrainingProgress value) => Losses.Add(value.TrainLoss);
}

/// <summary>
/// Times steps warmup+1 .. total-1: the clock starts when step <c>warmup</c> has been reported and stops when step total-1 has,
/// each time after waiting for the GPU, so that the untimed first steps absorb cuBLAS's and the kernels' first-call costs
/// and the final loss estimate (made before the last step is reported) stays out. Prints progress to stderr every 10%, and
/// each evaluation as a JSON line on stdout at once (a run stopped at its time limit keeps those).
/// </summary>
internal sealed class StepClock(CudaBackend backend, string config, int warmup, int total) : IProgress<TrainingProgress>
{
    private readonly Stopwatch _watch = new();
    public List<object> Evaluations { get; } = [];

    public double TimedSeconds => _watch.Elapsed.TotalSeconds;

    public void Report(TrainingProgress p)
    {
        if (p.ValLoss is not null || p.EvalTrainLoss is not null)
        {
            var evaluation = new { step = p.Step, train = p.EvalTrainLoss, val = p.ValLoss, elapsed_s = Math.Round(p.Elapsed.TotalSeconds, 1) };
            Evaluations.Add(evaluation);
            Console.WriteLine(JsonSerializer.Serialize(new { check = "eval", config, evaluation.step, evaluation.train, evaluation.val, evaluation.elapsed_s }));
        }
        if (p.Step == warmup || (warmup == 0 && p.Step == 1 && !_watch.IsRunning))
        {
            backend.Synchronize();
            _watch.Restart();
        }
        else if (p.Step == total - 1)
        {
            backend.Synchronize();
            _watch.Stop();
        }
        if (total >= 10 && p.Step % Math.Max(1, total / 10) == 0)
            Console.Error.WriteLine($"  step {p.Step}/{total} loss {p.TrainLoss:F4} {(p.ValLoss is { } v ? $"val {v:F4} " : "")}elapsed {p.Elapsed.TotalSeconds:F1}s");
    }
}
