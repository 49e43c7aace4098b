// Hugging Face's GPT-2 config.json (GPT2Config) to and from our GptConfig: the architecture keys are read, every setting
// this GPT cannot reproduce exactly is refused by name, and the training-only keys (dropouts, summary heads) are ignored.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLNetGpt.Tensors;

namespace MLNetGpt.Models.HuggingFace;

internal static class Gpt2ConfigJson
{
    public const string FileName = "config.json";

    /// <summary>GPT-2's vocabulary: 50,256 BPE ranks and &lt;|endoftext|&gt;.</summary>
    public const int Gpt2VocabularySize = 50257;

    /// <summary>Largest config.json read (a GPT-2 config is about 1 KB).</summary>
    private const long MaxBytes = 1 << 20;

    // transformers' ACT2FN names: gelu_new, gelu_pytorch_tanh and gelu_fast are all 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
    private static readonly string[] TanhGelu = ["gelu_new", "gelu_pytorch_tanh", "gelu_fast"];

    /// <summary>
    /// The GptConfig of <paramref name="path"/>: n_layer, n_head, n_embd, n_positions (or n_ctx) and vocab_size; biases
    /// on; GELU (tanh) or ReLU; tie_word_embeddings (default true); dropout 0 (as nanoGPT's from_pretrained: the pdrop keys
    /// are training settings, set again when fine-tuning).
    /// </summary>
    /// <exception cref="InvalidDataException">A key is missing, of the wrong type, or asks for something this GPT does not compute.</exception>
    public static GptConfig Read(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"'{path}' does not exist; a Hugging Face GPT-2 folder has a config.json beside its weights.", path);
        if (info.Length > MaxBytes) throw new InvalidDataException($"'{path}' is {info.Length:N0} bytes; a GPT-2 config.json is a few KB.");
        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject ?? throw new InvalidDataException($"'{path}' does not hold a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON: {e.Message}", e);
        }

        string? modelType = String(json, "model_type", path);
        if (modelType is not null && modelType != "gpt2")
            throw new InvalidDataException($"'{path}': model_type is '{modelType}'; only GPT-2 checkpoints ('gpt2') can be imported.");
        int layers = Int(json, "n_layer", path) ?? throw Missing(path, "n_layer");
        int heads = Int(json, "n_head", path) ?? throw Missing(path, "n_head");
        int channels = Int(json, "n_embd", path) ?? throw Missing(path, "n_embd");
        int positions = Int(json, "n_positions", path) ?? Int(json, "n_ctx", path) ?? throw Missing(path, "n_positions");
        int vocabulary = Int(json, "vocab_size", path) ?? throw Missing(path, "vocab_size");

        double epsilon = Number(json, "layer_norm_epsilon", path) ?? 1e-5;
        if (Math.Abs(epsilon - KernelConstants.LayerNormEpsilon) > 1e-9)
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"'{path}': layer_norm_epsilon is {epsilon}; MLNetGpt's LayerNorm uses {KernelConstants.LayerNormEpsilon} (GPT-2's value), so this model would not be reproduced exactly."));

        string activationName = String(json, "activation_function", path) ?? "gelu_new";
        Activation activation = TanhGelu.Contains(activationName) ? Activation.Gelu
            : activationName == "relu" ? Activation.Relu
            : throw new InvalidDataException(
                $"'{path}': activation_function is '{activationName}'; MLNetGpt computes GELU with the tanh approximation ({string.Join(", ", TanhGelu)}) or ReLU ('relu').");

        if (Int(json, "n_inner", path) is { } inner && inner != 4 * channels)
            throw new InvalidDataException($"'{path}': n_inner is {inner}; MLNetGpt's MLP has 4 × n_embd = {4 * channels} channels.");
        RequireFlag(json, "scale_attn_weights", true, path, "attention scores are always divided by √head_size");
        RequireFlag(json, "scale_attn_by_inverse_layer_idx", false, path, "attention scores are not scaled by layer");
        RequireFlag(json, "add_cross_attention", false, path, "a language model has no cross-attention");
        bool tied = Bool(json, "tie_word_embeddings", path) ?? true;

        var config = new GptConfig
        {
            LayerCount = layers, HeadCount = heads, EmbeddingSize = channels, BlockSize = positions, VocabularySize = vocabulary,
            Bias = true, Activation = activation, TieWeights = tied, Dropout = 0f,
        };
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{path}' describes an invalid model: {e.Message}", e);
        }
        return config;
    }

    /// <summary>config.json as GPT2Config.to_dict() writes it for a GPT2LMHeadModel of <paramref name="config"/>.</summary>
    public static string Write(GptConfig config)
    {
        var json = new JsonObject
        {
            ["activation_function"] = config.Activation == Activation.Gelu ? "gelu_new" : "relu",
            ["architectures"] = new JsonArray("GPT2LMHeadModel"),
            ["attn_pdrop"] = 0.0, // our attention probabilities are never dropped
            ["embd_pdrop"] = config.Dropout,
            ["initializer_range"] = 0.02,
            ["layer_norm_epsilon"] = KernelConstants.LayerNormEpsilon,
            ["model_type"] = "gpt2",
            ["n_ctx"] = config.BlockSize,
            ["n_embd"] = config.EmbeddingSize,
            ["n_head"] = config.HeadCount,
            ["n_inner"] = null,
            ["n_layer"] = config.LayerCount,
            ["n_positions"] = config.BlockSize,
            ["resid_pdrop"] = config.Dropout,
            ["scale_attn_weights"] = true,
            ["tie_word_embeddings"] = config.TieWeights,
            ["torch_dtype"] = "float32",
            ["vocab_size"] = config.VocabularySize,
        };
        if (config.VocabularySize == Gpt2VocabularySize)
        {
            json["bos_token_id"] = Gpt2VocabularySize - 1; // <|endoftext|> starts and ends GPT-2's texts
            json["eos_token_id"] = Gpt2VocabularySize - 1;
        }
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private static InvalidDataException Missing(string path, string key) => new($"'{path}' has no '{key}'; it is not a GPT-2 config.json.");

    private static JsonNode? Value(JsonObject json, string key) => json.TryGetPropertyValue(key, out var v) ? v : null;

    private static InvalidDataException WrongType(string path, string key, JsonNode node, string expected) =>
        new($"'{path}': '{key}' is {node.ToJsonString()}, expected {expected}.");

    private static int? Int(JsonObject json, string key, string path)
    {
        if (Value(json, key) is not { } node) return null;
        return node is JsonValue v && v.TryGetValue(out int i) ? i
            : node is JsonValue d && d.TryGetValue(out double x) && x == Math.Floor(x) && x is >= int.MinValue and <= int.MaxValue ? (int)x
            : throw WrongType(path, key, node, "an integer");
    }

    private static double? Number(JsonObject json, string key, string path)
    {
        if (Value(json, key) is not { } node) return null;
        return node is JsonValue v && v.TryGetValue(out double x) ? x : throw WrongType(path, key, node, "a number");
    }

    private static bool? Bool(JsonObject json, string key, string path)
    {
        if (Value(json, key) is not { } node) return null;
        return node is JsonValue v && v.TryGetValue(out bool b) ? b : throw WrongType(path, key, node, "true or false");
    }

    private static string? String(JsonObject json, string key, string path)
    {
        if (Value(json, key) is not { } node) return null;
        return node is JsonValue v && v.TryGetValue(out string? s) ? s : throw WrongType(path, key, node, "a string");
    }

    private static void RequireFlag(JsonObject json, string key, bool expected, string path, string why)
    {
        if (Bool(json, key, path) is { } value && value != expected)
            throw new InvalidDataException($"'{path}': {key} is {(value ? "true" : "false")}, which MLNetGpt's GPT does not compute ({why}).");
    }
}
