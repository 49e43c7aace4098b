// Small helpers for the CLI tests: what a model .zip holds, a process id that has exited, POSIX calls.
using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace MLNetGpt.Cli.Tests;

internal static class ZipContents
{
    /// <summary>"name sha256" for every entry, sorted: equal lists mean equal contents whatever the timestamps in the .zip.</summary>
    public static List<string> Read(string zipPath)
    {
        using var zip = ZipFile.OpenRead(zipPath);
        return zip.Entries.Select(e =>
        {
            using var s = e.Open();
            return $"{e.FullName} {Convert.ToHexString(SHA256.HashData(s))}";
        }).Order(StringComparer.Ordinal).ToList();
    }
}

internal static class DeadProcess
{
    /// <summary>The id of a process that has exited (<c>dotnet --version</c>).</summary>
    public static int Id()
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", "--version")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var p = Process.Start(start)!;
        p.StandardOutput.ReadToEnd();
        Assert.IsTrue(p.WaitForExit(TimeSpan.FromMinutes(2)), "dotnet --version did not exit");
        return p.Id;
    }
}

internal static class Posix
{
    public const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static extern int Kill(int pid, int signal);

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    public static extern int MakeFifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);
}
