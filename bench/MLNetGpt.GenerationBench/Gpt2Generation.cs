// GPT-2 generation speed, our side of bench/gpt2-generate: import a Hugging Face GPT-2 folder, then greedy KV-cache decoding
// of one row (the same 16-token prompt as bench/pytorch/gpt2_generate_ref.py), best of N runs, as one JSON line.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MLNetGpt.Models.HuggingFace;
using MLNetGpt.Models.Sampling;
using MLNetGpt.Tensors;

internal static class Gpt2Generation
{
    // The 16 GPT-2 ids of gpt2_generate_ref.py's PROMPT.
    private static readonly int[] Prompt = [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13, 198, 198, 464, 2068, 7586, 21831];

    public static int Run(string[] args)
    {
        string? folder = null;
        int threads = 1, newTokens = 128, repeats = 3;
        for (int i = 0; i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length) throw new ArgumentException($"Option '{args[i]}' needs a value.");
            string v = args[i + 1];
            switch (args[i])
            {
                case "--folder": folder = v; break;
                case "--threads": threads = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--new-tokens": newTokens = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--repeats": repeats = int.Parse(v, CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'; known: --folder --threads --new-tokens --repeats.");
            }
        }
        if (folder is null) throw new ArgumentException("gpt2 mode needs --folder DIR (a Hugging Face GPT-2 folder).");

        var load = Stopwatch.StartNew();
        var model = Gpt2Checkpoint.Load(folder, CpuBackend.Create(threads));
        double loadSeconds = load.Elapsed.TotalSeconds;
        var generator = TextGenerator.Create(model, 1);
        var greedy = new SamplingOptions { Temperature = 0f };
        generator.Generate(Prompt, greedy with { MaxNewTokens = 32 }); // warm-up: JIT tiers, packed weights, worker threads
        double best = double.MaxValue;
        int[] tokens = [];
        for (int r = 0; r < repeats; r++)
        {
            var watch = Stopwatch.StartNew();
            tokens = generator.Generate(Prompt, greedy with { MaxNewTokens = newTokens });
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["side"] = "mlnetgpt",
            ["threads"] = threads,
            ["simd"] = ((CpuBackend)model.Backend).Width.ToString(),
            ["prompt_tokens"] = Prompt.Length,
            ["new_tokens"] = newTokens,
            ["seconds"] = Math.Round(best, 4),
            ["tokens_per_s"] = Math.Round(newTokens / best, 2),
            ["load_s"] = Math.Round(loadSeconds, 3),
            ["peak_rss_mb"] = Math.Round(PeakRssMegabytes(), 1),
            ["first_tokens"] = tokens.Take(8).ToArray(),
        }));
        return 0;
    }

    /// <summary>VmHWM of this process in MiB (Linux), else the peak working set.</summary>
    private static double PeakRssMegabytes()
    {
        if (File.Exists("/proc/self/status"))
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        return Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
    }
}
