// Reading and writing model .zip files: atomic save, and a load that checks every entry before trusting it.
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetGpt.Pipelines;

/// <summary>
/// An open model archive whose manifest has been validated: known format and version, safe entry names (no path
/// traversal), every listed entry present with the declared size, no unlisted entries, sizes under the limit.
/// Content hashes are checked when an entry is read.
/// </summary>
internal sealed class ModelArchive : IDisposable
{
    private const long MaxManifestBytes = 16 << 20;
    private readonly ZipArchive _zip;
    private readonly string _path;
    private readonly long _maxEntryBytes;

    private ModelArchive(ZipArchive zip, string path, long maxEntryBytes)
    {
        _zip = zip;
        _path = path;
        _maxEntryBytes = maxEntryBytes;
    }

    public ModelInfo Info { get; private set; } = null!;

    /// <summary>Validates the relative name of a step file: non-empty, letters, digits, '.', '_', '-', '/' and no '.' or '..' segments.</summary>
    public static string CheckRelativeName(string relativeName)
    {
        if (!IsSafeName(relativeName))
            throw new ArgumentException(
                $"Entry name '{relativeName}' is not allowed: use letters, digits, '.', '_', '-' and '/' separated segments, without '.' or '..' segments.",
                nameof(relativeName));
        return relativeName;
    }

    private static bool IsSafeName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 200) return false;
        foreach (char ch in name)
            if (!(char.IsAsciiLetterOrDigit(ch) || ch is '.' or '_' or '-' or '/')) return false;
        return name.Split('/').All(s => s.Length > 0 && s != "." && s != "..");
    }

    public static ModelArchive Open(string path, long maxEntryBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}' is not a valid model .zip (it may be truncated or corrupt): {e.Message}", e);
        }
        var archive = new ModelArchive(zip, path, maxEntryBytes);
        try
        {
            archive.Info = archive.ReadManifest();
            return archive;
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    private InvalidDataException Error(string message, Exception? inner = null) => new($"Invalid model '{_path}': {message}", inner);

    private ModelInfo ReadManifest()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        IReadOnlyCollection<ZipArchiveEntry> entries;
        try
        {
            entries = _zip.Entries;
        }
        catch (InvalidDataException e)
        {
            throw Error($"the archive directory is corrupt: {e.Message}", e);
        }
        foreach (var e in entries)
        {
            if (!IsSafeName(e.FullName)) throw Error($"entry '{e.FullName}' has an unsafe name (absolute path, '..' or other path traversal, or disallowed characters).");
            if (!names.Add(e.FullName)) throw Error($"entry '{e.FullName}' appears twice.");
            if (e.Length > _maxEntryBytes) throw Error($"entry '{e.FullName}' is {e.Length} bytes, over the limit of {_maxEntryBytes} bytes.");
        }
        var manifestEntry = _zip.GetEntry(ModelInfo.ManifestEntryName)
            ?? throw Error($"missing entry '{ModelInfo.ManifestEntryName}'; this is not a model saved by MLContext.Model.Save.");
        if (manifestEntry.Length > MaxManifestBytes) throw Error($"'{ModelInfo.ManifestEntryName}' is {manifestEntry.Length} bytes, over the limit of {MaxManifestBytes}.");
        JsonObject root;
        try
        {
            root = JsonNode.Parse(ReadLimited(manifestEntry, manifestEntry.Length)) as JsonObject ?? throw Error("the manifest is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw Error($"the manifest is not valid JSON: {e.Message}", e);
        }
        try
        {
            string format = (string?)root["format"] ?? throw Error("the manifest has no 'format'.");
            if (format != ModelInfo.FormatName) throw Error($"the manifest format is '{format}', expected '{ModelInfo.FormatName}'.");
            int version = (int?)root["version"] ?? throw Error("the manifest has no 'version'.");
            if (version != ModelInfo.CurrentVersion)
                throw Error($"unsupported model format version {version}; this library reads version {ModelInfo.CurrentVersion}.");
            var schema = ReadSchema(root["inputSchema"] as JsonArray ?? throw Error("the manifest has no 'inputSchema' array."));
            var stepsNode = root["steps"] as JsonArray ?? throw Error("the manifest has no 'steps' array.");
            var steps = new List<ModelStepInfo>();
            var listed = new HashSet<string>(StringComparer.Ordinal) { ModelInfo.ManifestEntryName };
            foreach (var node in stepsNode)
            {
                var step = node as JsonObject ?? throw Error("a step is not a JSON object.");
                int index = steps.Count;
                string dir = $"steps/{index:D2}/";
                string loader = (string?)step["loader"] ?? throw Error($"step {index} has no 'loader'.");
                int loaderVersion = (int?)step["loaderVersion"] ?? throw Error($"step {index} has no 'loaderVersion'.");
                var options = step["options"] as JsonObject ?? [];
                var files = new List<ModelEntryInfo>();
                foreach (var f in step["entries"] as JsonArray ?? [])
                {
                    string name = (string?)f?["name"] ?? throw Error($"step {index} lists an entry without a name.");
                    long size = (long?)f!["size"] ?? throw Error($"entry '{name}' has no size.");
                    string sha = (string?)f["sha256"] ?? throw Error($"entry '{name}' has no sha256.");
                    if (!IsSafeName(name) || !name.StartsWith(dir, StringComparison.Ordinal))
                        throw Error($"step {index} lists entry '{name}', outside its folder '{dir}' or with an unsafe name.");
                    if (size < 0 || size > _maxEntryBytes) throw Error($"entry '{name}' declares {size} bytes, outside [0, {_maxEntryBytes}].");
                    var zipEntry = _zip.GetEntry(name) ?? throw Error($"missing entry '{name}' listed by step {index} ('{loader}').");
                    if (zipEntry.Length != size) throw Error($"entry '{name}' is {zipEntry.Length} bytes but the manifest says {size}.");
                    listed.Add(name);
                    files.Add(new ModelEntryInfo(name, size, sha));
                }
                steps.Add(new ModelStepInfo(index, loader, loaderVersion, dir, options, files));
            }
            foreach (var name in names)
                if (!listed.Contains(name)) throw Error($"entry '{name}' is not listed in the manifest.");
            return new ModelInfo(version, schema, steps);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw Error($"the manifest has a value of the wrong type: {e.Message}", e);
        }
    }

    private DataViewSchema ReadSchema(JsonArray columns)
    {
        var builder = new DataViewSchema.Builder();
        foreach (var c in columns)
        {
            string name = (string?)c?["name"] ?? throw Error("an input schema column has no name.");
            string type = (string?)c!["type"] ?? throw Error($"input schema column '{name}' has no type.");
            try
            {
                builder.AddColumn(name, DataViewType.Parse(type));
            }
            catch (FormatException e)
            {
                throw Error($"input schema column '{name}': {e.Message}", e);
            }
        }
        return builder.ToSchema();
    }

    /// <summary>Reads an entry, stopping past <paramref name="expected"/> bytes so a lying header cannot exhaust memory.</summary>
    private byte[] ReadLimited(ZipArchiveEntry entry, long expected)
    {
        try
        {
            using var s = entry.Open();
            var buffer = new byte[checked((int)Math.Min(expected, Array.MaxLength))];
            int read = 0;
            while (read < buffer.Length)
            {
                int n = s.Read(buffer, read, buffer.Length - read);
                if (n == 0) break;
                read += n;
            }
            if (read != expected || s.ReadByte() != -1)
                throw Error($"entry '{entry.FullName}' does not have the {expected} bytes its header declares.");
            return buffer;
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith("Invalid model", StringComparison.Ordinal))
        {
            throw Error($"entry '{entry.FullName}' is corrupt: {e.Message}", e);
        }
    }

    /// <summary>The entry's bytes after checking size and SHA-256 against the manifest.</summary>
    public byte[] ReadVerified(ModelEntryInfo info)
    {
        var entry = _zip.GetEntry(info.Name) ?? throw Error($"missing entry '{info.Name}'.");
        var bytes = ReadLimited(entry, info.Size);
        string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!string.Equals(sha, info.Sha256, StringComparison.OrdinalIgnoreCase))
            throw Error($"entry '{info.Name}' has SHA-256 {sha}, but the manifest says {info.Sha256}; the file is corrupt.");
        return bytes;
    }

    public void Dispose() => _zip.Dispose();

    /// <summary>Writes a model archive to a temporary file beside <paramref name="path"/> and moves it into place.</summary>
    public static void Save(IReadOnlyList<ITransformer> steps, DataViewSchema inputSchema, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        string temp = full + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite))
            using (var zip = new ZipArchive(file, ZipArchiveMode.Create))
            {
                var stepsJson = new JsonArray();
                for (int i = 0; i < steps.Count; i++)
                {
                    var ctx = new ModelSaveContext(zip, i);
                    steps[i].Save(ctx);
                    if (ctx.LoaderName is null)
                        throw new InvalidOperationException($"Step {i} ({steps[i].GetType().Name}) did not call ModelSaveContext.SetLoader in Save.");
                    stepsJson.Add(new JsonObject
                    {
                        ["index"] = i,
                        ["loader"] = ctx.LoaderName,
                        ["loaderVersion"] = ctx.LoaderVersion,
                        ["type"] = steps[i].GetType().FullName,
                        ["options"] = ctx.Options.DeepClone(),
                        ["entries"] = new JsonArray(ctx.Entries.Select(e => (JsonNode)new JsonObject
                        {
                            ["name"] = e.Name, ["size"] = e.Size, ["sha256"] = e.Sha256,
                        }).ToArray()),
                    });
                }
                var manifest = new JsonObject
                {
                    ["format"] = ModelInfo.FormatName,
                    ["version"] = ModelInfo.CurrentVersion,
                    ["createdBy"] = "MLNetGpt.Pipelines " + typeof(ModelArchive).Assembly.GetName().Version,
                    ["inputSchema"] = new JsonArray(inputSchema.Select(c => (JsonNode)new JsonObject
                    {
                        ["name"] = c.Name, ["type"] = c.Type.ToString(),
                    }).ToArray()),
                    ["steps"] = stepsJson,
                };
                var entry = zip.CreateEntry(ModelInfo.ManifestEntryName, CompressionLevel.Optimal);
                using var s = entry.Open();
                s.Write(Encoding.UTF8.GetBytes(manifest.ToJsonString(ModelJson.Options)));
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
