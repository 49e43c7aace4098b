// `mlnetgpt info MODEL.zip`: what is inside a model: input columns, steps, parameter count, config, tokenizer, generation settings.
using System.Text.Json;
using Microsoft.ML;

namespace MLNetGpt.Cli.Commands;

/// <summary>Describes a saved model.</summary>
public static class InfoCommand
{
    /// <summary>Prints the model's input schema, its steps and the generation step's details.</summary>
    public static int Run(string modelPath, TextWriter output)
    {
        var model = LoadedModel.Load(modelPath);
        output.WriteLine($"model      {Path.GetFullPath(modelPath)}");
        output.WriteLine($"format     ML.NET model .zip ({new FileInfo(modelPath).Length:N0} bytes)");
        output.WriteLine($"input      {string.Join(", ", model.InputSchema.Select(c => $"{c.Name}: {c.Type}"))}");
        output.WriteLine("steps:");
        int i = 0;
        foreach (var step in Steps(model.Chain))
            output.WriteLine($"  [{i++}] {Describe(step)}");
        var g = model.Generator;
        output.WriteLine($"kind       {g.Model.Kind}");
        output.WriteLine($"parameters {g.ParameterCount:N0}");
        output.WriteLine($"tokenizer  {g.Tokenizer.GetType().Name}, vocabulary {g.Model.VocabularySize}");
        output.WriteLine($"config     {g.Config.ToJson()}");
        // Unescaped, so that a stop sequence such as <|endoftext|> reads as itself.
        output.WriteLine($"generation {JsonSerializer.Serialize(g.Options, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })}");
        return ExitCodes.Ok;
    }

    private static IEnumerable<ITransformer> Steps(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Steps) : [model];

    private static string Describe(ITransformer step) => step switch
    {
        TextTokenizingTransformer t => $"{nameof(TextTokenizingTransformer)}: {t.InputColumnName} -> {t.OutputColumnName} ({t.Tokenizer.GetType().Name})",
        TextGenerationTransformer g => $"{nameof(TextGenerationTransformer)}: {g.Columns.TokenColumnName} -> {g.Columns.OutputColumnName}",
        _ => step.GetType().Name,
    };
}
