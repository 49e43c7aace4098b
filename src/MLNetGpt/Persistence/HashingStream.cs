// A pass-through stream that counts and SHA-256-hashes the bytes written to or read from it, optionally capping their number.
using System.Security.Cryptography;

namespace MLNetGpt.Persistence;

/// <summary>
/// Wraps a stream for one direction: bytes written (or read) pass through to the inner stream and into a SHA-256. A read
/// cap turns an oversized entry into an error after at most <c>limit</c> bytes, whatever size the archive claims.
/// </summary>
internal sealed class HashingStream : Stream
{
    private readonly Stream _inner;
    private readonly bool _writing;
    private readonly long _limit;
    private readonly Func<long, Exception>? _overLimit;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    private HashingStream(Stream inner, bool writing, long limit, Func<long, Exception>? overLimit)
    {
        _inner = inner;
        _writing = writing;
        _limit = limit;
        _overLimit = overLimit;
    }

    /// <summary>Hashes what is written through it.</summary>
    public static HashingStream ForWriting(Stream inner) => new(inner, true, long.MaxValue, null);

    /// <summary>Hashes what is read through it; reading more than <paramref name="limit"/> bytes throws <paramref name="overLimit"/>'s exception.</summary>
    public static HashingStream ForReading(Stream inner, long limit, Func<long, Exception> overLimit) => new(inner, false, limit, overLimit);

    /// <summary>Bytes that passed through so far.</summary>
    public long Count { get; private set; }

    /// <summary>The SHA-256 of the bytes so far, as lowercase hex.</summary>
    public string HashHex() => Convert.ToHexStringLower(_hash.GetCurrentHash());

    /// <summary>Reads to the end of the inner stream (still hashing and capped), so the hash covers the whole entry.</summary>
    public void ReadToEnd()
    {
        var buffer = new byte[81920];
        while (Read(buffer, 0, buffer.Length) > 0) { }
    }

    public override bool CanRead => !_writing;
    public override bool CanSeek => false;
    public override bool CanWrite => _writing;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => Count; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_writing) throw new NotSupportedException();
        int n = _inner.Read(buffer);
        Count += n;
        if (Count > _limit) throw _overLimit!(Count);
        _hash.AppendData(buffer[..n]);
        return n;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (!_writing) throw new NotSupportedException();
        _inner.Write(buffer);
        _hash.AppendData(buffer);
        Count += buffer.Length;
    }

    public override void Flush() => _inner.Flush();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _hash.Dispose();
        base.Dispose(disposing);
    }
}
