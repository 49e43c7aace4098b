// `mlnetgpt eval MODEL.zip`: validation loss and perplexity on the held-out end of the corpus (or any text file).
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using MLNetGpt.Models.Data;

namespace MLNetGpt.Cli.Commands;

/// <summary>Evaluates a saved model's loss and perplexity.</summary>
public static class EvalCommand
{
    /// <summary>Runs the command; <paramref name="dataPath"/> null means Tiny Shakespeare (located as `train` does).</summary>
    public static int Run(string modelPath, string? dataPath, double valFraction, bool wholeFile, int batchSize, int maxBatches,
        TextWriter output, CancellationToken cancellationToken)
    {
        if (!(valFraction > 0 && valFraction < 1)) throw new CliException($"--val-fraction {valFraction} must be in (0, 1).");
        var model = LoadedModel.Load(modelPath);
        string path = dataPath ?? TinyShakespeare.Locate();
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
}
