// Atomic file writes: write a temporary file beside the target, flush it to disk, then rename over the target.
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace MLNetGpt.Models.Serialization;

/// <summary>
/// Writes files so that readers see either the old or the new content, never a half-written file. The temporary file is
/// named <c>TARGET.PID-XXXXXXXX.tmp</c>; one left behind by a process that was killed (its PID no longer runs) is deleted
/// by the next write to the same folder's targets or by <see cref="RemoveStaleTemporaries"/>.
/// </summary>
public static partial class AtomicFile
{
    /// <summary>
    /// Calls <paramref name="write"/> on a temporary file in the target's folder, flushes it to disk, then moves it over
    /// <paramref name="path"/>. Throws <see cref="IOException"/> without writing anything when <paramref name="path"/> is
    /// not a regular file (a symbolic link, a FIFO, a device, a directory): replacing one with a file would break it.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        EnsureReplaceable(full);
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        RemoveStaleTemporaries(full);
        string temp = $"{full}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid().ToString("N")[..8]}.tmp";
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(FaultInjection.Wrap(fs, full));
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Throws <see cref="IOException"/> naming what <paramref name="path"/> is when it exists and is not a regular file.</summary>
    public static void EnsureReplaceable(string path)
    {
        if (FileKinds.DescribeNonRegular(path) is { } kind)
            throw new IOException($"'{path}' is {kind}, not a regular file; refusing to replace it. Name a regular file instead.");
    }

    /// <summary>
    /// Deletes temporary files left by interrupted writes: in the folder <paramref name="path"/> names (or beside the file it
    /// names), every <c>NAME.PID-XXXXXXXX.tmp</c> whose process no longer runs. Returns how many were deleted.
    /// </summary>
    public static int RemoveStaleTemporaries(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        bool folder = Directory.Exists(full);
        string? dir = folder ? full : Path.GetDirectoryName(full);
        if (string.IsNullOrEmpty(dir) || !Directory.Exists(dir)) return 0;
        string pattern = folder ? "*.tmp" : Path.GetFileName(full) + ".*.tmp";
        int removed = 0;
        foreach (var candidate in Directory.EnumerateFiles(dir, pattern))
        {
            var m = TemporaryName().Match(Path.GetFileName(candidate));
            if (!m.Success || !int.TryParse(m.Groups["pid"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
            if (!folder && m.Groups["target"].Value != Path.GetFileName(full)) continue;
            if (pid == Environment.ProcessId || IsRunning(pid)) continue;
            try
            {
                File.Delete(candidate);
                removed++;
            }
            catch (IOException) { } // another process cleaned it first
            catch (UnauthorizedAccessException) { } // not ours to delete
        }
        return removed;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    [GeneratedRegex(@"^(?<target>.+)\.(?<pid>[0-9]{1,10})-[0-9a-f]{8}\.tmp$", RegexOptions.CultureInvariant)]
    private static partial Regex TemporaryName();
}
