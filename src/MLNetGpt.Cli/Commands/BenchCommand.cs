// `mlnetgpt bench`: a quick training and sampling throughput measurement on Tiny Shakespeare, one JSON line per config.
// The side-by-side comparison with PyTorch is bench/compare-pytorch; this command is the in-product smoke benchmark.
using System.Diagnostics;
using System.Text.Json;
using MLNetGpt.Models;
using MLNetGpt.Models.Data;
using MLNetGpt.Models.Sampling;
using MLNetGpt.Models.Training;
using MLNetGpt.Tensors;

namespace MLNetGpt.Cli.Commands;

/// <summary>Training and KV-cache sampling throughput on the configs of the PyTorch comparison.</summary>
public static class BenchCommand
{
    /// <summary>The benchmark configs by name (the issue's nanogpt-cpu, seed-tiny, lecture and bigram).</summary>
    public static readonly IReadOnlyDictionary<string, (LanguageModelConfig Model, int Batch, float LearningRate)> Configs =
        new Dictionary<string, (LanguageModelConfig, int, float)>
        {
            ["nanogpt-cpu"] = (new GptConfig { LayerCount = 4, HeadCount = 4, EmbeddingSize = 128, BlockSize = 64, Activation = Activation.Gelu }, 12, 1e-3f),
            ["seed-tiny"] = (new GptConfig { LayerCount = 6, HeadCount = 4, EmbeddingSize = 32, BlockSize = 8, Activation = Activation.Relu, TieWeights = false }, 32, 1e-3f),
            ["lecture"] = (new GptConfig { LayerCount = 6, HeadCount = 6, EmbeddingSize = 384, BlockSize = 256, Activation = Activation.Relu, Dropout = 0.2f, Bias = true, TieWeights = false }, 64, 3e-4f),
            ["bigram"] = (new BigramConfig { BlockSize = 8 }, 32, 1e-2f),
        };

    /// <summary>Runs each config for <paramref name="iters"/> steps and samples <paramref name="sampleTokens"/> tokens.</summary>
    public static int Run(IReadOnlyList<string> configs, int iters, int threads, int sampleTokens, string? dataPath, TextWriter output, CancellationToken ct)
    {
        if (iters < 1) throw new CliException($"--iters {iters} must be positive.");
        foreach (var name in configs)
            if (!Configs.ContainsKey(name)) throw new CliException($"Unknown config '{name}'; expected one of {string.Join(", ", Configs.Keys)}.");
        string text = File.ReadAllText(TinyShakespeare.Locate(dataPath));
        var vocabulary = CharVocabulary.Create(text);
        var (train, val) = DataSplit.TrainValidation(vocabulary.Encode(text));
        foreach (var name in configs)
        {
            var (config, batch, lr) = Configs[name];
            config = config with { VocabularySize = vocabulary.Size };
            var backend = CpuBackend.Create(threads);
            var model = LanguageModel.Create(config, backend, 1337);
            var options = new TrainingOptions
            {
                MaxIters = iters, BatchSize = batch, BlockSize = config.BlockSize, LearningRate = lr, MinLearningRate = lr / 10,
                WarmupIters = Math.Min(100, iters / 10), EvalInterval = iters, EvalIters = 5, Threads = threads,
            };
            var result = LanguageModelTrainer.Train(model, train, val, options, null, ct);
            var generator = TextGenerator.Create(model, 1);
            var prompt = new[] { vocabulary.Encode("\n")[0] };
            var sampling = new SamplingOptions { MaxNewTokens = sampleTokens, Temperature = 1f, Seed = 42 };
            generator.Generate(prompt, sampling with { MaxNewTokens = Math.Min(10, sampleTokens) }, 0, ct); // warm-up
            var sw = Stopwatch.StartNew();
            var tokens = generator.Generate(prompt, sampling, 0, ct);
            double sampleRate = tokens.Length / sw.Elapsed.TotalSeconds;
            output.WriteLine(JsonSerializer.Serialize(new
            {
                config = name, impl = "mlnetgpt", threads = backend.ThreadCount, iters,
                tokens_per_s = Math.Round(result.TokensPerSecond, 1), ms_per_iter = Math.Round(result.MillisecondsPerIter, 3),
                train_loss = Math.Round(result.FinalTrainLoss, 4), val_loss = result.FinalValLoss is { } v ? Math.Round(v, 4) : (double?)null,
                sample_tokens_per_s = Math.Round(sampleRate, 1), peak_rss_mb = Math.Round(PeakMemory.Megabytes(), 1),
                parameters = model.ParameterCount,
            }));
        }
        return ExitCodes.Ok;
    }
}
