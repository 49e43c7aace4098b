// Crash testing: kill -9 this process in the middle of a chosen atomic write (MLNETGPT_FAULT_KILL_WRITE), for the kill harness.
using System.Diagnostics;
using System.Globalization;

namespace MLNetGpt.Models.Serialization;

/// <summary>
/// When the environment variable <c>MLNETGPT_FAULT_KILL_WRITE</c> is <c>NAME:BYTES[:N]</c>, the N-th atomic write (default
/// the first) of a file named NAME flushes its first BYTES bytes to the temporary file and then sends SIGKILL to its own
/// process, as <c>kill -9</c> would at that moment. Unset (always, outside the crash tests), writes are not wrapped.
/// </summary>
internal static class FaultInjection
{
    public const string EnvironmentVariable = "MLNETGPT_FAULT_KILL_WRITE";

    private static readonly (string Name, long Bytes, int Occurrence)? Plan = Parse(Environment.GetEnvironmentVariable(EnvironmentVariable));
    private static int _seen;

    /// <summary><paramref name="stream"/> itself, or a wrapper that kills the process at the planned byte of <paramref name="target"/>.</summary>
    public static Stream Wrap(Stream stream, string target)
    {
        if (Plan is not { } plan || !string.Equals(Path.GetFileName(target), plan.Name, StringComparison.Ordinal)) return stream;
        if (Interlocked.Increment(ref _seen) != plan.Occurrence) return stream;
        if (plan.Bytes == 0) Die(stream);
        return new KillingStream(stream, plan.Bytes);
    }

    private static (string, long, int)? Parse(string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        var parts = value.Split(':');
        if (parts.Length is < 2 or > 3 || parts[0].Length == 0
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long bytes))
            throw new InvalidOperationException($"{EnvironmentVariable}='{value}' is not NAME:BYTES[:N].");
        int occurrence = 1;
        if (parts.Length == 3 && (!int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out occurrence) || occurrence < 1))
            throw new InvalidOperationException($"{EnvironmentVariable}='{value}': N must be a positive integer.");
        return (parts[0], bytes, occurrence);
    }

    private static void Die(Stream stream)
    {
        stream.Flush();
        using var self = Process.GetCurrentProcess();
        self.Kill(); // SIGKILL on Unix: no finally blocks, no cleanup, exactly like kill -9
        Thread.Sleep(Timeout.Infinite);
    }

    /// <summary>Passes everything through and dies once <c>limit</c> bytes have been written.</summary>
    private sealed class KillingStream(Stream inner, long limit) : Stream
    {
        private long _written;

        public override bool CanRead => false;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => inner.SetLength(value);
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            long room = limit - _written;
            if (buffer.Length < room)
            {
                inner.Write(buffer);
                _written += buffer.Length;
                return;
            }
            inner.Write(buffer[..(int)room]);
            Die(inner);
        }
    }
}
