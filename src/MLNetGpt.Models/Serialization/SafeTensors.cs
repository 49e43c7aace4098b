// Minimal safetensors reader and writer (F32 only): u64 little-endian header length, JSON header, raw little-endian data.
// The format is what the Python ecosystem (safetensors, Hugging Face) reads; our magic/version live in "__metadata__".
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace MLNetGpt.Models.Serialization;

/// <summary>One tensor to write: a name, a shape and its floats.</summary>
internal readonly record struct TensorToWrite(string Name, int[] Shape, ReadOnlyMemory<float> Data);

/// <summary>One tensor described by a safetensors header.</summary>
internal sealed record TensorInfo(string Name, string DType, int[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);
    public string ShapeText => "[" + string.Join(",", Shape) + "]";
}

/// <summary>A parsed safetensors file: metadata, tensor table and the data section.</summary>
internal sealed class SafeTensorsFile
{
    /// <summary>Largest header we accept (the format's own limit is 100 MB).</summary>
    private const long MaxHeaderBytes = 100_000_000;

    private SafeTensorsFile(string source, Dictionary<string, string> metadata, Dictionary<string, TensorInfo> tensors, byte[] data)
    {
        Source = source;
        Metadata = metadata;
        Tensors = tensors;
        Data = data;
    }

    public string Source { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }
    public byte[] Data { get; }

    /// <summary>Writes the tensors in the given order, the header padded with spaces to a multiple of 8 bytes.</summary>
    public static void Write(Stream destination, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<TensorToWrite> tensors)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors writing needs a little-endian machine.");
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            foreach (var (k, v) in metadata) w.WriteString(k, v);
            w.WriteEndObject();
            long offset = 0;
            foreach (var t in tensors)
            {
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
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(json.Length + pad));
        destination.Write(len);
        destination.Write(json.GetBuffer(), 0, (int)json.Length);
        for (int i = 0; i < pad; i++) destination.WriteByte((byte)' ');
        foreach (var t in tensors) destination.Write(MemoryMarshal.AsBytes(t.Data.Span));
    }

    /// <summary>
    /// Reads a whole file from <paramref name="stream"/>; <paramref name="source"/> names it in error messages.
    /// Throws <see cref="InvalidDataException"/> for a truncated file, a malformed header or inconsistent offsets.
    /// </summary>
    public static SafeTensorsFile Read(Stream stream, string source)
    {
        Span<byte> len = stackalloc byte[8];
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
            using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(header).TrimEnd(' '));
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"'{source}': the safetensors header is not a JSON object.");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    foreach (var m in p.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                string dtype = p.Value.GetProperty("dtype").GetString() ?? "";
                int[] shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                long[] offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
                    throw new InvalidDataException($"'{source}': tensor '{p.Name}' has invalid data_offsets.");
                if (shape.Any(d => d < 0)) throw new InvalidDataException($"'{source}': tensor '{p.Name}' has a negative dimension.");
                tensors[p.Name] = new TensorInfo(p.Name, dtype, shape, offsets[0], offsets[1]);
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or DecoderFallbackException)
        {
            throw new InvalidDataException($"'{source}': malformed safetensors header: {e.Message}", e);
        }

        long dataLength = tensors.Count == 0 ? 0 : tensors.Values.Max(t => t.End);
        foreach (var t in tensors.Values)
        {
            long bytesPer = t.DType switch { "F32" => 4, "F16" or "BF16" => 2, "F64" => 8, _ => 0 };
            if (bytesPer == 0 || t.End - t.Begin != t.ElementCount * bytesPer)
                throw new InvalidDataException($"'{source}': tensor '{t.Name}' ({t.DType}, shape {t.ShapeText}) spans {t.End - t.Begin} bytes, which does not match its shape.");
        }
        if (dataLength > Array.MaxLength) throw new InvalidDataException($"'{source}': data section of {dataLength} bytes is too large to load.");
        if (stream.CanSeek && stream.Length - stream.Position < dataLength)
            throw new InvalidDataException($"'{source}' is truncated: the header declares {dataLength} data bytes but only {stream.Length - stream.Position} follow.");
        var data = new byte[dataLength];
        got = ReadFully(stream, data);
        if (got < data.Length) throw new InvalidDataException($"'{source}' is truncated: the header declares {dataLength} data bytes but only {got} follow.");
        return new SafeTensorsFile(source, metadata, tensors, data);
    }

    /// <summary>Copies tensor <paramref name="name"/> into <paramref name="destination"/>, checking dtype F32 and the exact shape.</summary>
    public void CopyTo(string name, ReadOnlySpan<int> expectedShape, Span<float> destination)
    {
        if (!Tensors.TryGetValue(name, out var t)) throw new InvalidDataException($"'{Source}' has no tensor named '{name}'.");
        string expected = "[" + string.Join(",", expectedShape.ToArray()) + "]";
        if (t.DType != "F32") throw new InvalidDataException($"'{Source}': tensor '{name}' is {t.DType}; only F32 is supported.");
        if (!t.Shape.AsSpan().SequenceEqual(expectedShape))
            throw new InvalidDataException($"'{Source}': tensor '{name}' has shape {t.ShapeText} but the configuration needs {expected}.");
        if (destination.Length != t.ElementCount) throw new ArgumentException($"Destination for '{name}' holds {destination.Length} floats, needs {t.ElementCount}.", nameof(destination));
        MemoryMarshal.Cast<byte, float>(Data.AsSpan((int)t.Begin, (int)(t.End - t.Begin))).CopyTo(destination);
    }

    /// <summary>Tensor <paramref name="name"/> as a new float array (any shape).</summary>
    public float[] ReadFloats(string name)
    {
        if (!Tensors.TryGetValue(name, out var t)) throw new InvalidDataException($"'{Source}' has no tensor named '{name}'.");
        if (t.DType != "F32") throw new InvalidDataException($"'{Source}': tensor '{name}' is {t.DType}; only F32 is supported.");
        return MemoryMarshal.Cast<byte, float>(Data.AsSpan((int)t.Begin, (int)(t.End - t.Begin))).ToArray();
    }

    private static int ReadFully(Stream s, Span<byte> buffer)
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
