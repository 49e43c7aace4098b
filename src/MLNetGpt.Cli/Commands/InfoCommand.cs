// `mlnetgpt info MODEL.zip`: what is inside a model: steps, their options, parameter count, config, tokenizer.
using System.Text.Json;
using MLNetGpt.Pipelines;

namespace MLNetGpt.Cli.Commands;

/// <summary>Describes a saved model.</summary>
public static class InfoCommand
{
    /// <summary>Prints the manifest summary and the generation step's details.</summary>
    public static int Run(string modelPath, TextWriter output)
    {
        var model = LoadedModel.Load(modelPath);
        var info = model.Context.Model.Inspect(modelPath);
        output.WriteLine($"model      {Path.GetFullPath(modelPath)}");
        output.WriteLine($"format     mlnetgpt-model v{info.Version}");
        output.WriteLine($"input      {string.Join(", ", info.InputSchema.Select(c => $"{c.Name}: {c.Type}"))}");
        output.WriteLine("steps:");
        foreach (var step in info.Steps)
            output.WriteLine($"  [{step.Index}] {step.Loader} v{step.LoaderVersion}  {step.Options.ToJsonString()}");
        var g = model.Generator;
        output.WriteLine($"kind       {g.Model.Kind}");
        output.WriteLine($"parameters {g.ParameterCount:N0}");
        output.WriteLine($"tokenizer  {g.Tokenizer.GetType().Name}, vocabulary {g.Tokenizer.VocabularySize}");
        output.WriteLine($"config     {g.Config.ToJson()}");
        output.WriteLine($"generation {JsonSerializer.Serialize(g.Options)}");
        return ExitCodes.Ok;
    }
}
