// Writes a PipelineDefinition back to JSON with the same snake_case keys it was read from (the run folder's config.json).
using System.Reflection;
using System.Text.Json.Nodes;

namespace MLNetGpt.Cli.Configuration;

/// <summary>Converts a pipeline definition to a JSON object keyed by its <see cref="ConfigKeyAttribute"/> names.</summary>
public static class ConfigJson
{
    /// <summary>The definition as JSON, every key present.</summary>
    public static JsonObject ToJson(object section)
    {
        var obj = new JsonObject();
        foreach (var p in section.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var attr = p.GetCustomAttribute<ConfigKeyAttribute>();
            if (attr is null) continue;
            var value = p.GetValue(section);
            obj[attr.Name] = value switch
            {
                null => null,
                string s => JsonValue.Create(s),
                int i => JsonValue.Create(i),
                double d => JsonValue.Create(d),
                bool b => JsonValue.Create(b),
                _ => ToJson(value),
            };
        }
        return obj;
    }
}
