// Writes and reads one MLNetGpt step inside an ML.NET model .zip: Model.key body (hashed manifest) and hashed side entries.
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML;
using MLNetGpt.Persistence;

namespace MLNetGpt.Internals;

/// <summary>A side entry of a step: its file name in the step's folder and how to write its bytes.</summary>
internal sealed record SideEntry(string Name, Action<Stream> Write);

/// <summary>
/// The layout of a saved step (see README.md here): ML.NET's header with our signature and version, then the manifest
/// (length, UTF-8 JSON, SHA-256); side entries beside Model.key, each listed in the manifest with length and SHA-256.
/// </summary>
internal static class StepArchive
{
    /// <summary>Largest manifest accepted: settings are small, so anything bigger is damage, not data.</summary>
    public const int MaxManifestBytes = 1 << 20;

    public static void Save(ModelSaveContext ctx, StepKind kind, JsonObject settings, IReadOnlyList<SideEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ctx.CheckAtModel();
        ctx.SetVersionInfo(VersionOf(kind));
        var listed = new JsonObject();
        foreach (var entry in entries)
        {
            long length = 0;
            string hash = "";
            ctx.SaveBinaryStream(entry.Name, writer =>
            {
                writer.Flush();
                using var hashing = HashingStream.ForWriting(writer.BaseStream);
                entry.Write(hashing);
                hashing.Flush();
                length = hashing.Count;
                hash = hashing.HashHex();
            });
            listed[entry.Name] = new JsonObject { ["length"] = length, ["sha256"] = hash };
        }
        var manifest = new JsonObject
        {
            ["format"] = kind.Format,
            ["version"] = kind.Version,
            ["settings"] = settings,
            ["entries"] = listed,
        };
        byte[] bytes = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        if (bytes.Length > MaxManifestBytes)
            throw new InvalidOperationException($"The {kind.Format} manifest is {bytes.Length} bytes; at most {MaxManifestBytes} fit.");
        ctx.Writer.Write(bytes.Length);
        ctx.Writer.Write(bytes);
        ctx.Writer.Write(SHA256.HashData(bytes));
    }

    /// <summary>Reads and checks a step's header and manifest; side entries are read through the returned reader.</summary>
    /// <exception cref="InvalidDataException">Wrong signature, newer format, damaged or truncated manifest; the message names the entry.</exception>
    public static StepReader Open(ModelLoadContext ctx, StepKind kind)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        string folder = string.IsNullOrEmpty(ctx.Directory) ? "" : ctx.Directory.Replace('\\', '/') + "/";
        string location = folder + "Model.key";
        ctx.CheckAtModel();
        var header = ctx.Header;
        var expected = VersionOf(kind);
        if (header.ModelSignature != expected.ModelSignature)
            throw new InvalidDataException($"'{location}' is not a {kind.Format} (its model signature differs).");
        int written = (int)(header.ModelVerWritten >> 16), readable = (int)(header.ModelVerReadable >> 16);
        if (readable > kind.Version)
            throw new InvalidDataException(
                $"'{location}' was written in {kind.Format} format version {written} by a newer MLNetGpt; this MLNetGpt reads version {kind.Version}. Update the MLNetGpt package to load this model.");
        if (written < 1)
            throw new InvalidDataException($"'{location}' has format version {written}; the first version is 1.");

        var reader = ctx.Reader;
        byte[] bytes, hash;
        try
        {
            int n = reader.ReadInt32();
            if (n <= 0 || n > MaxManifestBytes)
                throw new InvalidDataException($"'{location}' is damaged: its manifest length {n} is outside 1..{MaxManifestBytes}.");
            bytes = reader.ReadBytes(n);
            hash = reader.ReadBytes(32);
            if (bytes.Length != n || hash.Length != 32)
                throw new InvalidDataException($"'{location}' is truncated inside its manifest.");
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"'{location}' is truncated before its manifest.", e);
        }
        if (!SHA256.HashData(bytes).AsSpan().SequenceEqual(hash))
            throw new InvalidDataException($"'{location}' is damaged: the SHA-256 of its manifest does not match.");

        JsonObject manifest;
        try
        {
            manifest = JsonNode.Parse(bytes) as JsonObject ?? throw new InvalidDataException($"'{location}': the manifest is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{location}': the manifest is not valid JSON: {e.Message}", e);
        }
        var step = new StepReader(ctx, location, folder, manifest);
        if (step.Require<string>(manifest, "format") != kind.Format)
            throw step.Error($"its manifest is a '{manifest["format"]}', expected '{kind.Format}'");
        int version = step.Require<int>(manifest, "version");
        if (version != written)
            throw step.Error($"its manifest says format version {version}, its header {written}");
        return step;
    }

    private static VersionInfo VersionOf(StepKind kind) => new(
        modelSignature: kind.ModelSignature,
        verWrittenCur: kind.PackedVersion,
        verReadableCur: kind.PackedVersion,
        verWeCanReadBack: StepKind.FirstPackedVersion,
        // The simple name: a full name would pin the assembly version and make every later MLNetGpt refuse the model.
        loaderAssemblyName: typeof(StepArchive).Assembly.GetName().Name,
        loaderSignature: kind.LoaderSignature);
}

/// <summary>A step being loaded: its settings, and its side entries read only after their size and SHA-256 check out.</summary>
internal sealed class StepReader
{
    private readonly ModelLoadContext _ctx;
    private readonly string _folder;
    private readonly JsonObject _entries;

    internal StepReader(ModelLoadContext ctx, string location, string folder, JsonObject manifest)
    {
        _ctx = ctx;
        Location = location;
        _folder = folder;
        Settings = manifest["settings"] as JsonObject ?? throw Error("its manifest has no 'settings' object");
        _entries = manifest["entries"] as JsonObject ?? throw Error("its manifest has no 'entries' object");
    }

    /// <summary>Where the step's Model.key is inside the .zip (for messages).</summary>
    public string Location { get; }

    /// <summary>The step's own settings from the manifest.</summary>
    public JsonObject Settings { get; }

    /// <summary>An error naming this step's Model.key.</summary>
    public InvalidDataException Error(string problem, Exception? inner = null) => new($"'{Location}': {problem}.", inner);

    /// <summary>A required manifest value of type <typeparamref name="T"/>.</summary>
    public T Require<T>(JsonObject obj, string name)
    {
        var node = obj[name] ?? throw Error($"its manifest has no '{name}'");
        try
        {
            return node.Deserialize<T>() ?? throw Error($"its manifest's '{name}' is null");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw Error($"its manifest's '{name}' is not a {typeof(T).Name}: {node.ToJsonString()}", e);
        }
    }

    /// <summary>A required settings value deserialized with <paramref name="options"/>.</summary>
    public T Setting<T>(string name, JsonSerializerOptions? options = null)
    {
        var node = Settings[name] ?? throw Error($"its settings have no '{name}'");
        try
        {
            return node.Deserialize<T>(options) ?? throw Error($"its setting '{name}' is null");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NotSupportedException or ArgumentException)
        {
            throw Error($"its setting '{name}' is invalid: {e.Message}", e);
        }
    }

    /// <summary>
    /// Reads side entry <paramref name="name"/> with <paramref name="read"/> after checking that the manifest lists it, that
    /// its length is at most <paramref name="maxLength"/> (the bound the step's configuration implies), that the archive
    /// holds it with that length (checked before ML.NET extracts it), and that its SHA-256 matches.
    /// </summary>
    public T ReadEntry<T>(string name, long maxLength, Func<Stream, T> read)
    {
        string path = _folder + name;
        if (_entries[name] is not JsonObject listed) throw Error($"its manifest lists no entry '{name}'");
        long length = Require<long>(listed, "length");
        string sha = Require<string>(listed, "sha256");
        if (length < 0 || length > maxLength)
            throw Error($"entry '{name}' is {length} bytes by the manifest, but at most {maxLength} bytes fit this step's configuration");
        var archived = ArchivedEntry(path) ?? throw Error($"entry '{path}' is missing from the archive");
        if (archived.Length != length)
            throw Error($"entry '{path}' holds {archived.Length} bytes, but the manifest says {length}");

        T result = default!;
        bool found = _ctx.TryLoadBinaryStream(name, reader =>
        {
            var stream = reader.BaseStream; // ML.NET hands out a seekable copy (temporary file or memory)
            using (var hashing = HashingStream.ForReading(stream, length,
                       n => Error($"entry '{path}' is longer than the {length} bytes the manifest says")))
            {
                hashing.ReadToEnd();
                if (hashing.Count != length) throw Error($"entry '{path}' is truncated: {hashing.Count} of {length} bytes");
                if (hashing.HashHex() != sha) throw Error($"entry '{path}' is damaged: its SHA-256 does not match the manifest");
            }
            stream.Position = 0;
            try
            {
                result = read(stream);
            }
            catch (Exception e) when (e is InvalidDataException or FormatException or ArgumentException or EndOfStreamException)
            {
                throw Error($"entry '{path}' cannot be read: {e.Message}", e);
            }
        });
        if (!found) throw Error($"entry '{path}' is missing from the archive");
        return result;
    }

    private ZipArchiveEntry? ArchivedEntry(string path)
    {
        var entries = _ctx.Repository?._entries;
        if (entries is null) return null;
        if (entries.TryGetValue(path.Replace('/', Path.DirectorySeparatorChar), out var entry)) return entry;
        return entries.TryGetValue(path.Replace('/', '\\'), out entry) ? entry : null;
    }
}
