// What kind of file system object a path names, so writers can refuse to replace links, pipes and devices with a file.
using System.Runtime.InteropServices;

namespace MLNetGpt.Models.Serialization;

/// <summary>
/// Tells a regular file from the other things a path can name. .NET reports a FIFO or a device node as an ordinary file
/// (FileAttributes.Normal), so on Linux and macOS the type bits come from the file system itself (statx / lstat).
/// </summary>
public static partial class FileKinds
{
    /// <summary>
    /// Null when <paramref name="path"/> does not exist or is a regular file; otherwise what it is, in words
    /// ("a symbolic link", "a directory", "a named pipe (FIFO)", "a character device", "a block device", "a socket").
    /// The path itself is examined, not the target of a link.
    /// </summary>
    public static string? DescribeNonRegular(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var info = new FileInfo(path);
        if (info.LinkTarget is not null) return "a symbolic link";
        if (Directory.Exists(path) && !info.Exists) return "a directory";
        if (!info.Exists) return null;
        return UnixFileType(path) switch
        {
            0x1000 => "a named pipe (FIFO)",
            0x2000 => "a character device",
            0x4000 => "a directory",
            0x6000 => "a block device",
            0xA000 => "a symbolic link",
            0xC000 => "a socket",
            _ => null, // 0x8000 regular, or unknown on this platform
        };
    }

    // S_IFMT bits of the path (not following a link), or 0 where they cannot be read.
    private static int UnixFileType(string path)
    {
        try
        {
            if (OperatingSystem.IsLinux())
            {
                // struct statx has the same layout on every Linux architecture: stx_mode is a u16 at byte 28.
                Span<byte> buffer = stackalloc byte[256];
                const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100;
                const uint StatxType = 1;
                unsafe
                {
                    fixed (byte* b = buffer)
                        return StatX(AtFdCwd, path, AtSymlinkNoFollow, StatxType, b) == 0 ? BitConverter.ToUInt16(buffer[28..]) & 0xF000 : 0;
                }
            }
            if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
            {
                // struct stat starts with a 32-bit st_dev followed by the 16-bit st_mode on these systems.
                Span<byte> buffer = stackalloc byte[512];
                unsafe
                {
                    fixed (byte* b = buffer)
                        return LStat(path, b) == 0 ? BitConverter.ToUInt16(buffer[4..]) & 0xF000 : 0;
                }
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // An old C library without statx: fall back to the checks .NET itself can make.
        }
        return 0;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int StatX(int directoryFd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int LStat(string path, byte* buffer);
}
