// Reads a safetensors file from a seekable stream one tensor at a time, converting F32, F16 and BF16 to float through one
// bounded buffer: loading a model holds its weights once (in the parameter arena), never the file's bytes as well.
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace MLNetGpt.Models.Serialization;

/// <summary>
/// A safetensors file whose header is parsed and checked (see <see cref="SafeTensorsHeader"/>) and whose tensors are read on
/// demand: each read seeks to the tensor and streams its bytes through a buffer of at most <see cref="BufferBytes"/>.
/// Opening checks that the stream holds exactly the data the header declares, and verifies the checksum when the file has
/// one (one extra pass over the data). Not thread-safe.
/// </summary>
internal sealed class SafeTensorsReader : ITensorSource, IDisposable
{
    /// <summary>Size of the read buffer.</summary>
    public const int BufferBytes = 1 << 20;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly long _dataStart;
    private byte[]? _buffer;
    private float[]? _floats;

    private SafeTensorsReader(Stream stream, bool leaveOpen, SafeTensorsHeader header, long dataStart, bool checksumVerified)
    {
        _stream = stream; _leaveOpen = leaveOpen; _dataStart = dataStart;
        Source = header.Source; Metadata = header.Metadata; Tensors = header.Tensors; DataLength = header.DataLength;
        ChecksumVerified = checksumVerified;
    }

    public string Source { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }
    public long DataLength { get; }
    public bool ChecksumVerified { get; }

    /// <summary>Opens the file at <paramref name="path"/> (see <see cref="Open(Stream, string, bool)"/>).</summary>
    public static SafeTensorsReader Open(string path)
    {
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            return Open(fs, path, leaveOpen: false);
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Parses the header of the file starting at the current position of <paramref name="stream"/>, which must be seekable.
    /// Throws <see cref="InvalidDataException"/> as <see cref="SafeTensorsFile.Read"/> does: malformed or lying header,
    /// truncated data, bytes after the data, a checksum that does not match.
    /// </summary>
    public static SafeTensorsReader Open(Stream stream, string source, bool leaveOpen)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek) throw new ArgumentException("SafeTensorsReader needs a seekable stream.", nameof(stream));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors reading needs a little-endian machine.");
        var header = SafeTensorsHeader.Read(stream, source);
        long dataStart = stream.Position, remaining = stream.Length - dataStart;
        if (remaining < header.DataLength)
            throw new InvalidDataException($"'{source}' is truncated: the header declares {header.DataLength} data bytes but only {remaining} follow.");
        if (remaining > header.DataLength)
            throw new InvalidDataException($"'{source}' has bytes after the end of its data section ({header.DataLength} bytes); the file is damaged.");
        var reader = new SafeTensorsReader(stream, leaveOpen, header, dataStart,
            header.VerifyChecksum(sha => HashData(stream, dataStart, header.DataLength, sha)));
        return reader;
    }

    private static void HashData(Stream stream, long start, long length, System.Security.Cryptography.IncrementalHash sha)
    {
        stream.Position = start;
        var buffer = new byte[BufferBytes];
        for (long left = length; left > 0;)
        {
            int n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0) throw new EndOfStreamException();
            sha.AppendData(buffer, 0, n);
            left -= n;
        }
    }

    /// <summary>The tensor named <paramref name="name"/>, checked to be F32 with exactly <paramref name="expectedShape"/>.</summary>
    internal static TensorInfo CheckF32(ITensorSource file, string name, ReadOnlySpan<int> expectedShape, int destinationLength)
    {
        if (!file.Tensors.TryGetValue(name, out var t)) throw new InvalidDataException($"'{file.Source}' has no tensor named '{name}'.");
        string expected = "[" + string.Join(",", expectedShape.ToArray()) + "]";
        if (t.DType != "F32") throw new InvalidDataException($"'{file.Source}': tensor '{name}' is {t.DType}; only F32 is supported.");
        if (!t.Shape.AsSpan().SequenceEqual(expectedShape))
            throw new InvalidDataException($"'{file.Source}': tensor '{name}' has shape {t.ShapeText} but the configuration needs {expected}.");
        if (destinationLength != t.ElementCount)
            throw new ArgumentException($"Destination for '{name}' holds {destinationLength} floats, needs {t.ElementCount}.", "destination");
        return t;
    }

    /// <inheritdoc/>
    public void CopyTo(string name, ReadOnlySpan<int> expectedShape, Span<float> destination) =>
        Read(CheckF32(this, name, expectedShape, destination.Length), destination, transposeRows: 0);

    /// <summary>True for the dtypes <see cref="Read"/> converts: F32, F16 and BF16.</summary>
    public static bool IsFloat(string dtype) => dtype is "F32" or "F16" or "BF16";

    /// <summary>
    /// Reads tensor <paramref name="t"/> (F32, F16 or BF16) into <paramref name="destination"/> as floats. With
    /// <paramref name="transposeRows"/> R &gt; 0 the tensor is read as a matrix [R, K] and written transposed, destination
    /// [K, R] (a Conv1D weight [in,out] becomes a Linear weight [out,in]).
    /// </summary>
    public void Read(TensorInfo t, Span<float> destination, int transposeRows)
    {
        if (!IsFloat(t.DType)) throw new InvalidDataException($"'{Source}': tensor '{t.Name}' is {t.DType}; only F32, F16 and BF16 can be read.");
        if (destination.Length != t.ElementCount)
            throw new ArgumentException($"Destination for '{t.Name}' holds {destination.Length} floats, needs {t.ElementCount}.", nameof(destination));
        int size = SafeTensorsHeader.ElementSize(t.DType);
        int rows = transposeRows, cols = rows > 0 ? (int)(t.ElementCount / rows) : 0;
        if (rows > 0 && (long)rows * cols != t.ElementCount)
            throw new ArgumentException($"'{t.Name}' ({t.ElementCount} floats) is not a matrix of {rows} rows.", nameof(transposeRows));
        _buffer ??= new byte[BufferBytes];
        _floats ??= new float[BufferBytes / 2];
        // Whole rows per chunk when transposing (each chunk is then a [n, K] block of the source).
        int chunk = rows > 0 ? Math.Max(1, BufferBytes / size / Math.Max(cols, 1)) * cols : BufferBytes / size;
        if (chunk * size > _buffer.Length) { _buffer = new byte[chunk * size]; _floats = new float[chunk]; }
        _stream.Position = _dataStart + t.Begin;
        long done = 0, total = t.ElementCount;
        while (done < total)
        {
            int n = (int)Math.Min(chunk, total - done);
            var bytes = _buffer.AsSpan(0, n * size);
            if (SafeTensorsHeader.ReadFully(_stream, bytes) < bytes.Length)
                throw new InvalidDataException($"'{Source}' is truncated inside tensor '{t.Name}'.");
            var floats = rows > 0 ? _floats.AsSpan(0, n) : destination.Slice((int)done, n);
            Convert(t.DType, bytes, floats);
            if (rows > 0) ScatterTransposed(floats, destination, (int)(done / cols), n / cols, rows, cols);
            done += n;
        }
    }

    /// <summary>
    /// The first element at which tensor <paramref name="t"/> (F32, F16 or BF16, converted) differs from
    /// <paramref name="expected"/> bit for bit, or -1 when they are equal.
    /// </summary>
    public long FirstDifference(TensorInfo t, ReadOnlySpan<float> expected)
    {
        if (!IsFloat(t.DType)) throw new InvalidDataException($"'{Source}': tensor '{t.Name}' is {t.DType}; only F32, F16 and BF16 can be read.");
        if (expected.Length != t.ElementCount) return Math.Min(expected.Length, t.ElementCount);
        int size = SafeTensorsHeader.ElementSize(t.DType);
        _buffer ??= new byte[BufferBytes];
        _floats ??= new float[BufferBytes / 2];
        int chunk = BufferBytes / size;
        _stream.Position = _dataStart + t.Begin;
        for (long done = 0; done < expected.Length;)
        {
            int n = (int)Math.Min(chunk, expected.Length - done);
            var bytes = _buffer.AsSpan(0, n * size);
            if (SafeTensorsHeader.ReadFully(_stream, bytes) < bytes.Length)
                throw new InvalidDataException($"'{Source}' is truncated inside tensor '{t.Name}'.");
            var floats = _floats.AsSpan(0, n);
            Convert(t.DType, bytes, floats);
            int same = MemoryMarshal.Cast<float, uint>(floats).CommonPrefixLength(MemoryMarshal.Cast<float, uint>(expected.Slice((int)done, n)));
            if (same < n) return done + same;
            done += n;
        }
        return -1;
    }

    // block [n, K] holds source rows r0..r0+n-1; destination [K, R] gets element (r, k) at k·R + r.
    private static void ScatterTransposed(ReadOnlySpan<float> block, Span<float> destination, int r0, int n, int rows, int cols)
    {
        for (int k = 0; k < cols; k++)
        {
            var dst = destination.Slice(k * rows + r0, n);
            for (int r = 0; r < n; r++) dst[r] = block[r * cols + k];
        }
    }

    /// <summary>Little-endian F32, F16 or BF16 values to floats (bfloat16 is the top half of a float's bits).</summary>
    internal static void Convert(string dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        switch (dtype)
        {
            case "F32":
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case "F16":
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);
                break;
            case "BF16":
                var bits = MemoryMarshal.Cast<byte, ushort>(source);
                var words = MemoryMarshal.Cast<float, uint>(destination);
                for (int i = 0; i < bits.Length; i++) words[i] = (uint)bits[i] << 16;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Only F32, F16 and BF16 convert to float.");
        }
    }

    public void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
    }
}
