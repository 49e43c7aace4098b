// Minimal safetensors reader and writer: u64 little-endian header length, JSON header, raw little-endian data.
// The format is what the Python ecosystem (safetensors, Hugging Face) reads; our magic/version live in "__metadata__".
// We write F32; the header parser knows every safetensors dtype (so foreign files parse), the readers convert F32/F16/BF16.
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace MLNetGpt.Models.Serialization;

/// <summary>
/// One tensor to write: a name, a shape and its floats. With <paramref name="Transposed"/>, <paramref name="Data"/> holds the
/// transpose of the tensor written, [Shape[1], Shape[0]] row-major (a [out,in] Linear weight written as a [in,out] Conv1D one).
/// </summary>
internal readonly record struct TensorToWrite(string Name, int[] Shape, ReadOnlyMemory<float> Data, bool Transposed = false);

/// <summary>One tensor described by a safetensors header.</summary>
internal sealed record TensorInfo(string Name, string DType, int[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);
    public string ShapeText => "[" + string.Join(",", Shape) + "]";
}

/// <summary>What loading a model needs of a parsed safetensors file, whether its data is in memory or read from a stream.</summary>
internal interface ITensorSource
{
    /// <summary>Names the file in error messages.</summary>
    string Source { get; }

    IReadOnlyDictionary<string, string> Metadata { get; }

    IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    /// <summary>Bytes of the data section.</summary>
    long DataLength { get; }

    /// <summary>True when the file carries a <see cref="SafeTensorsHeader.ChecksumKey"/> and every byte matched it.</summary>
    bool ChecksumVerified { get; }

    /// <summary>Copies tensor <paramref name="name"/> into <paramref name="destination"/>, checking dtype F32 and the exact shape.</summary>
    void CopyTo(string name, ReadOnlySpan<int> expectedShape, Span<float> destination);
}

/// <summary>
/// The header of a safetensors file, parsed and checked: metadata, the tensor table (every tensor's byte span matches its
/// dtype and shape, and the spans tile the data section with no overlap and no gap) and the data section's length.
/// </summary>
internal sealed class SafeTensorsHeader
{
    /// <summary>Largest header we accept (the format's own limit is 100 MB).</summary>
    private const long MaxHeaderBytes = 100_000_000;

    /// <summary>
    /// Metadata key of the whole-file checksum: the SHA-256 (lower-case hex) of every byte of the file as written with
    /// this value's 64 digits set to '0'. Written first in "__metadata__" so its place is easy to find.
    /// </summary>
    public const string ChecksumKey = "checksum_sha256";

    private static readonly byte[] ChecksumMarker = Encoding.UTF8.GetBytes($"\"{ChecksumKey}\":\"");

    private SafeTensorsHeader(string source, byte[] lengthPrefix, byte[] bytes, Dictionary<string, string> metadata,
        Dictionary<string, TensorInfo> tensors, long dataLength)
    {
        Source = source; LengthPrefix = lengthPrefix; Bytes = bytes; Metadata = metadata; Tensors = tensors; DataLength = dataLength;
    }

    public string Source { get; }

    /// <summary>The file's first 8 bytes (the header length).</summary>
    public byte[] LengthPrefix { get; }

    /// <summary>The JSON header as stored (with its padding).</summary>
    public byte[] Bytes { get; }

    public Dictionary<string, string> Metadata { get; }
    public Dictionary<string, TensorInfo> Tensors { get; }
    public long DataLength { get; }

    /// <summary>Bytes per element of a safetensors dtype; 0 for a name the format does not define.</summary>
    public static int ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "F8_E4M3" or "F8_E5M2" or "I8" or "U8" or "BOOL" => 1,
        _ => 0,
    };

    /// <summary>
    /// Reads the length prefix and the header from <paramref name="stream"/>, leaving it at the first data byte.
    /// Throws <see cref="InvalidDataException"/> for a truncated or malformed header and for a tensor table whose byte
    /// ranges overlap, leave gaps or do not match their shapes.
    /// </summary>
    public static SafeTensorsHeader Read(Stream stream, string source)
    {
        var len = new byte[8];
        int got = ReadFully(stream, len);
        if (got < 8) throw new InvalidDataException($"'{source}' is truncated: {got} bytes, but a safetensors file starts with an 8-byte header length.");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(len);
        if (headerLength < 2 || headerLength > MaxHeaderBytes)
            throw new InvalidDataException($"'{source}' is not a safetensors file: header length {headerLength} is outside [2, {MaxHeaderBytes}].");
        if (stream.CanSeek && stream.Length - stream.Position < (long)headerLength)
            throw new InvalidDataException($"'{source}' is truncated: the header declares {headerLength} bytes but only {stream.Length - stream.Position} follow.");
        var header = new byte[headerLength];
        got = ReadFully(stream, header);
        if (got < header.Length) throw new InvalidDataException($"'{source}' is truncated inside its header ({got} of {headerLength} bytes).");

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var tensors = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        try
        {
            string text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(header).TrimEnd(' ');
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"'{source}': the safetensors header is not a JSON object.");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    foreach (var m in p.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                if (tensors.ContainsKey(p.Name)) throw new InvalidDataException($"'{source}': tensor '{p.Name}' is listed twice.");
                string dtype = p.Value.GetProperty("dtype").GetString() ?? "";
                int[] shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                long[] offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
                    throw new InvalidDataException($"'{source}': tensor '{p.Name}' has invalid data_offsets.");
                if (shape.Any(d => d < 0)) throw new InvalidDataException($"'{source}': tensor '{p.Name}' has a negative dimension.");
                tensors[p.Name] = new TensorInfo(p.Name, dtype, shape, offsets[0], offsets[1]);
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or DecoderFallbackException or ArgumentException)
        {
            throw new InvalidDataException($"'{source}': malformed safetensors header: {e.Message}", e);
        }

        foreach (var t in tensors.Values)
        {
            long bytesPer = ElementSize(t.DType);
            long elements = 1;
            foreach (int d in t.Shape)
            {
                if (d != 0 && elements > long.MaxValue / 8 / d)
                    throw new InvalidDataException($"'{source}': tensor '{t.Name}' has an impossibly large shape {t.ShapeText}.");
                elements *= d;
            }
            if (bytesPer == 0)
                throw new InvalidDataException($"'{source}': tensor '{t.Name}' has dtype '{t.DType}', which is not a safetensors dtype.");
            if (t.End - t.Begin != elements * bytesPer)
                throw new InvalidDataException($"'{source}': tensor '{t.Name}' ({t.DType}, shape {t.ShapeText}) spans {t.End - t.Begin} bytes, which does not match its shape.");
        }
        // The tensors must tile the data section exactly, as the safetensors format requires: no overlap, no gap.
        long dataLength = 0;
        foreach (var t in tensors.Values.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (t.Begin != dataLength)
                throw new InvalidDataException(t.Begin < dataLength
                    ? $"'{source}': tensor '{t.Name}' (bytes {t.Begin}..{t.End}) overlaps the tensor before it, which ends at byte {dataLength}."
                    : $"'{source}': tensor '{t.Name}' starts at byte {t.Begin}, leaving a gap after byte {dataLength}.");
            dataLength = t.End;
        }
        return new SafeTensorsHeader(source, len, header, metadata, tensors, dataLength);
    }

    /// <summary>
    /// When the metadata holds a <see cref="ChecksumKey"/>, hashes the file (the data through <paramref name="appendData"/>)
    /// and throws <see cref="InvalidDataException"/> unless it matches; returns whether there was a checksum to verify.
    /// </summary>
    public bool VerifyChecksum(Action<IncrementalHash> appendData)
    {
        if (!Metadata.TryGetValue(ChecksumKey, out var expected)) return false;
        var span = Bytes.AsSpan();
        int at = span.IndexOf(ChecksumMarker);
        if (at < 0 || span[(at + 1)..].IndexOf(ChecksumMarker) >= 0 || at + ChecksumMarker.Length + 64 > Bytes.Length)
            throw new InvalidDataException($"'{Source}' is damaged: its '{ChecksumKey}' entry is not where the format puts it.");
        at += ChecksumMarker.Length;
        var zeroed = (byte[])Bytes.Clone();
        zeroed.AsSpan(at, 64).Fill((byte)'0');
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(LengthPrefix);
        sha.AppendData(zeroed);
        appendData(sha);
        string actual = Convert.ToHexStringLower(sha.GetHashAndReset());
        if (!string.Equals(actual, expected, StringComparison.Ordinal))
            throw new InvalidDataException($"'{Source}' is damaged: its SHA-256 checksum does not match its contents (stored {Shorten(expected)}, computed {actual[..16]}...); it changed after it was written.");
        return true;
    }

    /// <summary>Where the checksum's digits go in a header being written.</summary>
    internal static int ChecksumDigitsAt(ReadOnlySpan<byte> header) => header.IndexOf(ChecksumMarker) + ChecksumMarker.Length;

    private static string Shorten(string s) => s.Length > 16 ? s[..16] + "..." : s;

    internal static int ReadFully(Stream s, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = s.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}

/// <summary>A parsed safetensors file held in memory: metadata, tensor table and the data section.</summary>
internal sealed class SafeTensorsFile : ITensorSource
{
    /// <inheritdoc cref="SafeTensorsHeader.ChecksumKey"/>
    public const string ChecksumKey = SafeTensorsHeader.ChecksumKey;

    private SafeTensorsFile(SafeTensorsHeader header, byte[] data, bool checksumVerified)
    {
        Source = header.Source;
        Metadata = header.Metadata;
        Tensors = header.Tensors;
        Data = data;
        ChecksumVerified = checksumVerified;
    }

    public string Source { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }
    public byte[] Data { get; }
    public long DataLength => Data.LongLength;

    /// <summary>True when the file carries a <see cref="ChecksumKey"/> and every byte matched it.</summary>
    public bool ChecksumVerified { get; }

    /// <summary>
    /// Writes the tensors in the given order as F32, the header padded with spaces to a multiple of 8 bytes. With
    /// <paramref name="checksum"/>, "__metadata__" starts with <see cref="ChecksumKey"/> covering every byte of the file
    /// (transposed tensors cannot be checksummed: their bytes are produced once, as they are written).
    /// </summary>
    public static void Write(Stream destination, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<TensorToWrite> tensors, bool checksum = false)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors writing needs a little-endian machine.");
        if (checksum && tensors.Any(t => t.Transposed)) throw new ArgumentException("Transposed tensors cannot be written with a checksum.", nameof(tensors));
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            if (checksum) w.WriteString(ChecksumKey, new string('0', 64));
            foreach (var (k, v) in metadata)
            {
                if (k == ChecksumKey) throw new ArgumentException($"Metadata key '{ChecksumKey}' is reserved.", nameof(metadata));
                w.WriteString(k, v);
            }
            w.WriteEndObject();
            long offset = 0;
            foreach (var t in tensors)
            {
                if (t.Shape.Aggregate(1L, (a, d) => a * d) != t.Data.Length || (t.Transposed && t.Shape.Length != 2))
                    throw new ArgumentException($"Tensor '{t.Name}' has {t.Data.Length} floats, which do not fill shape [{string.Join(",", t.Shape)}].", nameof(tensors));
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += 4L * t.Data.Length;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - json.Length % 8) % 8);
        var header = new byte[json.Length + pad];
        json.GetBuffer().AsSpan(0, (int)json.Length).CopyTo(header);
        header.AsSpan((int)json.Length).Fill((byte)' ');
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        if (checksum)
        {
            // The hash covers the file with the digits as zeros, so it is computed before they are filled in.
            int at = SafeTensorsHeader.ChecksumDigitsAt(header);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            sha.AppendData(length);
            sha.AppendData(header);
            foreach (var t in tensors) sha.AppendData(MemoryMarshal.AsBytes(t.Data.Span));
            Encoding.ASCII.GetBytes(Convert.ToHexStringLower(sha.GetHashAndReset())).CopyTo(header, at);
        }
        destination.Write(length);
        destination.Write(header);
        float[]? buffer = null;
        foreach (var t in tensors)
        {
            if (!t.Transposed)
            {
                destination.Write(MemoryMarshal.AsBytes(t.Data.Span));
                continue;
            }
            // Data is [cols, rows]; the file gets [rows, cols], a block of rows at a time through one bounded buffer.
            int rows = t.Shape[0], cols = t.Shape[1];
            int block = Math.Max(1, Math.Min(rows, (1 << 18) / Math.Max(cols, 1)));
            buffer ??= new float[1 << 18];
            for (int r0 = 0; r0 < rows; r0 += block)
            {
                int n = Math.Min(block, rows - r0);
                var src = t.Data.Span;
                var dst = buffer.AsSpan(0, n * cols);
                for (int j = 0; j < cols; j++)
                {
                    var column = src.Slice(j * rows + r0, n); // row j of the data: elements (r0.., j) of the tensor written
                    for (int r = 0; r < n; r++) dst[r * cols + j] = column[r];
                }
                destination.Write(MemoryMarshal.AsBytes(dst));
            }
        }
    }

    /// <summary>
    /// Reads a whole file from <paramref name="stream"/>; <paramref name="source"/> names it in error messages.
    /// Throws <see cref="InvalidDataException"/> for a truncated file, a malformed header, tensors whose byte ranges
    /// overlap, leave gaps or do not match their shapes, bytes after the data, or a checksum that does not match.
    /// Memory is bounded by the bytes the stream really holds (plus the header): a header that promises more is refused
    /// before the data is allocated. <see cref="SafeTensorsReader"/> reads a seekable stream without holding its data.
    /// </summary>
    public static SafeTensorsFile Read(Stream stream, string source)
    {
        var header = SafeTensorsHeader.Read(stream, source);
        long dataLength = header.DataLength;
        if (dataLength > Array.MaxLength) throw new InvalidDataException($"'{source}': data section of {dataLength} bytes is too large to load.");
        if (stream.CanSeek && stream.Length - stream.Position < dataLength)
            throw new InvalidDataException($"'{source}' is truncated: the header declares {dataLength} data bytes but only {stream.Length - stream.Position} follow.");
        var data = ReadData(stream, dataLength, source);
        if (stream.CanSeek ? stream.Position != stream.Length : stream.ReadByte() >= 0)
            throw new InvalidDataException($"'{source}' has bytes after the end of its data section ({dataLength} bytes); the file is damaged.");
        bool verified = header.VerifyChecksum(sha => sha.AppendData(data));
        return new SafeTensorsFile(header, data, verified);
    }

    // Reads exactly `length` bytes. A seekable stream was checked to hold them; from any other stream the buffer grows as
    // bytes arrive, so a header that lies about the size cannot make us allocate what the stream does not have.
    private static byte[] ReadData(Stream stream, long length, string source)
    {
        byte[] data;
        int got;
        if (stream.CanSeek)
        {
            data = new byte[length];
            got = SafeTensorsHeader.ReadFully(stream, data);
        }
        else
        {
            data = new byte[Math.Min(length, 1 << 20)];
            got = 0;
            while (got < length)
            {
                if (got == data.Length) Array.Resize(ref data, (int)Math.Min(length, 2L * data.Length));
                int n = stream.Read(data, got, data.Length - got);
                if (n == 0) break;
                got += n;
            }
        }
        if (got < length) throw new InvalidDataException($"'{source}' is truncated: the header declares {length} data bytes but only {got} follow.");
        return data;
    }

    /// <inheritdoc/>
    public void CopyTo(string name, ReadOnlySpan<int> expectedShape, Span<float> destination)
    {
        var t = SafeTensorsReader.CheckF32(this, name, expectedShape, destination.Length);
        MemoryMarshal.Cast<byte, float>(Data.AsSpan((int)t.Begin, (int)(t.End - t.Begin))).CopyTo(destination);
    }

    /// <summary>Tensor <paramref name="name"/> as a new float array (any shape).</summary>
    public float[] ReadFloats(string name)
    {
        if (!Tensors.TryGetValue(name, out var t)) throw new InvalidDataException($"'{Source}' has no tensor named '{name}'.");
        if (t.DType != "F32") throw new InvalidDataException($"'{Source}': tensor '{name}' is {t.DType}; only F32 is supported.");
        return MemoryMarshal.Cast<byte, float>(Data.AsSpan((int)t.Begin, (int)(t.End - t.Begin))).ToArray();
    }
}
