// The kill -9 harness: train and generate killed mid-write or at random moments always finish to byte-identical files.
// MLNETGPT_KILL_ROUNDS=N repeats the random kills N times (bench/kill-resume runs it with many); SIGTERM stops like Ctrl+C.
using System.Diagnostics;
using System.Text.Json;
using MLNetGpt.Models.Training;
using MLNetGpt.Testing;

namespace MLNetGpt.Cli.Tests;

[TestClass]
public sealed class CrashTests
{
    private const int Killed = 137; // 128 + SIGKILL

    private static string _reference = null!;
    private static TimeSpan _referenceTime;

    private static string Pipeline => Path.Combine(TestData.RepositoryRoot, "pipelines", "shakespeare-char-gpt.json");

    // Checkpoints at steps 10 and 20, then the final one at 30: three writes of checkpoint.bin.
    private static string[] TrainArgs(string dir) =>
        ["train", Pipeline, "--from", TestCorpus.Path, "--out", dir, "train.max_iters=30", "train.checkpoint_interval=10", "train.threads=2",
            .. TrainAndGenerateTests.Tiny];

    private static readonly string[] SameBytes = ["checkpoint.bin", "config.json", "losses.jsonl", "loss.svg", "sample.txt"];

    [ClassInitialize]
    public static void TrainUninterrupted(TestContext _)
    {
        _reference = CliRunner.TempDirectory();
        var clock = Stopwatch.StartNew();
        var r = CliProcess.Run(null, TrainArgs(_reference));
        _referenceTime = clock.Elapsed;
        Assert.AreEqual(0, r.ExitCode, r.ToString());
    }

    private static Dictionary<string, string> Kill(string target) => new() { ["MLNETGPT_FAULT_KILL_WRITE"] = target };

    /// <summary>Continues a killed run as a user would (resume when there is a checkpoint, else start again) until it finishes.</summary>
    private static void Finish(string dir)
    {
        bool resumable = File.Exists(Path.Combine(dir, "checkpoint.bin")) && File.Exists(Path.Combine(dir, "config.json"));
        var r = resumable ? CliProcess.Run(null, "train", "--resume", dir) : CliProcess.Run(null, TrainArgs(dir));
        // A random kill can come after the run ended: then the resume says so and changes nothing.
        bool finishedBefore = r.ExitCode == 1 && r.Error.Contains("already finished", StringComparison.Ordinal);
        Assert.IsTrue(r.ExitCode == 0 || finishedBefore, $"continuing the killed run failed:\n{r}");
    }

    private static void AssertSameAsReference(string dir, string what)
    {
        foreach (var f in SameBytes)
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(_reference, f)), File.ReadAllBytes(Path.Combine(dir, f)), $"{f} after {what}");
        CollectionAssert.AreEqual(ZipContents.Read(Path.Combine(_reference, "model.zip")), ZipContents.Read(Path.Combine(dir, "model.zip")), $"model.zip after {what}");
        using var a = JsonDocument.Parse(File.ReadAllText(Path.Combine(_reference, "metrics.json")));
        using var b = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "metrics.json")));
        foreach (var key in new[] { "steps", "final_train_loss", "final_val_loss", "parameters" })
            Assert.AreEqual(a.RootElement.GetProperty(key).GetDouble(), b.RootElement.GetProperty(key).GetDouble(), $"metrics {key} after {what}");
        CollectionAssert.AreEqual(Array.Empty<string>(), Directory.GetFiles(dir, "*.tmp"), $"temporary files after {what}");
    }

    [TestMethod]
    [DataRow("checkpoint.bin:1000:1", DisplayName = "inside the first checkpoint")]
    [DataRow("losses.jsonl:40:2", DisplayName = "inside the second loss history write")]
    [DataRow("checkpoint.bin:1000:3", DisplayName = "inside the final checkpoint")]
    [DataRow("model.zip:0", DisplayName = "after the final checkpoint, before model.zip")]
    [DataRow("model.zip:2000", DisplayName = "inside model.zip")]
    [DataRow("sample.txt:5", DisplayName = "inside sample.txt")]
    [DataRow("metrics.json:10", DisplayName = "inside metrics.json, the last file")]
    public void KilledDuringAWriteTheRunFinishesToTheSameFiles(string killAt)
    {
        string dir = CliRunner.TempDirectory();
        var r = CliProcess.Run(Kill(killAt), TrainArgs(dir));
        Assert.AreEqual(Killed, r.ExitCode, r.ToString());
        string file = killAt.Split(':')[0];
        Assert.AreEqual(1, Directory.GetFiles(dir, file + ".*.tmp").Length, $"the kill came inside the write of {file}\n{r}");
        Finish(dir);
        AssertSameAsReference(dir, $"kill -9 {killAt}");
    }

    [TestMethod]
    public void KilledAtRandomMomentsTheRunFinishesToTheSameFiles()
    {
        int rounds = int.TryParse(Environment.GetEnvironmentVariable("MLNETGPT_KILL_ROUNDS"), out int n) && n > 0 ? n : 2;
        var random = new Random(20250113);
        for (int round = 0; round < rounds; round++)
        {
            string dir = CliRunner.TempDirectory();
            // Up to two kills in the same run folder (the second one hits the resumed process), then let it finish.
            for (int kill = 0; kill < 2; kill++)
            {
                bool resumable = File.Exists(Path.Combine(dir, "checkpoint.bin")) && File.Exists(Path.Combine(dir, "config.json"));
                using var p = resumable ? CliProcess.Start(null, "train", "--resume", dir) : CliProcess.Start(null, TrainArgs(dir));
                p.WaitForOutput("run      ");
                Thread.Sleep(random.Next(0, (int)Math.Max(1, _referenceTime.TotalMilliseconds)));
                p.Kill();
                p.WaitForExit();
            }
            Finish(dir);
            AssertSameAsReference(dir, $"random kills, round {round + 1}");
        }
    }

    [TestMethod]
    public void SigtermStopsAfterTheStepWithACheckpoint()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) Assert.Inconclusive("SIGTERM is a POSIX signal.");
        string dir = CliRunner.TempDirectory();
        using var p = CliProcess.Start(null, ["train", Pipeline, "--from", TestCorpus.Path, "--out", dir, "train.max_iters=1000000", .. TrainAndGenerateTests.Tiny]);
        Assert.IsTrue(p.WaitForOutput("| train "), p.Output);
        Assert.AreEqual(0, Posix.Kill(p.Id, Posix.SigTerm));
        var r = p.WaitForExit();
        Assert.AreEqual(143, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "terminate signal");
        StringAssert.Contains(r.Output, $"mlnetgpt train --resume {dir}");
        var checkpoint = LanguageModelTrainer.ReadCheckpoint(Path.Combine(dir, "checkpoint.bin"));
        Assert.IsTrue(checkpoint.Step > 0, $"checkpoint at step {checkpoint.Step}");
        Assert.IsFalse(File.Exists(Path.Combine(dir, "model.zip")));
        Assert.AreEqual(0, Directory.GetFiles(dir, "*.tmp").Length);
    }

    [TestMethod]
    public void GenerateKilledMidWriteLeavesNoPartialFileAndRerunsIdentically()
    {
        string dir = CliRunner.TempDirectory();
        string prompts = Path.Combine(dir, "prompts.jsonl"), expected = Path.Combine(dir, "expected.jsonl"), output = Path.Combine(dir, "out.jsonl");
        File.WriteAllLines(prompts, Enumerable.Range(0, 300).Select(i => JsonSerializer.Serialize(new { Prompt = $"{TrainAndGenerateTests.Label(i)}:" })));
        string model = Path.Combine(_reference, "model.zip");
        string[] Args(string path) => ["generate", model, "--input", prompts, "--output", path, "--max-new-tokens", "12", "--batch-size", "8", "--seed", "5"];
        var reference = CliProcess.Run(null, Args(expected));
        Assert.AreEqual(0, reference.ExitCode, reference.ToString());

        var killed = CliProcess.Run(Kill("out.jsonl:3000"), Args(output));
        Assert.AreEqual(Killed, killed.ExitCode, killed.ToString());
        Assert.IsFalse(File.Exists(output), "a partial output file");
        Assert.AreEqual(1, Directory.GetFiles(dir, "out.jsonl.*.tmp").Length, "the kill came inside the write");

        // Killed at a random moment, then run again: the same rows, and the killed runs' temporaries are gone.
        using (var p = CliProcess.Start(null, Args(output)))
        {
            Thread.Sleep(new Random(7).Next(0, 1500));
            p.Kill();
            p.WaitForExit();
        }
        var again = CliProcess.Run(null, Args(output));
        Assert.AreEqual(0, again.ExitCode, again.ToString());
        CollectionAssert.AreEqual(File.ReadAllBytes(expected), File.ReadAllBytes(output));
        CollectionAssert.AreEqual(Array.Empty<string>(), Directory.GetFiles(dir, "*.tmp"));
    }
}
