// Edits saved model .zip files for the corruption tests: entries rewritten with System.IO.Compression, Model.key bodies rebuilt.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace MLNetGpt.Tests;

/// <summary>
/// Reads and rewrites the entries of an ML.NET model .zip. Entry names are compared with '/' separators whatever the
/// archive uses. The Model.key helpers follow ML.NET's header layout (Microsoft.ML.Core/Data/ModelHeader.cs: a 256-byte
/// header, then the model body, the string table, the loader assembly name and an 8-byte tail) and the body MLNetGpt
/// writes after it (src/MLNetGpt/Internals/README.md: int32 manifest length, UTF-8 JSON manifest, its SHA-256).
/// </summary>
internal static class ModelZip
{
    // ModelHeader field offsets.
    private const int HeaderSize = 0x100;
    private const int FpModel = 0x10, CbModel = 0x18, FpStringTable = 0x20, FpStringChars = 0x30;
    private const int ModelVerWritten = 0x48, ModelVerReadable = 0x4C;
    private const int FpTail = 0x80, FpLim = 0x88, FpAssemblyName = 0x90;

    /// <summary>The offset of the manifest's first byte inside a step's Model.key.</summary>
    public const int ManifestOffset = HeaderSize + sizeof(int);

    public static string Normalize(string name) => name.Replace('\\', '/');

    /// <summary>Every entry of the archive, in order, with its bytes.</summary>
    public static List<(string Name, byte[] Bytes)> ReadEntries(string path)
    {
        var entries = new List<(string, byte[])>();
        using var zip = ZipFile.OpenRead(path);
        foreach (var entry in zip.Entries)
        {
            using var source = entry.Open();
            using var copy = new MemoryStream();
            source.CopyTo(copy);
            entries.Add((entry.FullName, copy.ToArray()));
        }
        return entries;
    }

    /// <summary>The bytes of entry <paramref name="name"/> ('/'-separated).</summary>
    public static byte[] Entry(string path, string name) =>
        ReadEntries(path).Single(e => Normalize(e.Name) == name).Bytes;

    /// <summary>Writes a copy of <paramref name="source"/> at <paramref name="destination"/> with its entries edited.</summary>
    public static string Rewrite(string source, string destination, Func<List<(string Name, byte[] Bytes)>, IEnumerable<(string Name, byte[] Bytes)>> edit)
    {
        var entries = edit(ReadEntries(source)).ToList();
        File.Delete(destination);
        using var zip = ZipFile.Open(destination, ZipArchiveMode.Create);
        foreach (var (name, bytes) in entries)
        {
            using var stream = zip.CreateEntry(name).Open();
            stream.Write(bytes);
        }
        return destination;
    }

    /// <summary>A copy with entry <paramref name="name"/>'s bytes replaced by <paramref name="change"/>(bytes).</summary>
    public static string ReplaceEntry(string source, string destination, string name, Func<byte[], byte[]> change)
    {
        bool found = false;
        Rewrite(source, destination, entries => entries.Select(e =>
        {
            if (Normalize(e.Name) != name) return e;
            found = true;
            return (e.Name, change(e.Bytes));
        }).ToList());
        Assert.IsTrue(found, $"the archive has no entry '{name}'");
        return destination;
    }

    /// <summary>A copy without entry <paramref name="name"/>.</summary>
    public static string RemoveEntry(string source, string destination, string name)
    {
        int before = 0;
        Rewrite(source, destination, entries =>
        {
            before = entries.Count;
            return entries.Where(e => Normalize(e.Name) != name).ToList();
        });
        Assert.AreEqual(before - 1, ReadEntries(destination).Count, $"'{name}' was not removed");
        return destination;
    }

    /// <summary><paramref name="bytes"/> with bit <paramref name="bit"/> of byte <paramref name="index"/> flipped (a copy).</summary>
    public static byte[] FlipBit(byte[] bytes, int index, int bit = 0)
    {
        var copy = (byte[])bytes.Clone();
        copy[index] ^= (byte)(1 << bit);
        return copy;
    }

    /// <summary>The manifest length a step's Model.key states.</summary>
    public static int ManifestLength(byte[] modelKey) => BinaryPrimitives.ReadInt32LittleEndian(modelKey.AsSpan(HeaderSize));

    /// <summary>The manifest JSON of a step's Model.key.</summary>
    public static JsonObject Manifest(byte[] modelKey)
    {
        return JsonNode.Parse(modelKey.AsSpan(ManifestOffset, ManifestLength(modelKey)))!.AsObject();
    }

    /// <summary>
    /// A step's Model.key with its manifest edited and re-hashed (a consistent manifest, so only the checks after the
    /// manifest hash can reject it); ML.NET's header offsets are moved to follow the new body length.
    /// </summary>
    public static byte[] EditManifest(byte[] modelKey, Action<JsonObject> edit)
    {
        var manifest = Manifest(modelKey);
        edit(manifest);
        byte[] json = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        var body = new byte[sizeof(int) + json.Length + 32];
        BinaryPrimitives.WriteInt32LittleEndian(body, json.Length);
        json.CopyTo(body, sizeof(int));
        SHA256.HashData(json).CopyTo(body, sizeof(int) + json.Length);
        return ReplaceBody(modelKey, body);
    }

    /// <summary>A Model.key with its model body replaced and every header offset after the body shifted accordingly.</summary>
    public static byte[] ReplaceBody(byte[] modelKey, byte[] body)
    {
        var header = modelKey.AsSpan(0, HeaderSize).ToArray();
        Assert.AreEqual(HeaderSize, BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(FpModel)), "the model body follows the header");
        long oldLength = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(CbModel));
        long delta = body.Length - oldLength;
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(CbModel), body.Length);
        foreach (int field in new[] { FpStringTable, FpStringChars, FpAssemblyName, FpTail, FpLim })
        {
            long value = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(field));
            if (value != 0) BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(field), value + delta);
        }
        return [.. header, .. body, .. modelKey.AsSpan(HeaderSize + (int)oldLength)];
    }

    /// <summary>A Model.key whose header says it was written in (and is readable from) <paramref name="formatVersion"/>.</summary>
    public static byte[] SetFormatVersion(byte[] modelKey, int formatVersion)
    {
        var copy = (byte[])modelKey.Clone();
        // ML.NET packs versions as 0xMMMMmmmm; MLNetGpt writes format N as 0x000N0001.
        uint packed = ((uint)formatVersion << 16) | 1u;
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(ModelVerWritten), packed);
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(ModelVerReadable), packed);
        return copy;
    }

    /// <summary>The (written, readable) model versions of a Model.key header.</summary>
    public static (uint Written, uint Readable) FormatVersions(byte[] modelKey) =>
        (BinaryPrimitives.ReadUInt32LittleEndian(modelKey.AsSpan(ModelVerWritten)), BinaryPrimitives.ReadUInt32LittleEndian(modelKey.AsSpan(ModelVerReadable)));
}
