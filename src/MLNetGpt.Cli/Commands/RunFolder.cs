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

    /// <summary>The run folder at <paramref name="path"/>, without creating or checking anything.</summary>
    public static RunFolder ForPath(string path) => new(path);

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

    /// <summary>The files a run writes, in the order a finished run writes its last ones (metrics.json last).</summary>
    private IEnumerable<string> RunFiles =>
        [ConfigPath, LogPath, LossHistoryPath, LossCurvePath, CheckpointPath, ModelPath, SamplePath, MetricsPath];

    /// <summary>
    /// Refuses a folder that already holds a run (a checkpoint or a model): a new run there would overwrite them. An empty
    /// folder, or one left by a run that failed before its first checkpoint, is fine.
    /// </summary>
    public static void CheckFreeForNewRun(string path)
    {
        if (File.Exists(path)) throw new CliException($"--out '{path}' is a file, not a folder.");
        var run = new RunFolder(path);
        var held = new[] { run.CheckpointPath, run.ModelPath }.Where(File.Exists).Select(System.IO.Path.GetFileName).ToList();
        if (held.Count > 0)
            throw new CliException(
                $"'{path}' already holds a training run ({string.Join(", ", held)}); a new run there would overwrite it. " +
                $"Continue it with `mlnetgpt train --resume {path}`, or pass another --out.");
    }

    /// <summary>Creates (or reuses, when empty of runs: see <see cref="CheckFreeForNewRun"/>) a run folder; <paramref name="created"/> says whether it is new.</summary>
    public static RunFolder Create(string path, out bool created)
    {
        CheckFreeForNewRun(path);
        created = !Directory.Exists(path);
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

    /// <summary>
    /// True when the run ended at <paramref name="step"/> and wrote everything: model.zip exists and metrics.json (the
    /// last file a run writes) records that step. A run killed during its final save is not finished.
    /// </summary>
    public bool IsFinishedAt(int step)
    {
        if (!File.Exists(ModelPath) || !File.Exists(MetricsPath)) return false;
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(MetricsPath));
            return node?["steps"]?.GetValue<int>() == step;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or IOException)
        {
            return false;
        }
    }

    /// <summary>Deletes temporary files that killed writers left in the folder (see <see cref="AtomicFile.RemoveStaleTemporaries"/>).</summary>
    public int RemoveStaleTemporaries() => AtomicFile.RemoveStaleTemporaries(Path);

    /// <summary>
    /// Undoes a new run that failed before writing a checkpoint: deletes the files it wrote and, when
    /// <paramref name="created"/>, the folder if nothing else is in it. A run with a checkpoint is left for --resume.
    /// </summary>
    public void DiscardFailedStart(bool created)
    {
        if (File.Exists(CheckpointPath)) return;
        foreach (var file in RunFiles)
        {
            try { File.Delete(file); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        RemoveStaleTemporaries();
        if (created && Directory.Exists(Path) && !Directory.EnumerateFileSystemEntries(Path).Any())
        {
            try { Directory.Delete(Path); }
            catch (IOException) { }
        }
    }

    /// <summary>Writes the resolved pipeline as JSON with every key.</summary>
    public void WriteConfig(PipelineDefinition definition) =>
        AtomicFile.Write(ConfigPath, s => JsonSerializer.Serialize(s, ConfigJson.ToJson(definition), new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>
    /// Reads the loss history. A line that is not a valid entry (hand-edited, or NaN written by an older MLNetGpt) is
    /// skipped and reported through <paramref name="warn"/>: the history only draws the curve.
    /// </summary>
    public List<(int Step, double Train, double? Val)> ReadLossHistory(Action<string>? warn = null)
    {
        var list = new List<(int, double, double?)>();
        if (!File.Exists(LossHistoryPath)) return list;
        int lineNumber = 0;
        foreach (var line in File.ReadLines(LossHistoryPath))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                var node = JsonNode.Parse(line)!;
                int step = node["step"]!.GetValue<int>();
                double train = node["train"]!.GetValue<double>();
                double? val = node["val"]?.GetValue<double>();
                if (step < 0 || !double.IsFinite(train) || (val is { } v && !double.IsFinite(v))) throw new FormatException("not finite");
                list.Add((step, train, val));
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NullReferenceException)
            {
                warn?.Invoke($"{LossHistoryPath} line {lineNumber} is not a loss entry; skipped.");
            }
        }
        return list;
    }

    /// <summary>Rewrites the loss history and the SVG curve.</summary>
    public void WriteLosses(string title, IReadOnlyList<(int Step, double Train, double? Val)> history)
    {
        var sb = new StringBuilder();
        foreach (var (step, train, val) in history)
        {
            // The trainer stops on a non-finite loss before reporting it; JSON has no NaN, so never write one.
            if (!double.IsFinite(train) || (val is { } bad && !double.IsFinite(bad)))
                throw new InvalidOperationException($"Loss at step {step} is not finite; it is not written to {LossHistoryPath}.");
            sb.Append(CultureInfo.InvariantCulture, $"{{\"step\":{step},\"train\":{train:R}{(val is { } v ? $",\"val\":{v.ToString("R", CultureInfo.InvariantCulture)}" : "")}}}\n");
        }
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
