// Weight files: safetensors with GPT-2 tensor names and our metadata (format, format_version, config JSON).
using MLNetGpt.Models.Serialization;
using MLNetGpt.Tensors;

namespace MLNetGpt.Models;

/// <summary>Reads and writes the "__metadata__" and tensors shared by weight files and training checkpoints.</summary>
internal static class ModelFiles
{
    public const string WeightsFormat = "mlnetgpt-weights";
    public const string CheckpointFormat = "mlnetgpt-checkpoint";
    public const string FormatVersion = "1";

    /// <summary>The parameter tensors of a model, in layout order.</summary>
    public static List<TensorToWrite> ParameterTensors(ITrainableModel model, string prefix = "", Arena? arena = null)
    {
        var source = arena ?? model.Parameters;
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
            ["format_version"] = FormatVersion,
            ["config"] = model.Config.ToJson(),
        };
        SafeTensorsFile.Write(destination, meta, ParameterTensors(model));
    }

    /// <summary>Checks format and version; <paramref name="allowed"/> lists the accepted formats.</summary>
    public static void CheckFormat(SafeTensorsFile file, params string[] allowed)
    {
        if (!file.Metadata.TryGetValue("format", out var format) || !allowed.Contains(format))
            throw new InvalidDataException(
                $"'{file.Source}' is not an MLNetGpt file: metadata 'format' is '{format ?? "(missing)"}', expected {string.Join(" or ", allowed.Select(a => "'" + a + "'"))}.");
        if (!file.Metadata.TryGetValue("format_version", out var version) || version != FormatVersion)
            throw new InvalidDataException($"'{file.Source}' has format_version '{version ?? "(missing)"}'; this build reads version {FormatVersion}.");
    }

    /// <summary>Builds the model described by the file's config and copies every parameter, validating names and shapes.</summary>
    public static ITrainableModel ReadModel(SafeTensorsFile file, IComputeBackend? backend)
    {
        if (!file.Metadata.TryGetValue("config", out var json))
            throw new InvalidDataException($"'{file.Source}' has no 'config' in its metadata.");
        LanguageModelConfig config;
        try { config = LanguageModelConfig.FromJson(json); }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new InvalidDataException($"'{file.Source}': invalid model config: {e.Message}", e);
        }
        ITrainableModel model = config switch
        {
            GptConfig g => GptModel.CreateUninitialized(g, backend),
            BigramConfig b => BigramModel.CreateUninitialized(b, backend),
            _ => throw new InvalidDataException($"'{file.Source}': unknown model kind '{config.Kind}'."),
        };
        ReadArena(file, model.Parameters, "");
        return model;
    }

    /// <summary>Copies every slice of <paramref name="arena"/> from the tensor named prefix + slice name.</summary>
    public static void ReadArena(SafeTensorsFile file, Arena arena, string prefix)
    {
        foreach (var s in arena.Layout.Slices) file.CopyTo(prefix + s.Name, s.Shape, arena[s]);
    }
}
