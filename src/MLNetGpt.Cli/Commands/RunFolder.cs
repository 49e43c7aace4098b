// The run folder of `mlnetgpt train`: config used, log, loss history and curve, checkpoint, model, sample, metrics.
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetGpt.Cli.Configuration;
using MLNetGpt.Cli.Output;
using MLNetGpt.Models.Serialization;

namespace MLNetGpt.Cli.Commands;

/// <summary>Paths and writers of one training run's folder. Every file is written atomically.</summary>
public sealed class RunFolder
{
    private RunFolder(string path) => Path = System.IO.Path.GetFullPath(path);

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>The resolved pipeline used by the run (re-read by <c>train --resume</c>).</summary>
    public string ConfigPath => Combine("config.json");
    /// <summary>The training checkpoint (model, optimizer, step, RNG).</summary>
    public string CheckpointPath => Combine("checkpoint.bin");
    /// <summary>The trained pipeline as one .zip.</summary>
    public string ModelPath => Combine("model.zip");
    /// <summary>Loss estimates, one JSON object per evaluation.</summary>
    public string LossHistoryPath => Combine("losses.jsonl");
    /// <summary>The loss curve picture.</summary>
    public string LossCurvePath => Combine("loss.svg");
    /// <summary>Generated text after training.</summary>
    public string SamplePath => Combine("sample.txt");
    /// <summary>Final metrics.</summary>
    public string MetricsPath => Combine("metrics.json");
    /// <summary>The plain-text log.</summary>
    public string LogPath => Combine("train.log");

    private string Combine(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Creates (or reuses) a run folder.</summary>
    public static RunFolder Create(string path)
    {
        Directory.CreateDirectory(path);
        return new RunFolder(path);
    }

    /// <summary>An existing run folder for <c>--resume</c>; it must hold config.json and checkpoint.bin.</summary>
    public static RunFolder OpenForResume(string path)
    {
        var run = new RunFolder(path);
        if (!Directory.Exists(run.Path)) throw new CliException($"Run folder '{path}' does not exist.");
        if (!File.Exists(run.ConfigPath)) throw new CliException($"Run folder '{path}' has no config.json; it was not written by `mlnetgpt train`.");
        if (!File.Exists(run.CheckpointPath)) throw new CliException($"Run folder '{path}' has no checkpoint.bin to resume from.");
        return run;
    }

    /// <summary>Writes the resolved pipeline as JSON with every key.</summary>
    public void WriteConfig(PipelineDefinition definition) =>
        AtomicFile.Write(ConfigPath, s => JsonSerializer.Serialize(s, ConfigJson.ToJson(definition), new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>Reads the loss history, keeping only entries up to <paramref name="maxStep"/> (a resumed run rewrites later ones).</summary>
    public List<(int Step, double Train, double? Val)> ReadLossHistory(int maxStep)
    {
        var list = new List<(int, double, double?)>();
        if (!File.Exists(LossHistoryPath)) return list;
        foreach (var line in File.ReadLines(LossHistoryPath))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            var node = JsonNode.Parse(line)!;
            int step = node["step"]!.GetValue<int>();
            if (step > maxStep) continue;
            list.Add((step, node["train"]!.GetValue<double>(), node["val"]?.GetValue<double>()));
        }
        return list;
    }

    /// <summary>Rewrites the loss history and the SVG curve.</summary>
    public void WriteLosses(string title, IReadOnlyList<(int Step, double Train, double? Val)> history)
    {
        var sb = new StringBuilder();
        foreach (var (step, train, val) in history)
            sb.Append(CultureInfo.InvariantCulture, $"{{\"step\":{step},\"train\":{train:R}{(val is { } v ? $",\"val\":{v.ToString("R", CultureInfo.InvariantCulture)}" : "")}}}\n");
        AtomicFile.Write(LossHistoryPath, s => s.Write(Encoding.UTF8.GetBytes(sb.ToString())));
        var svg = SvgLossCurve.Render(title,
        [
            ("train", history.Select(h => new LossPoint(h.Step, h.Train)).ToList()),
            ("val", history.Where(h => h.Val.HasValue).Select(h => new LossPoint(h.Step, h.Val!.Value)).ToList()),
        ]);
        AtomicFile.Write(LossCurvePath, s => s.Write(Encoding.UTF8.GetBytes(svg)));
    }

    /// <summary>Writes a UTF-8 text file in the folder atomically.</summary>
    public static void WriteText(string path, string text) => AtomicFile.Write(path, s => s.Write(new UTF8Encoding(false).GetBytes(text)));
}
