// Loads a pipeline file with key=value overrides through Microsoft.Extensions.Configuration, then validates every key and type.
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace MLNetGpt.Cli.Configuration;

/// <summary>
/// Reads <c>pipelines/*.json</c> and applies overrides such as <c>train.max_iters=500</c>. Unknown keys and values of the
/// wrong type are errors naming the key, the value and the allowed keys, so a typo never trains with a silent default.
/// </summary>
public static class PipelineConfigLoader
{
    /// <summary>Loads <paramref name="path"/> (may be null for pure defaults) and applies <paramref name="overrides"/>.</summary>
    /// <exception cref="PipelineConfigException">Missing file, malformed JSON, unknown key, or a value of the wrong type.</exception>
    public static PipelineDefinition Load(string? path, IEnumerable<string> overrides)
    {
        var builder = new ConfigurationBuilder();
        IConfiguration? fileConfig = null;
        if (path is not null)
        {
            var full = Path.GetFullPath(path);
            if (!File.Exists(full)) throw new PipelineConfigException($"Pipeline file '{path}' does not exist.");
            try
            {
                fileConfig = new ConfigurationBuilder().AddJsonFile(full, optional: false, reloadOnChange: false).Build();
            }
            catch (Exception e) when (e is FormatException or InvalidDataException or System.Text.Json.JsonException)
            {
                throw new PipelineConfigException($"Pipeline file '{path}' is not valid JSON: {Inner(e).Message}", e);
            }
            builder.AddConfiguration(fileConfig);
            CheckKeys(fileConfig.AsEnumerable(), $"pipeline file '{path}'");
        }

        var args = new List<string>();
        foreach (var raw in overrides)
        {
            int eq = raw.IndexOf('=');
            if (eq <= 0) throw new PipelineConfigException($"Override '{raw}' is not of the form key=value (for example train.max_iters=500).");
            string key = raw[..eq].Trim(), value = raw[(eq + 1)..];
            CheckKey(key.Replace('.', ':'), "the command line");
            args.Add($"{key.Replace('.', ':')}={value}");
        }
        builder.AddCommandLine([.. args]);
        var config = builder.Build();

        var definition = new PipelineDefinition();
        Bind(definition, config, prefix: "");
        Validate(definition);
        return definition;
    }

    /// <summary>Every key with its description, as "section.key: description" lines.</summary>
    public static IEnumerable<string> DescribeKeys()
    {
        foreach (var (key, prop) in LeafKeys(typeof(PipelineDefinition), ""))
            yield return $"{key.Replace(':', '.')} ({TypeName(prop.PropertyType)}): {prop.GetCustomAttribute<ConfigKeyAttribute>()!.Description}";
    }

    private static void CheckKeys(IEnumerable<KeyValuePair<string, string?>> pairs, string where)
    {
        foreach (var (key, value) in pairs)
        {
            // Section keys appear with a null value; leaves carry a value (JSON null becomes "").
            if (value is null && IsSection(key)) continue;
            CheckKey(key, where);
        }
    }

    private static bool IsSection(string key) =>
        Known.Value.Sections.Contains(key);

    private static void CheckKey(string key, string where)
    {
        if (Known.Value.Leaves.ContainsKey(key)) return;
        int colon = key.LastIndexOf(':');
        string section = colon < 0 ? "" : key[..colon];
        var allowed = Known.Value.Leaves.Keys.Where(k => (k.LastIndexOf(':') < 0 ? "" : k[..k.LastIndexOf(':')]) == section)
            .Select(k => k.Replace(':', '.')).ToList();
        if (allowed.Count == 0)
            allowed = [.. Known.Value.Sections.Select(s => s.Replace(':', '.')), .. Known.Value.Leaves.Keys.Where(k => !k.Contains(':'))];
        throw new PipelineConfigException(
            $"Unknown key '{key.Replace(':', '.')}' in {where}. Allowed keys{(section.Length > 0 ? $" in '{section.Replace(':', '.')}'" : "")}: {string.Join(", ", allowed)}.");
    }

    private static readonly Lazy<(Dictionary<string, PropertyInfo> Leaves, HashSet<string> Sections)> Known = new(() =>
    {
        var leaves = new Dictionary<string, PropertyInfo>(StringComparer.OrdinalIgnoreCase);
        foreach (var (k, p) in LeafKeys(typeof(PipelineDefinition), "")) leaves[k] = p;
        var sections = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in typeof(PipelineDefinition).GetProperties())
            if (IsSectionType(p.PropertyType)) sections.Add(p.GetCustomAttribute<ConfigKeyAttribute>()!.Name);
        return (leaves, sections);
    });

    private static IEnumerable<(string Key, PropertyInfo Property)> LeafKeys(Type type, string prefix)
    {
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var attr = p.GetCustomAttribute<ConfigKeyAttribute>();
            if (attr is null) continue;
            string key = prefix + attr.Name;
            if (IsSectionType(p.PropertyType))
                foreach (var leaf in LeafKeys(p.PropertyType, key + ":")) yield return leaf;
            else
                yield return (key, p);
        }
    }

    private static bool IsSectionType(Type t) => t.IsClass && t != typeof(string);

    private static void Bind(object target, IConfiguration config, string prefix)
    {
        foreach (var p in target.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var attr = p.GetCustomAttribute<ConfigKeyAttribute>();
            if (attr is null) continue;
            string key = prefix + attr.Name;
            if (IsSectionType(p.PropertyType)) { Bind(p.GetValue(target)!, config, key + ":"); continue; }
            string? raw = config[key];
            if (raw is null) continue; // keep the default
            p.SetValue(target, Parse(raw, p.PropertyType, key));
        }
    }

    private static object? Parse(string raw, Type type, string key)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (type == typeof(string)) return raw.Length == 0 ? (object?)null : raw;
        if (underlying is not null && raw.Length == 0) return null;
        var t = underlying ?? type;
        string dotted = key.Replace(':', '.');
        if (t == typeof(int) && int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i)) return i;
        if (t == typeof(double) && double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d)) return d;
        if (t == typeof(bool) && bool.TryParse(raw, out bool b)) return b;
        throw new PipelineConfigException($"Key '{dotted}' expects {TypeName(type)}, got '{raw}'.");
    }

    private static string TypeName(Type t) => (Nullable.GetUnderlyingType(t) ?? t) switch
    {
        var x when x == typeof(int) => "an integer",
        var x when x == typeof(double) => "a number",
        var x when x == typeof(bool) => "true or false",
        _ => "text",
    };

    private static Exception Inner(Exception e) => e.InnerException is { } i ? i : e;

    /// <summary>Range and enumeration checks that need more than a type: the message names the key and the value.</summary>
    public static void Validate(PipelineDefinition d)
    {
        static void Require(bool ok, string key, object? value, string rule)
        {
            if (!ok) throw new PipelineConfigException($"Key '{key}' = {Format(value)} is invalid: {rule}.");
        }
        static string Format(object? v) => v switch { null => "(empty)", string s => $"'{s}'", IFormattable f => f.ToString(null, CultureInfo.InvariantCulture), _ => v.ToString() ?? "" };

        Require(d.Data.Source is "tinyshakespeare" or "file", "data.source", d.Data.Source, "expected 'tinyshakespeare' or 'file'");
        Require(d.Data.Source != "file" || !string.IsNullOrEmpty(d.Data.Path), "data.path", d.Data.Path, "data.source 'file' needs a path");
        Require(d.Data.ValFraction > 0 && d.Data.ValFraction < 1, "data.val_fraction", d.Data.ValFraction, "must be in (0, 1)");
        Require(d.Tokenizer.Type is "char" or "bpe" or "gpt2" or "cl100k_base", "tokenizer.type", d.Tokenizer.Type, "expected 'char', 'bpe', 'gpt2' or 'cl100k_base'");
        Require(d.Tokenizer.Type != "bpe" || d.Tokenizer.VocabSize >= 256, "tokenizer.vocab_size", d.Tokenizer.VocabSize, "must be at least 256");
        Require(d.Tokenizer.Pattern is "gpt4" or "gpt2" or "none", "tokenizer.pattern", d.Tokenizer.Pattern, "expected 'gpt4', 'gpt2' or 'none'");
        Require(d.Tokenizer.Type is not ("gpt2" or "cl100k_base") || !string.IsNullOrEmpty(d.Tokenizer.TiktokenPath), "tokenizer.tiktoken_path", d.Tokenizer.TiktokenPath, $"tokenizer '{d.Tokenizer.Type}' needs a .tiktoken file");
        Require(d.Model.Type is "gpt" or "bigram", "model.type", d.Model.Type, "expected 'gpt' or 'bigram'");
        Require(d.Model.NLayer > 0, "model.n_layer", d.Model.NLayer, "must be positive");
        Require(d.Model.NHead > 0, "model.n_head", d.Model.NHead, "must be positive");
        Require(d.Model.NEmbd > 0 && d.Model.NEmbd % Math.Max(1, d.Model.NHead) == 0, "model.n_embd", d.Model.NEmbd, $"must be positive and divisible by model.n_head ({d.Model.NHead})");
        Require(d.Model.BlockSize > 0, "model.block_size", d.Model.BlockSize, "must be positive");
        Require(d.Model.Dropout >= 0 && d.Model.Dropout < 1, "model.dropout", d.Model.Dropout, "must be in [0, 1)");
        Require(d.Model.Activation is "gelu" or "relu", "model.activation", d.Model.Activation, "expected 'gelu' or 'relu'");
        Require(d.Train.MaxIters >= 0, "train.max_iters", d.Train.MaxIters, "must not be negative");
        Require(d.Train.BatchSize > 0, "train.batch_size", d.Train.BatchSize, "must be positive");
        Require(d.Train.LearningRate > 0, "train.learning_rate", d.Train.LearningRate, "must be positive");
        Require(d.Train.MinLr >= 0 && d.Train.MinLr <= d.Train.LearningRate, "train.min_lr", d.Train.MinLr, "must be in [0, learning_rate]");
        Require(d.Train.WarmupIters >= 0, "train.warmup_iters", d.Train.WarmupIters, "must not be negative");
        Require(d.Train.WeightDecay >= 0, "train.weight_decay", d.Train.WeightDecay, "must not be negative");
        Require(d.Train.Beta1 >= 0 && d.Train.Beta1 < 1, "train.beta1", d.Train.Beta1, "must be in [0, 1)");
        Require(d.Train.Beta2 >= 0 && d.Train.Beta2 < 1, "train.beta2", d.Train.Beta2, "must be in [0, 1)");
        Require(d.Train.GradClip >= 0, "train.grad_clip", d.Train.GradClip, "must not be negative");
        Require(d.Train.GradAccum > 0, "train.grad_accum", d.Train.GradAccum, "must be positive");
        Require(d.Train.EvalInterval > 0, "train.eval_interval", d.Train.EvalInterval, "must be positive");
        Require(d.Train.EvalIters > 0, "train.eval_iters", d.Train.EvalIters, "must be positive");
        Require(d.Train.CheckpointInterval >= 0, "train.checkpoint_interval", d.Train.CheckpointInterval, "must not be negative");
        Require(d.Train.Threads >= 0, "train.threads", d.Train.Threads, "must be 0 (all cores) or positive");
        Require(d.Generate.MaxNewTokens >= 0, "generate.max_new_tokens", d.Generate.MaxNewTokens, "must not be negative");
        Require(d.Generate.Temperature >= 0, "generate.temperature", d.Generate.Temperature, "must not be negative");
        Require(d.Generate.TopK >= 0, "generate.top_k", d.Generate.TopK, "must not be negative");
        Require(d.Generate.TopP > 0 && d.Generate.TopP <= 1, "generate.top_p", d.Generate.TopP, "must be in (0, 1]");
        Require(d.Generate.BatchSize > 0, "generate.batch_size", d.Generate.BatchSize, "must be positive");
    }
}
