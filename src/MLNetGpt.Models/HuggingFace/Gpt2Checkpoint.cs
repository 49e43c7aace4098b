// Hugging Face GPT-2 checkpoint folders (GPT2LMHeadModel: config.json + model.safetensors, or the sharded index form):
// import into a GptModel key for key, as nanoGPT's from_pretrained does, and export back to the same layout.
using System.Globalization;
using System.Text.Json;
using MLNetGpt.Models.Serialization;
using MLNetGpt.Tensors;

namespace MLNetGpt.Models.HuggingFace;

/// <summary>
/// Reads and writes GPT-2 checkpoints in Hugging Face's layout (gpt2, gpt2-medium, gpt2-large, gpt2-xl and any
/// GPT2LMHeadModel saved with <c>save_pretrained</c>). Our parameter names are GPT-2's, so import is a key-for-key copy:
/// the "transformer." prefix is dropped, and the four Conv1D weights of each block (attn.c_attn, attn.c_proj, mlp.c_fc,
/// mlp.c_proj), stored [in,out], are transposed to our Linear [out,in]. F32, F16 and BF16 tensors are converted to float as
/// they are read, one tensor at a time straight into the model's parameters (the file is never held in memory).
/// The attn.bias and attn.masked_bias buffers of older checkpoints are ignored; a stored lm_head.weight of a tied model must
/// equal wte.weight.
/// </summary>
public static class Gpt2Checkpoint
{
    /// <summary>The weights of a single-file checkpoint.</summary>
    public const string WeightsFileName = "model.safetensors";

    /// <summary>The index of a sharded checkpoint: {"weight_map": {tensor name: shard file name}}.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    private const string Prefix = "transformer.";

    // Our Linear weights that Hugging Face stores as Conv1D [in,out].
    private static readonly string[] Conv1DSuffixes = ["attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"];

    /// <summary>The architecture in <paramref name="directory"/>/config.json (see <see cref="Load"/> for what is accepted).</summary>
    /// <exception cref="FileNotFoundException">There is no config.json.</exception>
    /// <exception cref="InvalidDataException">config.json is malformed or describes a model this GPT does not compute exactly.</exception>
    public static GptConfig ReadConfig(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"'{directory}' does not exist; expected a Hugging Face GPT-2 folder (config.json, model.safetensors).");
        return Gpt2ConfigJson.Read(Path.Combine(directory, Gpt2ConfigJson.FileName));
    }

    /// <summary>
    /// Loads the GPT-2 checkpoint in <paramref name="directory"/>: config.json (n_layer, n_head, n_embd, n_positions,
    /// vocab_size; layer_norm_epsilon must be 1e-5; activation gelu_new or relu; tie_word_embeddings, default true) and
    /// model.safetensors, or model.safetensors.index.json and its shards. The model has biases, dropout 0, and block size
    /// n_positions. Peak memory is the model's parameters plus a 1 MB read buffer.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">config.json, the weights, or a shard named by the index is missing.</exception>
    /// <exception cref="InvalidDataException">
    /// A tensor is missing, has another shape than config.json implies (the message names it with both shapes), another
    /// dtype than F32/F16/BF16, a non-finite value, or is not part of GPT-2; a file is truncated or malformed.
    /// </exception>
    public static GptModel Load(string directory, IComputeBackend? backend = null)
    {
        var config = ReadConfig(directory);
        var files = OpenWeights(directory);
        try
        {
            var model = GptModel.CreateUninitialized(config, backend);
            ReadParameters(files, model, directory);
            model.Backend.CopyToDevice(model.Parameters.Span); // the host wrote the weights (device backends)
            return model;
        }
        finally
        {
            foreach (var f in files) f.Dispose();
        }
    }

    /// <summary>
    /// Writes <paramref name="model"/> into <paramref name="directory"/> (created if needed) as Hugging Face does for a
    /// GPT2LMHeadModel: config.json and model.safetensors (F32, "transformer." names, Conv1D weights [in,out], no lm_head.weight
    /// when tied, metadata format "pt"), each file replaced atomically. <see cref="Load"/> reads it back bit for bit. A model
    /// without biases is written with zero biases (GPT-2 always has them), which computes the same logits.
    /// </summary>
    /// <exception cref="IOException">A target is not a regular file, or writing fails.</exception>
    public static void Save(GptModel model, string directory)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        model.Backend.CopyToHost(model.Parameters.Span); // device backends: the host copy is current only after this
        var config = model.GptConfig;
        var tensors = new List<TensorToWrite>();
        var zeros = new Dictionary<int, float[]>();
        var layout = model.Parameters.Layout;
        foreach (var name in HuggingFaceOrder(config))
        {
            string stored = name == "lm_head.weight" ? name : Prefix + name;
            if (!layout.Contains(name))
            {
                // a bias of a bias-free model: zeros of its length (the weight it follows gives it)
                int length = BiasLength(config, name);
                if (!zeros.TryGetValue(length, out var z)) zeros[length] = z = new float[length];
                tensors.Add(new TensorToWrite(stored, [length], z));
                continue;
            }
            var slice = layout[name];
            var data = model.Parameters.Data.AsMemory(slice.Offset, slice.Length);
            tensors.Add(IsConv1D(name)
                ? new TensorToWrite(stored, [slice.Shape[1], slice.Shape[0]], data, Transposed: true)
                : new TensorToWrite(stored, slice.Shape, data));
        }
        AtomicFile.Write(Path.Combine(directory, WeightsFileName), s =>
            SafeTensorsFile.Write(s, new Dictionary<string, string> { ["format"] = "pt" }, tensors));
        AtomicFile.Write(Path.Combine(directory, Gpt2ConfigJson.FileName), s =>
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(Gpt2ConfigJson.Write(config));
            s.Write(bytes);
        });
    }

    /// <summary>Parameter names in the order Hugging Face lists a GPT2LMHeadModel's (biases included even when our model has none).</summary>
    private static IEnumerable<string> HuggingFaceOrder(GptConfig config)
    {
        yield return "wte.weight";
        yield return "wpe.weight";
        for (int l = 0; l < config.LayerCount; l++)
        {
            foreach (var part in new[] { "ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj" })
            {
                yield return $"h.{l}.{part}.weight";
                yield return $"h.{l}.{part}.bias";
            }
        }
        yield return "ln_f.weight";
        yield return "ln_f.bias";
        if (!config.TieWeights) yield return "lm_head.weight";
    }

    private static int BiasLength(GptConfig config, string name) =>
        name.EndsWith("attn.c_attn.bias", StringComparison.Ordinal) ? 3 * config.EmbeddingSize
        : name.EndsWith("mlp.c_fc.bias", StringComparison.Ordinal) ? 4 * config.EmbeddingSize
        : config.EmbeddingSize;

    private static bool IsConv1D(string name) => Conv1DSuffixes.Any(s => name.EndsWith(s, StringComparison.Ordinal));

    /// <summary>The safetensors files of the checkpoint: model.safetensors, else the shards the index names.</summary>
    private static List<SafeTensorsReader> OpenWeights(string directory)
    {
        string single = Path.Combine(directory, WeightsFileName), index = Path.Combine(directory, IndexFileName);
        var files = new List<SafeTensorsReader>();
        try
        {
            if (File.Exists(single))
            {
                files.Add(SafeTensorsReader.Open(single));
                return files;
            }
            if (!File.Exists(index))
            {
                string hint = File.Exists(Path.Combine(directory, "pytorch_model.bin"))
                    ? " It has a pytorch_model.bin, which is a Python pickle that MLNetGpt does not read: save the model with safetensors (save_pretrained(..., safe_serialization=True)) or download the model.safetensors of the same repository."
                    : "";
                throw new FileNotFoundException($"'{directory}' has neither {WeightsFileName} nor {IndexFileName}.{hint}", single);
            }
            var map = ReadIndex(index);
            foreach (var shard in map.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                string path = Path.Combine(directory, shard);
                if (!File.Exists(path)) throw new FileNotFoundException($"'{index}' names shard '{shard}', which is not in '{directory}'.", path);
                var reader = SafeTensorsReader.Open(path);
                files.Add(reader);
                foreach (var name in reader.Tensors.Keys)
                    if (!map.TryGetValue(name, out var listed) || listed != shard)
                        throw new InvalidDataException($"'{path}' holds tensor '{name}', which '{index}' {(listed is null ? "does not list" : $"puts in '{listed}'")}.");
            }
            foreach (var (name, shard) in map)
                if (!files.First(f => Path.GetFileName(f.Source) == shard).Tensors.ContainsKey(name))
                    throw new InvalidDataException($"'{index}' puts tensor '{name}' in '{shard}', which does not hold it.");
            return files;
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    /// <summary>The weight_map of a sharded checkpoint's index; shard names must be plain file names in the folder.</summary>
    private static Dictionary<string, string> ReadIndex(string path)
    {
        if (new FileInfo(path).Length > 64 << 20) throw new InvalidDataException($"'{path}' is too large for a checkpoint index.");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"'{path}' has no 'weight_map' object.");
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                string shard = p.Value.GetString() ?? "";
                if (shard.Length == 0 || shard != Path.GetFileName(shard) || shard is "." or ".." || shard.Contains('\\'))
                    throw new InvalidDataException($"'{path}' puts tensor '{p.Name}' in '{shard}', which is not a file name in the checkpoint's folder.");
                if (!result.TryAdd(p.Name, shard)) throw new InvalidDataException($"'{path}' lists tensor '{p.Name}' twice.");
            }
            return result;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"'{path}' is not a valid checkpoint index: {e.Message}", e);
        }
    }

    /// <summary>Where a tensor of the checkpoint is: its file and table entry.</summary>
    private sealed record Located(SafeTensorsReader File, TensorInfo Info);

    private static void ReadParameters(List<SafeTensorsReader> files, GptModel model, string directory)
    {
        var config = model.GptConfig;
        var layout = model.Parameters.Layout;
        var found = new Dictionary<string, Located>(StringComparer.Ordinal);
        Located? storedHead = null;
        foreach (var file in files)
        {
            foreach (var info in file.Tensors.Values)
            {
                string name = info.Name.StartsWith(Prefix, StringComparison.Ordinal) ? info.Name[Prefix.Length..] : info.Name;
                if (IsBuffer(name, config)) continue;
                if (name == "lm_head.weight" && config.TieWeights)
                {
                    storedHead = new Located(file, info);
                    continue;
                }
                if (!layout.Contains(name))
                    throw new InvalidDataException(
                        $"'{file.Source}' holds tensor '{info.Name}', which a GPT-2 language model (GPT2LMHeadModel) of this config.json does not have ({Describe(config)}).");
                if (!found.TryAdd(name, new Located(file, info)))
                    throw new InvalidDataException($"'{file.Source}' holds '{name}' twice (with and without the '{Prefix}' prefix).");
            }
        }

        // Read in file order: each tensor's bytes are then read sequentially.
        var order = layout.Slices.Select(s => (Slice: s, At: found.GetValueOrDefault(s.Name)))
            .OrderBy(x => x.At is null ? -1 : files.IndexOf(x.At.File)).ThenBy(x => x.At?.Info.Begin ?? 0).ToList();
        foreach (var (slice, at) in order)
        {
            if (at is null)
                throw new InvalidDataException(
                    $"'{directory}' has no tensor '{slice.Name}' (nor '{Prefix}{slice.Name}'), which config.json ({Describe(config)}) implies; the checkpoint is incomplete or its config.json describes another model.");
            bool conv = IsConv1D(slice.Name);
            int[] expected = conv ? [slice.Shape[1], slice.Shape[0]] : slice.Shape;
            if (!at.Info.Shape.AsSpan().SequenceEqual(expected))
                throw new InvalidDataException(
                    $"'{at.File.Source}': tensor '{at.Info.Name}' has shape {at.Info.ShapeText}, but config.json ({Describe(config)}) needs {Text(expected)}{(conv ? " (Conv1D: [in,out])" : "")}.");
            if (!SafeTensorsReader.IsFloat(at.Info.DType))
                throw new InvalidDataException($"'{at.File.Source}': tensor '{at.Info.Name}' is {at.Info.DType}; weights must be F32, F16 or BF16.");
            var values = model.Parameters[slice];
            at.File.Read(at.Info, values, transposeRows: conv ? expected[0] : 0);
            CheckFinite(values, at);
        }

        if (storedHead is { } head)
        {
            var wte = model.Parameters[model.Layout.Wte];
            if (!head.Info.Shape.AsSpan().SequenceEqual(model.Layout.Wte.Shape) || !SafeTensorsReader.IsFloat(head.Info.DType)
                || head.File.FirstDifference(head.Info, wte) >= 0)
                throw new InvalidDataException(
                    $"'{head.File.Source}': tensor '{head.Info.Name}' differs from wte.weight, but config.json ties them (tie_word_embeddings is true or absent); set \"tie_word_embeddings\": false if the checkpoint has its own output layer.");
        }
    }

    // The causal-mask buffers that transformers < 4.31 saved with every block: h.{l}.attn.bias and h.{l}.attn.masked_bias.
    private static bool IsBuffer(string name, GptConfig config)
    {
        if (!name.StartsWith("h.", StringComparison.Ordinal)) return false;
        int dot = name.IndexOf('.', 2);
        if (dot < 0 || !int.TryParse(name.AsSpan(2, dot - 2), NumberStyles.None, CultureInfo.InvariantCulture, out int layer) || layer >= config.LayerCount) return false;
        var rest = name.AsSpan(dot + 1);
        return rest.SequenceEqual("attn.bias") || rest.SequenceEqual("attn.masked_bias");
    }

    private static void CheckFinite(ReadOnlySpan<float> values, Located at)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                throw new InvalidDataException(
                    $"'{at.File.Source}': tensor '{at.Info.Name}' holds {values[i].ToString(CultureInfo.InvariantCulture)} at index {i}; weights must be finite.");
    }

    private static string Describe(GptConfig c) =>
        $"n_layer {c.LayerCount}, n_embd {c.EmbeddingSize}, n_positions {c.BlockSize}, vocab_size {c.VocabularySize}";

    private static string Text(int[] shape) => "[" + string.Join(",", shape) + "]";
}
