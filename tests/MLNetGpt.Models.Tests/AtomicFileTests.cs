// Atomic writes: links, FIFOs, devices and folders are never replaced by a file; temporaries of killed writers are cleaned.
using System.Diagnostics;
using System.Runtime.InteropServices;
using MLNetGpt.Models.Serialization;

namespace MLNetGpt.Models.Tests;

[TestClass]
public sealed class AtomicFileTests
{
    private static string TempDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mlnetgpt-atomic-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static void WriteText(string path, string text) => AtomicFile.Write(path, s => s.Write(System.Text.Encoding.UTF8.GetBytes(text)));

    [TestMethod]
    public void ASymbolicLinkIsRefusedAndStaysALink()
    {
        string dir = TempDirectory();
        try
        {
            string target = Path.Combine(dir, "target.txt"), link = Path.Combine(dir, "link.txt");
            File.WriteAllText(target, "keep me");
            File.CreateSymbolicLink(link, target);
            var e = Assert.ThrowsExactly<IOException>(() => WriteText(link, "new"));
            StringAssert.Contains(e.Message, "symbolic link");
            StringAssert.Contains(e.Message, link);
            Assert.AreEqual(target, new FileInfo(link).LinkTarget, "the link is still a link");
            Assert.AreEqual("keep me", File.ReadAllText(target));
            Assert.AreEqual(2, Directory.GetFileSystemEntries(dir).Length, "no temporary file left");
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void AFolderIsRefused()
    {
        string dir = TempDirectory();
        try
        {
            string folder = Path.Combine(dir, "out.jsonl");
            Directory.CreateDirectory(folder);
            var e = Assert.ThrowsExactly<IOException>(() => WriteText(folder, "x"));
            StringAssert.Contains(e.Message, "directory");
            Assert.IsTrue(Directory.Exists(folder));
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void AFifoAndADeviceNodeAreRefusedWithoutOpeningThem()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("FIFOs and device nodes are made with Linux calls here.");
        string dir = TempDirectory();
        try
        {
            // Opening a FIFO for writing would block until a reader comes: the check must not open it (a hang fails the test run).
            string fifo = Path.Combine(dir, "out.fifo");
            Assert.AreEqual(0, MakeFifo(fifo, Convert.ToUInt32("644", 8)), $"mkfifo errno {Marshal.GetLastPInvokeError()}");
            var e = Assert.ThrowsExactly<IOException>(() => WriteText(fifo, "x"));
            StringAssert.Contains(e.Message, "FIFO");
            Assert.AreEqual("a named pipe (FIFO)", FileKinds.DescribeNonRegular(fifo), "still a FIFO");

            // A character device (what /dev/full is) can only be made by root; elsewhere this part is skipped.
            string device = Path.Combine(dir, "full");
            const uint CharacterDevice = 0x2000;
            if (MakeNode(device, CharacterDevice | Convert.ToUInt32("600", 8), (1UL << 8) | 7) == 0)
            {
                var d = Assert.ThrowsExactly<IOException>(() => WriteText(device, "x"));
                StringAssert.Contains(d.Message, "character device");
                Assert.AreEqual("a character device", FileKinds.DescribeNonRegular(device));
            }
            Assert.AreEqual(0, Directory.GetFiles(dir, "*.tmp").Length, "no temporary file left");
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void RegularFilesAreReplacedAndMissingOnesCreated()
    {
        string dir = TempDirectory();
        try
        {
            string path = Path.Combine(dir, "a.txt");
            Assert.IsNull(FileKinds.DescribeNonRegular(path));
            WriteText(path, "one");
            Assert.IsNull(FileKinds.DescribeNonRegular(path));
            WriteText(path, "two");
            Assert.AreEqual("two", File.ReadAllText(path));
            CollectionAssert.AreEqual(new[] { path }, Directory.GetFileSystemEntries(dir));
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void TemporariesOfDeadWritersAreRemovedOthersKept()
    {
        string dir = TempDirectory();
        try
        {
            int dead = DeadProcessId();
            string target = Path.Combine(dir, "model.zip");
            string stale = $"{target}.{dead}-0123abcd.tmp";
            string ours = $"{target}.{Environment.ProcessId}-0123abcd.tmp"; // this process may be writing it right now
            string otherTarget = Path.Combine(dir, "sample.txt") + $".{dead}-89abcdef.tmp";
            string notOurs = Path.Combine(dir, "notes.tmp");
            foreach (var f in new[] { stale, ours, otherTarget, notOurs }) File.WriteAllText(f, "partial");

            WriteText(target, "complete");
            Assert.IsFalse(File.Exists(stale), "the write removed its target's stale temporary");
            Assert.IsTrue(File.Exists(ours) && File.Exists(otherTarget) && File.Exists(notOurs));

            Assert.AreEqual(1, AtomicFile.RemoveStaleTemporaries(dir), "the folder sweep removes the other dead writer's file only");
            Assert.IsFalse(File.Exists(otherTarget));
            Assert.IsTrue(File.Exists(ours) && File.Exists(notOurs));
        }
        finally { Directory.Delete(dir, true); }
    }

    // A process id that has exited (it could be reused by the time it is checked, which would only keep a file).
    private static int DeadProcessId()
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

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MakeFifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    [DllImport("libc", EntryPoint = "mknod", SetLastError = true)]
    private static extern int MakeNode([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode, ulong device);
}
