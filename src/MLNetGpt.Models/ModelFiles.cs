// Weight files and checkpoints: safetensors with GPT-2 tensor names and our metadata (format, format_version, config JSON).
using MLNetGpt.Models.Serialization;
using MLNetGpt.Tensors;

namespace MLNetGpt.Models;

/// <summary>Reads and writes the "__metadata__" and tensors shared by weight files and training checkpoints.</summary>
internal static class ModelFiles
{
    public const string WeightsFormat = "mlnetgpt-weights";
    public const string CheckpointFormat = "mlnetgpt-checkpoint";

    /// <summary>Weight files: version 1 (inside a model .zip their bytes are covered by the manifest's SHA-256).</summary>
    public const string WeightsFormatVersion = "1";

    /// <summary>Checkpoints: version 2 adds the whole-file checksum and the fingerprints of the training data.</summary>
    public const string CheckpointFormatVersion = "2";

    /// <summary>Prefix of the AdamW first-moment tensors in a checkpoint.</summary>
    public const string FirstMomentPrefix = "optimizer.exp_avg.";

    /// <summary>Prefix of the AdamW second-moment tensors in a checkpoint (never negative).</summary>
    public const string SecondMomentPrefix = "optimizer.exp_avg_sq.";

    /// <summary>The parameter tensors of a model, in layout order.</summary>
    public static List<TensorToWrite> ParameterTensors(ITrainableModel model, string prefix = "", Arena? arena = null)
    {
        var source = arena ?? model.Parameters;
        model.Backend.CopyToHost(source.Span); // device backends: the host copy is current only after this
        var list = new List<TensorToWrite>();
        foreach (var s in model.Parameters.Layout.Slices)
            list.Add(new TensorToWrite(prefix + s.Name, s.Shape, source.Data.AsMemory(s.Offset, s.Length)));
        return list;
    }

    public static void WriteWeights(ITrainableModel model, Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var meta = new Dictionary<string, string>
        {
            ["format"] = WeightsFormat,
            ["format_version"] = WeightsFormatVersion,
            ["config"] = model.Config.ToJson(),
        };
        SafeTensorsFile.Write(destination, meta, ParameterTensors(model));
    }

    /// <summary>
    /// Checks format and version; <paramref name="allowed"/> lists the accepted formats. A checkpoint must carry a checksum
    /// (verified when the file was read or opened).
    /// </summary>
    public static void CheckFormat(ITensorSource file, params string[] allowed)
    {
        if (!file.Metadata.TryGetValue("format", out var format) || !allowed.Contains(format))
            throw new InvalidDataException(
                $"'{file.Source}' is not an MLNetGpt file: metadata 'format' is '{format ?? "(missing)"}', expected {string.Join(" or ", allowed.Select(a => "'" + a + "'"))}.");
        string expected = format == CheckpointFormat ? CheckpointFormatVersion : WeightsFormatVersion;
        if (!file.Metadata.TryGetValue("format_version", out var version) || version != expected)
        {
            string why = format == CheckpointFormat && version == "1"
                ? " (version 1 checkpoints carry no checksum; finish that run with the MLNetGpt that wrote it, or train again)"
                : "";
            throw new InvalidDataException($"'{file.Source}' has {format} format_version '{version ?? "(missing)"}'; this build reads version {expected}{why}.");
        }
        if (format == CheckpointFormat && !file.ChecksumVerified)
            throw new InvalidDataException($"'{file.Source}' is damaged: it has no '{SafeTensorsFile.ChecksumKey}' in its metadata.");
    }

    /// <summary>The model config stored in the file's metadata.</summary>
    public static LanguageModelConfig ReadConfig(ITensorSource file)
    {
        if (!file.Metadata.TryGetValue("config", out var json))
            throw new InvalidDataException($"'{file.Source}' has no 'config' in its metadata.");
        try { return LanguageModelConfig.FromJson(json); }
        catch (Exception e) when (e is FormatException or ArgumentException or System.Text.Json.JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"'{file.Source}': invalid model config: {e.Message}", e);
        }
    }

    /// <summary>
    /// Builds the model described by the file's config and copies every parameter, validating names, shapes and values
    /// (NaN or infinite weights are refused). Other tensors are ignored (a checkpoint's moments, a test fixture's inputs).
    /// </summary>
    public static ITrainableModel ReadModel(ITensorSource file, IComputeBackend? backend)
    {
        var config = ReadConfig(file);
        // Refuse a config that needs more floats than the file holds before allocating the model it describes.
        long parameters;
        try { parameters = LanguageModel.ParameterCount(config); }
        catch (Exception e) when (e is ArgumentException or OverflowException)
        {
            throw new InvalidDataException($"'{file.Source}': invalid model config: {e.Message}", e);
        }
        if (parameters > file.DataLength / 4)
            throw new InvalidDataException(
                $"'{file.Source}': its config describes {parameters:N0} parameters, but the file holds only {file.DataLength / 4:N0} floats.");
        ITrainableModel model = config switch
        {
            GptConfig g => GptModel.CreateUninitialized(g, backend),
            BigramConfig b => BigramModel.CreateUninitialized(b, backend),
            _ => throw new InvalidDataException($"'{file.Source}': unknown model kind '{config.Kind}'."),
        };
        ReadArena(file, model.Parameters, "");
        model.Backend.CopyToDevice(model.Parameters.Span); // the host wrote the parameters
        return model;
    }

    /// <summary>Fails when the file holds a tensor that is not one of the model's under the given prefixes.</summary>
    public static void CheckNoOtherTensors(ITensorSource file, ITrainableModel model, params string[] prefixes)
    {
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var prefix in prefixes)
            foreach (var s in model.Parameters.Layout.Slices) expected.Add(prefix + s.Name);
        foreach (var name in file.Tensors.Keys)
            if (!expected.Contains(name))
                throw new InvalidDataException($"'{file.Source}' holds a tensor '{name}' that the model's configuration does not have.");
    }

    /// <summary>
    /// Copies every slice of <paramref name="arena"/> from the tensor named prefix + slice name and checks every value is
    /// finite (and, for second moments, not negative): such a value is damage or a diverged run, never a state to resume.
    /// </summary>
    public static void ReadArena(ITensorSource file, Arena arena, string prefix)
    {
        bool nonNegative = prefix == SecondMomentPrefix;
        foreach (var s in arena.Layout.Slices)
        {
            var values = arena[s];
            file.CopyTo(prefix + s.Name, s.Shape, values);
            for (int i = 0; i < values.Length; i++)
            {
                float v = values[i];
                if (!float.IsFinite(v) || (nonNegative && v < 0))
                    throw new InvalidDataException(
                        $"'{file.Source}': tensor '{prefix + s.Name}' holds {v.ToString(System.Globalization.CultureInfo.InvariantCulture)} at index {i}; " +
                        (nonNegative ? "second moments are finite and never negative." : "weights must be finite (the file is damaged or was saved from a diverged run)."));
            }
        }
    }
}
