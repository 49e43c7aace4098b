// The manifest of a model .zip: format name and version, input schema, and each step's loader, options and files.
using System.Text.Json.Nodes;

namespace MLNetGpt.Pipelines;

/// <summary>What a model .zip declares about itself, read by <see cref="ModelOperationsCatalog.Inspect"/> without loading weights.</summary>
public sealed class ModelInfo
{
    /// <summary>The format name every model archive carries.</summary>
    public const string FormatName = "mlnetgpt-model";

    /// <summary>The manifest version this library writes and reads.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Name of the manifest entry.</summary>
    public const string ManifestEntryName = "manifest.json";

    internal ModelInfo(int version, DataViewSchema inputSchema, IReadOnlyList<ModelStepInfo> steps)
    {
        Version = version;
        InputSchema = inputSchema;
        Steps = steps;
    }

    /// <summary>Manifest version.</summary>
    public int Version { get; }

    /// <summary>The schema of the data the model was fitted on (without annotations).</summary>
    public DataViewSchema InputSchema { get; }

    /// <summary>The steps in order.</summary>
    public IReadOnlyList<ModelStepInfo> Steps { get; }
}

/// <summary>One step of a saved model.</summary>
/// <param name="Index">Position in the model.</param>
/// <param name="Loader">Loader name (see <see cref="ComponentCatalog"/>).</param>
/// <param name="LoaderVersion">The component's own format version.</param>
/// <param name="Directory">The folder holding its files ("steps/00/").</param>
/// <param name="Options">Its options as saved.</param>
/// <param name="Entries">Its files.</param>
public sealed record ModelStepInfo(int Index, string Loader, int LoaderVersion, string Directory, JsonObject Options,
    IReadOnlyList<ModelEntryInfo> Entries);
