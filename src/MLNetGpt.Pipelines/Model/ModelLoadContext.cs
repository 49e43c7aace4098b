// What a component's loader sees: its step's options and verified files from the model .zip.
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetGpt.Pipelines;

/// <summary>
/// Passed to loaders registered in <see cref="ComponentCatalog"/>. Every file read through it has been checked against
/// the manifest (size and SHA-256) and the size limit, so loaders can trust what they get.
/// </summary>
public sealed class ModelLoadContext
{
    private readonly ModelArchive _archive;
    private readonly ModelStepInfo _step;

    internal ModelLoadContext(MLContext context, ModelArchive archive, ModelStepInfo step, ModelLoadOptions loadOptions)
    {
        Context = context;
        LoadOptions = loadOptions;
        _archive = archive;
        _step = step;
    }

    /// <summary>The context loading the model.</summary>
    public MLContext Context { get; }

    /// <summary>The options the model is loaded with (device, threads, limits).</summary>
    public ModelLoadOptions LoadOptions { get; }

    /// <summary>Position of the step in the model.</summary>
    public int StepIndex => _step.Index;

    /// <summary>Name of the loader the step was saved with.</summary>
    public string LoaderName => _step.Loader;

    /// <summary>Format version the step was saved with.</summary>
    public int LoaderVersion => _step.LoaderVersion;

    /// <summary>The step's options from the manifest.</summary>
    public JsonObject Options => _step.Options;

    /// <summary>Throws a clear error when the step was saved by a newer version of its component than this one reads.</summary>
    public void CheckVersion(int maxSupported)
    {
        if (LoaderVersion > maxSupported || LoaderVersion < 1)
            throw new InvalidDataException($"Step {StepIndex} ('{LoaderName}') has version {LoaderVersion}; this library reads versions 1 to {maxSupported}.");
    }

    /// <summary>Deserializes the options into <typeparamref name="T"/>.</summary>
    public T GetOptions<T>()
    {
        try
        {
            return Options.Deserialize<T>(ModelJson.Options)
                ?? throw new InvalidDataException($"Step {StepIndex} ('{LoaderName}') has null options.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Step {StepIndex} ('{LoaderName}') has invalid options: {e.Message}", e);
        }
    }

    /// <summary>A required string option.</summary>
    public string GetString(string name) => Get(name, n => n.GetValue<string>());

    /// <summary>A required integer option.</summary>
    public int GetInt32(string name) => Get(name, n => n.GetValue<int>());

    /// <summary>Whether the step has the file <paramref name="relativeName"/>.</summary>
    public bool HasEntry(string relativeName) => _step.Entries.Any(e => e.Name == _step.Directory + relativeName);

    /// <summary>The verified bytes of a file of this step.</summary>
    /// <exception cref="InvalidDataException">The file is missing, or its size or hash differs from the manifest.</exception>
    public byte[] ReadBytes(string relativeName)
    {
        string name = _step.Directory + ModelArchive.CheckRelativeName(relativeName);
        var info = _step.Entries.FirstOrDefault(e => e.Name == name)
            ?? throw new InvalidDataException($"Step {StepIndex} ('{LoaderName}') has no entry '{relativeName}' in its manifest.");
        return _archive.ReadVerified(info);
    }

    /// <summary>The verified UTF-8 text of a file of this step.</summary>
    public string ReadText(string relativeName) => Encoding.UTF8.GetString(ReadBytes(relativeName));

    /// <summary>A read-only stream over the verified bytes of a file of this step.</summary>
    public Stream OpenEntry(string relativeName) => new MemoryStream(ReadBytes(relativeName), writable: false);

    /// <summary>
    /// For libraries that only read from paths: writes the verified file to a temporary path, calls
    /// <paramref name="read"/> with it and deletes it.
    /// </summary>
    public T ReadFile<T>(string relativeName, Func<string, T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        var bytes = ReadBytes(relativeName);
        string folder = Path.Combine(Path.GetTempPath(), "mlnetgpt-load-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            string path = Path.Combine(folder, Path.GetFileName(relativeName));
            File.WriteAllBytes(path, bytes);
            return read(path);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private T Get<T>(string name, Func<JsonNode, T> read)
    {
        var node = Options[name] ?? throw new InvalidDataException($"Step {StepIndex} ('{LoaderName}') is missing option '{name}'.");
        try
        {
            return read(node);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"Step {StepIndex} ('{LoaderName}') option '{name}' has the wrong type: {node.ToJsonString()}.", e);
        }
    }
}
