// Reads a pipeline file plus key=value overrides into a PipelineDefinition: strict JSON, every key checked, errors naming key and value.
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using MLNetGpt.Models;
using MLNetGpt.Models.Training;
using MLNetGpt.Tokenizers;

namespace MLNetGpt.Cli.Configuration;

/// <summary>
/// Loads <c>pipelines/*.json</c> and applies overrides such as <c>train.max_iters=500</c>. Unknown keys, values of the
/// wrong type (a number written as a string, a null), missing sections and out-of-range values are errors naming the
/// key, the value and what is allowed, so a typo never trains with a silent default.
/// </summary>
public static class PipelineConfigLoader
{
    /// <summary>Largest pipeline file read: a pipeline is a few hundred bytes.</summary>
    public const long MaxFileBytes = 1 << 20;

    private static readonly string[] Sections = ["data", "tokenizer", "model", "train", "generate"];
    private static readonly string[] RequiredSections = ["tokenizer", "model", "train"];
    private static readonly string[] TopLevelKeys = ["name", "device"];

    internal static readonly JsonSerializerOptions Strict = new()
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Loads <paramref name="path"/> and applies <paramref name="overrides"/>. With <paramref name="baseModel"/> (the
    /// configuration of the model <c>train --init-from</c> starts from), the model section may be left out: the base
    /// model's keys are its values, and keys the file or the overrides set replace them.
    /// </summary>
    /// <exception cref="PipelineConfigException">Missing or oversized file, malformed JSON, unknown key, missing section, or an invalid value.</exception>
    public static PipelineDefinition Load(string path, IEnumerable<string> overrides, LanguageModelConfig? baseModel = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var root = ReadFile(path);
        string where = $"pipeline file '{path}'";
        CheckKeys(root, where);
        foreach (var raw in overrides) ApplyOverride(root, raw);
        if (baseModel is not null) root["model"] = LayerOver(baseModel, root["model"] as JsonObject);
        foreach (var section in RequiredSections)
            if (root[section] is null)
                throw new PipelineConfigException($"The {where} has no '{section}' section; every pipeline names its {section} (see pipelines/*.json and `mlnetgpt keys`)" +
                    (section == "model" ? ", or starts from a model with train --init-from MODEL.zip." : "."));
        var definition = Bind(root);
        Validate(definition);
        return definition;
    }

    /// <summary>The model section of <paramref name="baseModel"/> (every key but vocab_size) with <paramref name="section"/>'s keys over it.</summary>
    private static JsonObject LayerOver(LanguageModelConfig baseModel, JsonObject? section)
    {
        var model = (JsonObject)JsonSerializer.SerializeToNode(baseModel, baseModel.GetType(), Strict)!;
        model.Remove("vocab_size");
        model.Insert(0, "type", baseModel.Kind);
        if (section is not null)
        {
            if (section["type"] is { } type && type.ToJsonString() != model["type"]!.ToJsonString())
                throw new PipelineConfigException($"Key 'model.type' = {type.ToJsonString()} differs from the {baseModel.Kind} model of --init-from; leave the model section out, or set only model.dropout.");
            foreach (var (key, value) in section) model[key] = value?.DeepClone();
        }
        return model;
    }

    private static JsonObject ReadFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new PipelineConfigException($"Pipeline file '{path}' does not exist.");
        if (info.Length > MaxFileBytes) throw new PipelineConfigException($"Pipeline file '{path}' is {info.Length:N0} bytes; a pipeline is at most {MaxFileBytes:N0}.");
        try
        {
            return JsonNode.Parse(File.ReadAllBytes(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip }) as JsonObject
                ?? throw new PipelineConfigException($"Pipeline file '{path}' must hold a JSON object.");
        }
        catch (JsonException e)
        {
            throw new PipelineConfigException($"Pipeline file '{path}' is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Every key with its type and default, as "section.key (type, default X)" lines.</summary>
    public static IEnumerable<string> DescribeKeys()
    {
        foreach (var key in TopLevelKeys) yield return Describe(key, typeof(string), key == "name" ? "pipeline" : "cpu");
        foreach (var section in Sections)
        {
            if (section == "model")
            {
                yield return Describe("model.type", typeof(string), "(required) gpt or bigram");
                foreach (var (name, leaf) in Leaves(typeof(GptConfig)).Where(l => l.Key != "vocab_size"))
                    yield return Describe($"model.{name}", leaf.PropertyType, Default(new GptConfig(), leaf)) + (Leaves(typeof(BigramConfig)).ContainsKey(name) ? "" : "; gpt only");
                continue;
            }
            if (section == "generate") yield return Describe("generate.prompt", typeof(string), "\\n");
            var (type, instance) = SectionType(section);
            foreach (var (name, leaf) in Leaves(type)) yield return Describe($"{section}.{name}", leaf.PropertyType, Default(instance, leaf));
        }

        static string Describe(string key, Type type, object? value) =>
            $"{key} ({TypeName(type)}, default {(value is string s ? s : JsonSerializer.Serialize(value, Strict))})";

        static object? Default(object instance, PropertyInfo p) => p.GetValue(instance);
    }

    private static (Type Type, object Instance) SectionType(string section) => section switch
    {
        "data" => (typeof(DataSection), new DataSection()),
        "tokenizer" => (typeof(TokenizerSection), new TokenizerSection()),
        "train" => (typeof(TrainingOptions), new TrainingOptions()),
        "generate" => (typeof(TextGenerationOptions), new TextGenerationOptions()),
        _ => throw new ArgumentOutOfRangeException(nameof(section), section, "Not a record section."),
    };

    /// <summary>The JSON-named settable properties of a record: the keys of its section.</summary>
    private static Dictionary<string, PropertyInfo> Leaves(Type type)
    {
        var leaves = new Dictionary<string, PropertyInfo>(StringComparer.Ordinal);
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetCustomAttribute<JsonIgnoreAttribute>() is not null || p.SetMethod is null) continue;
            if (p.GetCustomAttribute<JsonPropertyNameAttribute>() is { } name) leaves[name.Name] = p;
        }
        return leaves;
    }

    private static string ModelType(JsonObject root) => root["model"]?["type"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : "gpt";

    /// <summary>The keys allowed in <paramref name="section"/> (for the model section, of the model type in <paramref name="root"/>).</summary>
    private static IReadOnlyCollection<string> AllowedKeys(JsonObject root, string section) => section switch
    {
        "model" => ["type", .. Leaves(ModelType(root) == "bigram" ? typeof(BigramConfig) : typeof(GptConfig)).Keys.Where(k => k != "vocab_size")],
        "generate" => ["prompt", .. Leaves(typeof(TextGenerationOptions)).Keys],
        _ => Leaves(SectionType(section).Type).Keys,
    };

    private static void CheckKeys(JsonObject root, string where)
    {
        foreach (var (key, value) in root)
        {
            if (TopLevelKeys.Contains(key)) continue;
            if (!Sections.Contains(key))
                throw new PipelineConfigException($"Unknown key '{key}' in {where}. Allowed top-level keys: {string.Join(", ", TopLevelKeys.Concat(Sections))}.");
            if (value is not JsonObject section)
                throw new PipelineConfigException($"Key '{key}' in {where} must be an object of settings, got {value?.ToJsonString() ?? "null"}.");
            var allowed = AllowedKeys(root, key);
            foreach (var (leaf, _) in section)
            {
                if (key == "model" && leaf == "vocab_size")
                    throw new PipelineConfigException($"Key 'model.vocab_size' in {where} is not a setting: the vocabulary size comes from the tokenizer.");
                if (!allowed.Contains(leaf))
                    throw new PipelineConfigException($"Unknown key '{key}.{leaf}' in {where}. Allowed keys in '{key}': {string.Join(", ", allowed.Select(a => $"{key}.{a}"))}.");
            }
        }
    }

    private static void ApplyOverride(JsonObject root, string raw)
    {
        int eq = raw.IndexOf('=');
        if (eq <= 0) throw new PipelineConfigException($"Override '{raw}' is not of the form key=value (for example train.max_iters=500).");
        string key = raw[..eq].Trim(), value = raw[(eq + 1)..];
        int dot = key.IndexOf('.');
        if (dot < 0)
        {
            if (!TopLevelKeys.Contains(key))
                throw new PipelineConfigException($"Unknown key '{key}' on the command line. Allowed: {string.Join(", ", TopLevelKeys)}, or section.key with a section of {string.Join(", ", Sections)}.");
            root[key] = value;
            return;
        }
        string section = key[..dot], leaf = key[(dot + 1)..];
        if (!Sections.Contains(section))
            throw new PipelineConfigException($"Unknown key '{key}' on the command line. Sections: {string.Join(", ", Sections)}.");
        if (root[section] is not JsonObject obj) root[section] = obj = new JsonObject();
        if (section == "model" && leaf == "type") { obj["type"] = value; return; }
        if (section == "generate" && leaf == "prompt") { obj["prompt"] = value; return; }
        var type = section == "model"
            ? (ModelType(root) == "bigram" ? typeof(BigramConfig) : typeof(GptConfig))
            : SectionType(section).Type;
        if (!Leaves(type).TryGetValue(leaf, out var property) || (section == "model" && leaf == "vocab_size"))
            throw new PipelineConfigException($"Unknown key '{key}' on the command line. Allowed keys in '{section}': {string.Join(", ", AllowedKeys(root, section).Select(a => $"{section}.{a}"))}.");
        obj[leaf] = ParseValue(value, property.PropertyType, key);
    }

    /// <summary>A command-line value as the JSON value of the key's type.</summary>
    private static JsonNode? ParseValue(string raw, Type type, string key)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        bool nullable = !t.IsValueType || Nullable.GetUnderlyingType(type) is not null;
        if (raw.Length == 0 && nullable && t != typeof(string)) return null;
        var inv = CultureInfo.InvariantCulture;
        if (t == typeof(string)) return raw.Length == 0 && nullable ? null : JsonValue.Create(raw);
        if (t == typeof(int) && int.TryParse(raw, NumberStyles.Integer, inv, out int i)) return i;
        if (t == typeof(long) && long.TryParse(raw, NumberStyles.Integer, inv, out long l)) return l;
        if (t == typeof(ulong) && ulong.TryParse(raw, NumberStyles.Integer, inv, out ulong u)) return u;
        if ((t == typeof(float) || t == typeof(double)) && double.TryParse(raw, NumberStyles.Float, inv, out double d) && double.IsFinite(d)) return d;
        if (t == typeof(bool) && bool.TryParse(raw, out bool b)) return b;
        if (t.IsEnum) return JsonValue.Create(raw);
        if (t == typeof(IReadOnlyList<string>))
        {
            try
            {
                if (raw.StartsWith('[')) return JsonNode.Parse(raw);
            }
            catch (JsonException) { }
            return new JsonArray(JsonValue.Create(raw));
        }
        throw new PipelineConfigException($"Key '{key}' expects {TypeName(type)}, got '{raw}'.");
    }

    private static PipelineDefinition Bind(JsonObject root)
    {
        var model = (JsonObject)(root["model"] ?? new JsonObject()).DeepClone();
        string modelType = ModelType(root);
        model.Remove("type");
        var generate = (JsonObject)(root["generate"] ?? new JsonObject()).DeepClone();
        string prompt = generate["prompt"] is { } p ? Read<string>(p, "generate.prompt") : new GenerateSection().Prompt;
        generate.Remove("prompt");
        var defaults = new PipelineDefinition();
        return new PipelineDefinition
        {
            Name = root["name"] is { } n ? Read<string>(n, "name") : defaults.Name,
            Device = root["device"] is { } dev ? Read<string>(dev, "device") : defaults.Device,
            Data = Section<DataSection>(root["data"], "data"),
            Tokenizer = Section<TokenizerSection>(root["tokenizer"], "tokenizer"),
            Model = modelType switch
            {
                "gpt" => Section<GptConfig>(model, "model"),
                "bigram" => Section<BigramConfig>(model, "model"),
                _ => throw new PipelineConfigException($"Key 'model.type' = '{modelType}' is invalid: expected 'gpt' or 'bigram'."),
            },
            Train = Section<TrainingOptions>(root["train"], "train"),
            Generate = new GenerateSection { Prompt = prompt, Options = Section<TextGenerationOptions>(generate, "generate") },
        };
    }

    private static T Section<T>(JsonNode? node, string section) where T : new()
    {
        if (node is null) return new T();
        try
        {
            return node.Deserialize<T>(Strict) ?? new T();
        }
        catch (JsonException e)
        {
            string leaf = e.Path is { Length: > 2 } path ? path[2..] : "";
            var value = leaf.Length > 0 ? node[leaf.Split('.', '[')[0]] : null;
            var property = Leaves(typeof(T)).GetValueOrDefault(leaf.Split('.', '[')[0]);
            string expects = property is null ? "a valid value" : TypeName(property.PropertyType);
            throw new PipelineConfigException($"Key '{section}.{leaf}' expects {expects}, got {value?.ToJsonString() ?? "null"}.", e);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new PipelineConfigException($"Section '{section}' is invalid: {e.Message}", e);
        }
    }

    private static T Read<T>(JsonNode node, string key)
    {
        try
        {
            return node.Deserialize<T>(Strict) ?? throw new PipelineConfigException($"Key '{key}' expects {TypeName(typeof(T))}, got null.");
        }
        catch (JsonException e)
        {
            throw new PipelineConfigException($"Key '{key}' expects {TypeName(typeof(T))}, got {node.ToJsonString()}.", e);
        }
    }

    private static string TypeName(Type type) => (Nullable.GetUnderlyingType(type) ?? type) switch
    {
        var x when x == typeof(int) || x == typeof(long) || x == typeof(ulong) => "an integer",
        var x when x == typeof(double) || x == typeof(float) => "a number",
        var x when x == typeof(bool) => "true or false",
        var x when x == typeof(IReadOnlyList<string>) => "a list of texts",
        var x when x.IsEnum => $"one of {string.Join(", ", Enum.GetNames(x).Select(n => n.ToLowerInvariant()))}",
        _ => "text",
    };

    /// <summary>Checks that need more than a type; the message names the key and the value.</summary>
    public static void Validate(PipelineDefinition d)
    {
        static void Require(bool ok, string key, object? value, string rule)
        {
            if (!ok) throw new PipelineConfigException($"Key '{key}' = {Format(value)} is invalid: {rule}.");
        }

        Require(IsSafeName(d.Name), "name", d.Name, "use letters, digits, '-', '_' and '.' only (it names the run folder)");
        Require(ComputeDevices.IsKnown(d.Device), "device", d.Device, $"expected {string.Join(" or ", ComputeDevices.Names.Select(n => $"'{n}'"))}");
        Require(d.Data.Source is "tinyshakespeare" or "file", "data.source", d.Data.Source, "expected 'tinyshakespeare' or 'file'");
        Require(d.Data.Source != "file" || !string.IsNullOrEmpty(d.Data.Path), "data.path", d.Data.Path, "data.source 'file' needs a path");
        Require(d.Data.ValFraction > 0 && d.Data.ValFraction < 1, "data.val_fraction", d.Data.ValFraction, "must be in (0, 1)");
        Require(TokenizerTypes.Contains(d.Tokenizer.Type), "tokenizer.type", d.Tokenizer.Type, $"expected {string.Join(", ", TokenizerTypes.Select(t => $"'{t}'"))}");
        Require(d.Tokenizer.VocabSize >= 256, "tokenizer.vocab_size", d.Tokenizer.VocabSize, "must be at least 256 (the byte tokens)");
        Require(IsPattern(d.Tokenizer.Pattern), "tokenizer.pattern", d.Tokenizer.Pattern, "expected 'gpt4' (= 'cl100k'), 'gpt2' or 'none'");
        Check("model", d.Model.GetType(), d.Model, d.Model.Validate);
        Check("train", typeof(TrainingOptions), d.Train, d.Train.Validate);
        Check("generate", typeof(TextGenerationOptions), d.Generate.Options, d.Generate.Options.Validate);
    }

    /// <summary>The tokenizer types a pipeline can name.</summary>
    public static IReadOnlyList<string> TokenizerTypes { get; } = ["char", "bpe", "gpt2", "r50k_base", "cl100k_base", "o200k_base"];

    private static bool IsPattern(string name)
    {
        try
        {
            SplitPattern.FromName(name);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool IsSafeName(string name) =>
        name.Length is > 0 and <= 100 && name != "." && name != ".." && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    // A record's Validate names its property (MaxIters); the message names the key (train.max_iters) instead.
    private static void Check(string section, Type type, object record, Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException e)
        {
            var leaf = Leaves(type).FirstOrDefault(l => l.Value.Name == e.ParamName);
            string key = leaf.Key is null ? section : $"{section}.{leaf.Key}";
            object? value = leaf.Value?.GetValue(record);
            string message = e.Message.Split('\n')[0];
            int paren = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
            if (paren >= 0) message = message[..paren];
            throw new PipelineConfigException($"Key '{key}' = {Format(value)} is invalid: {message}", e);
        }
    }

    private static string Format(object? v) => v switch
    {
        null => "(empty)",
        string s => $"'{s}'",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => JsonSerializer.Serialize(v, Strict),
    };
}
