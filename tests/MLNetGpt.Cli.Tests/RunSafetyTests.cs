// A failing or mismatched train never overwrites a good run; resume checks corpus and settings; --from is recorded.
using System.Security.Cryptography;
using System.Text.Json;
using MLNetGpt.Cli.Commands;
using MLNetGpt.Models.Training;
using MLNetGpt.Testing;

namespace MLNetGpt.Cli.Tests;

[TestClass]
public sealed class RunSafetyTests
{
    private static string _run = null!;

    private static string Pipeline => Path.Combine(TestData.RepositoryRoot, "pipelines", "shakespeare-char-gpt.json");

    [ClassInitialize]
    public static void TrainOnce(TestContext _)
    {
        _run = CliRunner.TempDirectory();
        var r = CliRunner.Run(["train", Pipeline, "--from", TestCorpus.Path, "--out", _run, "train.max_iters=20", "train.checkpoint_interval=10",
            .. TrainAndGenerateTests.Tiny]);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
    }

    /// <summary>A byte-identical copy of the finished run, for a test to damage.</summary>
    private static string CopyOfRun()
    {
        string copy = CliRunner.TempDirectory();
        foreach (var f in Directory.GetFiles(_run)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        return copy;
    }

    private static Dictionary<string, string> Hashes(string dir) => Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f)!,
        f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    private static void AssertUnchanged(Dictionary<string, string> before, string dir, CliResult r, params string[] except)
    {
        var after = Hashes(dir);
        foreach (var (name, hash) in before)
        {
            if (except.Contains(name)) continue;
            Assert.IsTrue(after.TryGetValue(name, out var now) && now == hash, $"{name} changed\n{r}");
        }
        Assert.AreEqual(0, Directory.GetFiles(dir, "*.tmp").Length, $"temporary files left\n{r}");
    }

    [TestMethod]
    public void MaxItersZeroIsRefusedBeforeAnyFileIsWritten()
    {
        string dir = Path.Combine(CliRunner.TempDirectory(), "run");
        var r = CliRunner.Run(["train", Pipeline, "--from", TestCorpus.Path, "--out", dir, "train.max_iters=0", .. TrainAndGenerateTests.Tiny]);
        Assert.AreEqual(2, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "train.max_iters");
        Assert.IsFalse(Directory.Exists(dir), "no run folder for a run that never started");
    }

    [TestMethod]
    public void ANewRunIntoAFolderHoldingARunIsRefused()
    {
        string dir = CopyOfRun();
        var before = Hashes(dir);
        foreach (var (extra, message) in new[] { ("train.max_iters=0", "train.max_iters"), ("train.max_iters=5", "--resume") })
        {
            var r = CliRunner.Run(["train", Pipeline, "--from", TestCorpus.Path, "--out", dir, extra, .. TrainAndGenerateTests.Tiny]);
            Assert.AreNotEqual(0, r.ExitCode, r.ToString());
            StringAssert.Contains(r.Error, message);
            AssertUnchanged(before, dir, r);
        }
    }

    [TestMethod]
    public void ResumingAFinishedRunChangesNothing()
    {
        string dir = CopyOfRun();
        var before = Hashes(dir);
        var r = CliRunner.Run("train", "--resume", dir);
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "already finished at step 20");
        StringAssert.Contains(r.Error, "train.max_iters=N");
        AssertUnchanged(before, dir, r);
    }

    [TestMethod]
    public void ADivergingResumeStopsNamingTheStepAndKeepsTheGoodFiles()
    {
        string dir = CopyOfRun();
        var before = Hashes(dir);
        var r = CliRunner.Run("train", "--resume", dir, "train.max_iters=60", "train.learning_rate=1e6", "train.min_lr=0", "train.grad_clip=0");
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Matches(r.Error, new System.Text.RegularExpressions.Regex(@"diverged at step (2[1-9]|[3-5][0-9]|60)\b"));
        StringAssert.Contains(r.Error, "(step 20) is unchanged");
        AssertUnchanged(before, dir, r, "train.log"); // the log records the attempt
        Assert.IsFalse(File.ReadAllText(Path.Combine(dir, "losses.jsonl")).Contains("NaN", StringComparison.Ordinal));
        // config.json still describes the checkpoint, so the next resume continues with the old learning rate.
        var again = CliRunner.Run("train", "--resume", dir, "train.max_iters=25");
        Assert.AreEqual(0, again.ExitCode, again.ToString());
    }

    [TestMethod]
    public void ResumeRefusesAnotherCorpusNamingWhatDiffers()
    {
        string dir = CopyOfRun();
        var before = Hashes(dir);
        string text = TestCorpus.Text;
        string scratch = CliRunner.TempDirectory();
        string prefix = Path.Combine(scratch, "prefix.txt"), reversed = Path.Combine(scratch, "reversed.txt");
        File.WriteAllText(prefix, text[..(text.Length * 3 / 4)]); // fewer characters, as a 300 KB prefix of Tiny Shakespeare has
        File.WriteAllText(reversed, new string(text.Reverse().ToArray())); // exactly the same characters
        foreach (var corpus in new[] { prefix, reversed })
        {
            var r = CliRunner.Run("train", "--resume", dir, "--from", corpus, "train.max_iters=30");
            Assert.AreEqual(1, r.ExitCode, r.ToString());
            StringAssert.Contains(r.Error, "the corpus differs");
            StringAssert.Contains(r.Error, corpus);
            AssertUnchanged(before, dir, r);
        }
    }

    [TestMethod]
    public void ResumeRefusesOverridesThatChangeTheModel()
    {
        string dir = CopyOfRun();
        var before = Hashes(dir);
        foreach (var (key, value) in new[] { ("model.n_embd", "32"), ("tokenizer.type", "bpe"), ("data.val_fraction", "0.2"), ("model.dropout", "0.1") })
        {
            var r = CliRunner.Run("train", "--resume", dir, $"{key}={value}", "train.max_iters=30");
            Assert.AreEqual(2, r.ExitCode, r.ToString());
            StringAssert.Contains(r.Error, key);
            AssertUnchanged(before, dir, r);
        }
        // A config.json edited by hand is caught by the checkpoint's own record of the model.
        string config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"n_embd\": 16", "\"n_embd\": 32", StringComparison.Ordinal));
        var edited = CliRunner.Run("train", "--resume", dir, "train.max_iters=30");
        Assert.AreEqual(1, edited.ExitCode, edited.ToString());
        StringAssert.Contains(edited.Error, "model.n_embd 16 -> 32");
    }

    [TestMethod]
    public void FromIsRecordedSoResumeFindsTheCorpusItself()
    {
        string dir = CopyOfRun();
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "config.json")));
        Assert.AreEqual(Path.GetFullPath(TestCorpus.Path), config.RootElement.GetProperty("data").GetProperty("path").GetString());
        var r = CliRunner.Run("train", "--resume", dir, "train.max_iters=22");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Output, $"data     {Path.GetFullPath(TestCorpus.Path)}");
        StringAssert.Contains(r.Output, "changes  train.max_iters 20 -> 22");
    }

    [TestMethod]
    public void EvalWithoutDataUsesTheRunsRecordedCorpus()
    {
        var r = CliRunner.Run("eval", Path.Combine(_run, "model.zip"), "--max-batches", "2");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Output, Path.GetFileName(TestCorpus.Path));
    }

    [TestMethod]
    public void AResumeKilledAfterTheFinalCheckpointFinishesTheSameRun()
    {
        // The state after a kill -9 between the final checkpoint and model.zip: the checkpoint is at the last step.
        string dir = CopyOfRun();
        foreach (var f in new[] { "model.zip", "sample.txt", "metrics.json" }) File.Delete(Path.Combine(dir, f));
        var r = CliRunner.Run("train", "--resume", dir);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Output, "finishing");
        foreach (var f in new[] { "checkpoint.bin", "sample.txt", "losses.jsonl", "loss.svg", "config.json" })
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(_run, f)), File.ReadAllBytes(Path.Combine(dir, f)), f);
        CollectionAssert.AreEqual(ZipContents.Read(Path.Combine(_run, "model.zip")), ZipContents.Read(Path.Combine(dir, "model.zip")));
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "metrics.json")));
        using var original = JsonDocument.Parse(File.ReadAllText(Path.Combine(_run, "metrics.json")));
        Assert.AreEqual(original.RootElement.GetProperty("final_val_loss").GetDouble(), metrics.RootElement.GetProperty("final_val_loss").GetDouble());
    }

    [TestMethod]
    public void AFailedStartLeavesNoRunFolder()
    {
        string scratch = CliRunner.TempDirectory();
        string invalid = Path.Combine(scratch, "latin1.txt"), tiny = Path.Combine(scratch, "tiny.txt");
        File.WriteAllBytes(invalid, [(byte)'a', (byte)'b', 0xE9, (byte)'t', (byte)'e']); // "abéte" in Latin-1
        File.WriteAllText(tiny, "too short for one block: too short");
        var cases = new (string[] Args, string Message)[]
        {
            (["--from", Path.Combine(scratch, "missing.txt")], "missing.txt"),
            (["--from", invalid], "byte offset 2"),
            (["--from", tiny], "block size"),
        };
        foreach (var (args, message) in cases)
        {
            string dir = Path.Combine(scratch, "run-" + Guid.NewGuid().ToString("N")[..6]);
            var r = CliRunner.Run(["train", Pipeline, .. args, "--out", dir, "train.max_iters=5", .. TrainAndGenerateTests.Tiny]);
            Assert.AreEqual(1, r.ExitCode, r.ToString());
            StringAssert.Contains(r.Error, message);
            Assert.IsFalse(r.Error.Contains("(Parameter", StringComparison.Ordinal), r.Error);
            Assert.IsFalse(Directory.Exists(dir), $"run folder left behind\n{r}");
        }
    }

    [TestMethod]
    public void StaleTemporaryFilesAreRemovedAndNoneAreLeft()
    {
        string dir = CopyOfRun();
        int dead = DeadProcess.Id();
        string stale = Path.Combine(dir, $"checkpoint.bin.{dead}-0badf00d.tmp");
        File.WriteAllText(stale, "half a checkpoint");
        var r = CliRunner.Run("train", "--resume", dir, "train.max_iters=21");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        Assert.IsFalse(File.Exists(stale), r.ToString());
        Assert.AreEqual(0, Directory.GetFiles(dir, "*.tmp").Length);
    }

    [TestMethod]
    public void ALossHistoryWithNaNIsSkippedWithAWarning()
    {
        string dir = CopyOfRun();
        File.AppendAllText(Path.Combine(dir, "losses.jsonl"), "{\"step\":15,\"train\":NaN,\"val\":NaN}\n");
        var r = CliRunner.Run("train", "--resume", dir, "train.max_iters=21");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "losses.jsonl line 3");
        Assert.IsFalse(File.ReadAllText(Path.Combine(dir, "losses.jsonl")).Contains("NaN", StringComparison.Ordinal));
    }

    [TestMethod]
    public void ACheckpointWithAFlippedBitIsRefused()
    {
        string dir = CopyOfRun();
        string checkpoint = Path.Combine(dir, "checkpoint.bin");
        var bytes = File.ReadAllBytes(checkpoint);
        bytes[^100] ^= 0x40; // an exponent bit of a moment
        File.WriteAllBytes(checkpoint, bytes);
        var before = Hashes(dir);
        var r = CliRunner.Run("train", "--resume", dir, "train.max_iters=30");
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "checksum");
        AssertUnchanged(before, dir, r);
    }

    [TestMethod]
    public void OfflineTheErrorNamesTheCommandsOwnOption()
    {
        if (Environment.GetEnvironmentVariable("MLNETGPT_DATA") is not null) return; // the variable wins over the download
        string cache = CliRunner.TempDirectory();
        using var offline = new HttpClient(new Offline());
        var e = Assert.ThrowsExactly<CliException>(() => CorpusFile.LocateTinyShakespeare(null, "--from", cache, offline));
        StringAssert.Contains(e.Message, "--from PATH");
        StringAssert.Contains(e.Message, "MLNETGPT_DATA");
        Assert.IsFalse(e.Message.Contains("path argument", StringComparison.Ordinal), e.Message);
    }

    private sealed class Offline : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            throw new HttpRequestException("network unreachable");
    }
}
