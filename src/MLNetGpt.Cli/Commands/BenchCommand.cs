// `mlnetgpt bench`: a quick training and sampling throughput measurement on Tiny Shakespeare, one JSON line per config.
// The configs are the PyTorch comparison's (ReferenceRecipes); bench/compare-pytorch runs that comparison itself.
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
    /// <summary>Runs each config of <see cref="ReferenceRecipes"/> for <paramref name="iters"/> steps and samples <paramref name="sampleTokens"/> tokens.</summary>
    public static int Run(IReadOnlyList<string> configs, int iters, int threads, int sampleTokens, string? dataPath, TextWriter output, CancellationToken ct)
    {
        if (iters < 1) throw new CliException($"--iters {iters} must be positive.");
        foreach (var name in configs)
            if (!ReferenceRecipes.Names.Contains(name)) throw new CliException($"Unknown config '{name}'; expected one of {string.Join(", ", ReferenceRecipes.Names)}.");
        string text = File.ReadAllText(TinyShakespeare.Locate(dataPath));
        var vocabulary = CharVocabulary.Create(text);
        var (train, val) = DataSplit.TrainValidation(vocabulary.Encode(text));
        foreach (var name in configs)
        {
            // The comparison's recipe, shortened to --iters steps (the cosine schedule, where there is one, shortened with it).
            var recipe = ReferenceRecipes.Get(name);
            var backend = CpuBackend.Create(threads);
            var model = LanguageModel.Create(recipe.Model with { VocabularySize = vocabulary.Size }, backend, 1337);
            var options = recipe.Training with
            {
                MaxIters = iters, LearningRateDecayIters = recipe.Training.LearningRateDecayIters == 0 ? 0 : iters,
                WarmupIters = Math.Min(recipe.Training.WarmupIters, iters / 10), EvalIters = 5, Threads = threads,
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
