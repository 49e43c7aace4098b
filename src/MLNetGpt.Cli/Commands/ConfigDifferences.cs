// Which pipeline keys differ between two resolved pipelines (config.json as saved vs. with --resume's overrides applied).
using System.Text.Json.Nodes;

namespace MLNetGpt.Cli.Commands;

/// <summary>One key whose value differs: "model.n_embd 16 -> 64".</summary>
/// <param name="Key">The dotted pipeline key.</param>
/// <param name="Before">The value before (JSON), or "(none)".</param>
/// <param name="After">The value after (JSON), or "(none)".</param>
public sealed record ConfigDifference(string Key, string Before, string After)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Key} {Before} -> {After}";
}

/// <summary>Compares pipeline JSON objects key by key.</summary>
public static class ConfigDifferences
{
    /// <summary>Every leaf key whose value differs between <paramref name="before"/> and <paramref name="after"/>, in key order.</summary>
    public static List<ConfigDifference> Between(JsonObject before, JsonObject after)
    {
        var list = new List<ConfigDifference>();
        Walk(before, after, "", list);
        return list;
    }

    /// <summary>
    /// Keys a <c>--resume</c> may change: the recipe (train.*), sampling (generate.*), the device, and the corpus location
    /// (data.path; its content is still checked against the checkpoint's fingerprint).
    /// </summary>
    public static bool MayChangeOnResume(string key) =>
        key.StartsWith("train.", StringComparison.Ordinal) || key.StartsWith("generate.", StringComparison.Ordinal) || key is "device" or "data.path";

    private static void Walk(JsonNode? a, JsonNode? b, string prefix, List<ConfigDifference> list)
    {
        if (a is JsonObject x && b is JsonObject y)
        {
            foreach (var key in x.Select(p => p.Key).Union(y.Select(p => p.Key)))
                Walk(x[key], y[key], prefix.Length == 0 ? key : $"{prefix}.{key}", list);
            return;
        }
        if (!JsonNode.DeepEquals(a, b)) list.Add(new ConfigDifference(prefix, a?.ToJsonString() ?? "(none)", b?.ToJsonString() ?? "(none)"));
    }
}
