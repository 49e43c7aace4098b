// Entry point for the child-process mode: `dotnet MLNetGpt.Tests.dll load-and-generate MODEL.zip PROMPTS.json OUT.json`
// loads a saved model in a fresh runtime with plain mlContext.Model.Load and writes what Transform and PredictionEngine produce.
using System.Text.Json;
using Microsoft.ML;

namespace MLNetGpt.Tests;

public static class Program
{
    public static int Main(string[] args)
    {
        if (args is not ["load-and-generate", var modelPath, var promptsPath, var outputPath])
        {
            Console.Error.WriteLine("usage: load-and-generate MODEL.zip PROMPTS.json OUT.json (the tests run through dotnet test)");
            return 2;
        }
        // Nothing of MLNetGpt may be touched before Model.Load: the point is that loading needs no registration call.
        bool loadedBefore = AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "MLNetGpt");
        var prompts = JsonSerializer.Deserialize<string[]>(File.ReadAllText(promptsPath))!;
        var ml = new MLContext(seed: 7);
        ITransformer model;
        try
        {
            model = ml.Model.Load(modelPath, out _);
        }
        catch (Exception e)
        {
            while (e.InnerException is { } inner) e = inner;
            File.WriteAllText(outputPath, JsonSerializer.Serialize(new { error = $"{e.GetType().Name}: {e.Message}", loadedBefore }));
            return 1;
        }
        var data = ml.Data.LoadFromEnumerable(prompts.Select(p => new PromptRow { Text = p }));
        var viaTransform = ml.Data.CreateEnumerable<GeneratedRow>(model.Transform(data), reuseRowObject: false).Select(r => r.Generated).ToArray();
        using var engine = ml.Model.CreatePredictionEngine<PromptRow, GeneratedRow>(model);
        var viaEngine = prompts.Select(p => engine.Predict(new PromptRow { Text = p }).Generated).ToArray();
        File.WriteAllText(outputPath, JsonSerializer.Serialize(new { transform = viaTransform, engine = viaEngine, loadedBefore }));
        return 0;
    }
}
