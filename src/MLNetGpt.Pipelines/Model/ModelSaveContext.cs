// What a component sees while being saved into a model .zip: its loader name, JSON options and its own files.
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetGpt.Pipelines;

/// <summary>
/// Passed to <see cref="ICanSaveModel.Save"/>. A component names its loader (<see cref="SetLoader"/>), puts its
/// options in the manifest (<see cref="SetOptions"/>) and writes files under its own step folder
/// (<see cref="CreateEntry"/>). Public, so third-party transformers save like built-in ones.
/// </summary>
public sealed class ModelSaveContext
{
    private readonly ZipArchive _archive;
    private readonly List<ModelEntryInfo> _entries = [];
    private bool _entryOpen;

    internal ModelSaveContext(ZipArchive archive, int stepIndex)
    {
        _archive = archive;
        StepIndex = stepIndex;
        Directory = $"steps/{stepIndex:D2}/";
    }

    /// <summary>Position of the step in the model.</summary>
    public int StepIndex { get; }

    /// <summary>Folder in the archive holding this step's files ("steps/00/").</summary>
    public string Directory { get; }

    internal string? LoaderName { get; private set; }

    internal int LoaderVersion { get; private set; }

    internal JsonObject Options { get; private set; } = [];

    internal IReadOnlyList<ModelEntryInfo> Entries => _entries;

    /// <summary>Names the loader registered in <see cref="ComponentCatalog"/> that reads this step back, and its format version.</summary>
    public void SetLoader(string loaderName, int version)
    {
        if (string.IsNullOrWhiteSpace(loaderName)) throw new ArgumentException("Loader name must be non-empty.", nameof(loaderName));
        if (version < 1) throw new ArgumentOutOfRangeException(nameof(version), version, "Loader version must be at least 1.");
        LoaderName = loaderName;
        LoaderVersion = version;
    }

    /// <summary>Options written into the manifest, readable by people and by <see cref="ModelLoadContext"/>.</summary>
    public void SetOptions(JsonObject options) => Options = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>Serializes <paramref name="options"/> (public properties) into the manifest.</summary>
    public void SetOptions<T>(T options) =>
        Options = JsonSerializer.SerializeToNode(options, ModelJson.Options) as JsonObject
            ?? throw new ArgumentException("Options must serialize to a JSON object.", nameof(options));

    /// <summary>
    /// A stream writing the file <paramref name="relativeName"/> (letters, digits, '.', '_', '-', '/') in this step's folder.
    /// Dispose it before creating the next one; its size and SHA-256 go into the manifest.
    /// </summary>
    public Stream CreateEntry(string relativeName)
    {
        string name = Directory + ModelArchive.CheckRelativeName(relativeName);
        if (_entryOpen) throw new InvalidOperationException("Dispose the previous entry stream before creating another.");
        if (_entries.Any(e => e.Name == name)) throw new ArgumentException($"Entry '{relativeName}' was already written.", nameof(relativeName));
        var entry = _archive.CreateEntry(name, CompressionLevel.Fastest);
        _entryOpen = true;
        return new HashingWriteStream(entry.Open(), (size, sha) =>
        {
            _entries.Add(new ModelEntryInfo(name, size, sha));
            _entryOpen = false;
        });
    }

    /// <summary>Writes a UTF-8 text file.</summary>
    public void WriteText(string relativeName, string text) => WriteBytes(relativeName, Encoding.UTF8.GetBytes(text));

    /// <summary>Writes a binary file.</summary>
    public void WriteBytes(string relativeName, ReadOnlySpan<byte> bytes)
    {
        using var s = CreateEntry(relativeName);
        s.Write(bytes);
    }

    /// <summary>
    /// Writes a file produced by a library that only writes to paths: <paramref name="write"/> gets a temporary path,
    /// whose content is then copied into the archive and deleted.
    /// </summary>
    public void WriteFile(string relativeName, Action<string> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string folder = Path.Combine(Path.GetTempPath(), "mlnetgpt-save-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(folder);
        try
        {
            string path = Path.Combine(folder, Path.GetFileName(relativeName));
            write(path);
            using var source = File.OpenRead(path);
            using var target = CreateEntry(relativeName);
            source.CopyTo(target);
        }
        finally
        {
            System.IO.Directory.Delete(folder, recursive: true);
        }
    }

    private sealed class HashingWriteStream(Stream inner, Action<long, string> onClose) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _size;
        private bool _closed;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _size;
        public override long Position { get => _size; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _hash.AppendData(buffer);
            inner.Write(buffer);
            _size += buffer.Length;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_closed)
            {
                _closed = true;
                inner.Dispose();
                onClose(_size, Convert.ToHexStringLower(_hash.GetHashAndReset()));
                _hash.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}

/// <summary>A file in a model archive as listed in the manifest.</summary>
/// <param name="Name">Full entry name ("steps/01/weights.safetensors").</param>
/// <param name="Size">Uncompressed size in bytes.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the content.</param>
public sealed record ModelEntryInfo(string Name, long Size, string Sha256);

/// <summary>JSON settings shared by manifests and options.</summary>
internal static class ModelJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };
}
