// `mlnetgpt eval MODEL.zip`: validation loss and perplexity on the held-out end of the corpus (or any text file).
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;

namespace MLNetGpt.Cli.Commands;

/// <summary>Evaluates a saved model's loss and perplexity.</summary>
public static class EvalCommand
{
    /// <summary>
    /// Runs the command; <paramref name="dataPath"/> null means the corpus recorded in the run folder's config.json when the
    /// model sits in one, else Tiny Shakespeare (located as `train` does).
    /// </summary>
    public static int Run(string modelPath, string? dataPath, double valFraction, bool wholeFile, int batchSize, int maxBatches,
        TextWriter output, CancellationToken cancellationToken)
    {
        if (!(valFraction > 0 && valFraction < 1)) throw new CliException($"--val-fraction {valFraction} must be in (0, 1).");
        var model = LoadedModel.Load(modelPath);
        string path = dataPath ?? RunCorpus(modelPath) ?? CorpusFile.LocateTinyShakespeare(null, "--data");
        if (!File.Exists(path)) throw new CliException($"Data file '{path}' does not exist.");
        var ml = model.Context;
        var data = ml.Data.LoadCorpusFromTextFile(path, model.InputSchema.Count > 0 ? model.InputSchema[0].Name : DataCatalogExtensions.DefaultTextColumnName);
        var evalSet = wholeFile ? data : ml.Data.TrainTestSplitContiguous(data, valFraction, data.Schema[0].Name).TestSet;
        var m = ml.TextGeneration.Evaluate(model.Chain, evalSet, batchSize, maxBatches, cancellationToken);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"loss {m.Loss:0.0000}  perplexity {m.Perplexity:0.000}  ({m.PredictedTokens} of {m.TokenCount} tokens scored, {(wholeFile ? "whole file" : $"last {valFraction:P0}")} of {Path.GetFileName(path)})"));
        output.WriteLine(JsonSerializer.Serialize(new { loss = m.Loss, perplexity = m.Perplexity, tokens = m.TokenCount, scored = m.PredictedTokens }));
        return ExitCodes.Ok;
    }

    // A model in a run folder was trained on the corpus its config.json records (train --from is recorded as data.path).
    private static string? RunCorpus(string modelPath)
    {
        string config = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, "config.json");
        if (!File.Exists(config)) return null;
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllText(config));
            return json.RootElement.TryGetProperty("data", out var data) && data.TryGetProperty("path", out var p)
                && p.ValueKind == JsonValueKind.String && File.Exists(p.GetString()) ? p.GetString() : null;
        }
        catch (JsonException) { return null; }
    }
}
