// Writes a PipelineDefinition back as pipeline JSON with every key (the run folder's config.json, re-read by train --resume).
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetGpt.Cli.Configuration;

/// <summary>Converts a pipeline definition to the JSON object a pipeline file holds, every key present.</summary>
public static class ConfigJson
{
    /// <summary>The definition as a pipeline JSON object.</summary>
    public static JsonObject ToJson(PipelineDefinition d)
    {
        var options = PipelineConfigLoader.Strict;
        var model = (JsonObject)JsonSerializer.SerializeToNode(d.Model, d.Model.GetType(), options)!;
        model.Remove("vocab_size");
        model.Insert(0, "type", d.Model.Kind);
        var generate = (JsonObject)JsonSerializer.SerializeToNode(d.Generate.Options, options)!;
        generate.Insert(0, "prompt", d.Generate.Prompt);
        return new JsonObject
        {
            ["name"] = d.Name,
            ["device"] = d.Device,
            ["data"] = JsonSerializer.SerializeToNode(d.Data, options),
            ["tokenizer"] = JsonSerializer.SerializeToNode(d.Tokenizer, options),
            ["model"] = model,
            ["train"] = JsonSerializer.SerializeToNode(d.Train, options),
            ["generate"] = generate,
        };
    }
}
