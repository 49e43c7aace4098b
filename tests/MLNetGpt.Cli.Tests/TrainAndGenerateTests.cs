// End-to-end CLI tests on tiny settings: train (files written, resume, Ctrl+C), generate, eval, info, and their bad inputs.
using System.Text.Json;
using System.Xml.Linq;
using MLNetGpt.Testing;

namespace MLNetGpt.Cli.Tests;

[TestClass]
public sealed class TrainAndGenerateTests
{
    private static string _runDir = null!;
    private static string _model = null!;
    private static CliResult _train = null!;

    internal static readonly string[] Tiny =
    [
        "model.n_layer=1", "model.n_head=2", "model.n_embd=16", "model.block_size=16", "train.batch_size=4",
        "train.eval_interval=10", "train.eval_iters=2", "train.warmup_iters=2", "generate.max_new_tokens=20",
    ];

    // The corpus has no digits: row labels are spelled in letters (0 → "a", 27 → "bb").
    internal static string Label(int i) => i < 26 ? ((char)('a' + i)).ToString() : Label(i / 26 - 1) + (char)('a' + i % 26);

    private static string Pipeline => Path.Combine(TestData.RepositoryRoot, "pipelines", "shakespeare-char-gpt.json");

    [ClassInitialize]
    public static void TrainOnce(TestContext _)
    {
        _runDir = CliRunner.TempDirectory();
        _train = CliRunner.Run(["train", Pipeline, "--from", TestCorpus.Path, "--out", _runDir,
            "train.max_iters=30", "train.checkpoint_interval=10", .. Tiny]);
        _model = Path.Combine(_runDir, "model.zip");
    }

    [TestMethod]
    public void TrainWritesModelCurveSampleMetricsAndConfig()
    {
        Assert.AreEqual(0, _train.ExitCode, _train.ToString());
        foreach (var f in new[] { "model.zip", "loss.svg", "sample.txt", "metrics.json", "config.json", "checkpoint.bin", "losses.jsonl", "train.log" })
            Assert.IsTrue(File.Exists(Path.Combine(_runDir, f)), $"{f} missing\n{_train}");
        var svg = XDocument.Load(Path.Combine(_runDir, "loss.svg"));
        Assert.AreEqual(2, svg.Descendants(XName.Get("polyline", "http://www.w3.org/2000/svg")).Count());
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(_runDir, "metrics.json")));
        Assert.AreEqual(30, metrics.RootElement.GetProperty("steps").GetInt32());
        double val = metrics.RootElement.GetProperty("final_val_loss").GetDouble();
        Assert.IsTrue(val > 0 && val < Math.Log(TestCorpus.Vocabulary) + 0.5, $"val loss {val}");
        Assert.IsTrue(metrics.RootElement.GetProperty("tokens_per_s").GetDouble() > 0);
        Assert.IsTrue(metrics.RootElement.GetProperty("peak_memory_mb").GetDouble() > 0);
        StringAssert.Contains(_train.Output, "---- sample ----");
        // Plain progress lines (output is not a terminal) include evaluations.
        StringAssert.Contains(_train.Output, "val ");
        var config = File.ReadAllText(Path.Combine(_runDir, "config.json"));
        StringAssert.Contains(config, "\"max_iters\": 30");
        Assert.IsFalse(Directory.GetFiles(_runDir, "*.tmp*").Any(), "temp files left behind");
    }

    [TestMethod]
    public void TieWeightsKeyReachesTheModel()
    {
        var dir = CliRunner.TempDirectory();
        var r = CliRunner.Run(["train", Pipeline, "--from", TestCorpus.Path, "--out", dir, "train.max_iters=2",
            "model.tie_weights=false", "train.beta2=0.999", .. Tiny]);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        long Parameters(string run) => JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "metrics.json"))).RootElement.GetProperty("parameters").GetInt64();
        // An untied output head adds one V×C matrix (V characters × 16 channels).
        Assert.AreEqual(Parameters(_runDir) + TestCorpus.Vocabulary * 16, Parameters(dir));
    }

    [TestMethod]
    public void ResumeContinuesFromTheCheckpoint()
    {
        var dir = CliRunner.TempDirectory();
        var first = CliRunner.Run(["train", Pipeline, "--from", TestCorpus.Path, "--out", dir, "train.max_iters=10", .. Tiny]);
        Assert.AreEqual(0, first.ExitCode, first.ToString());
        var resumed = CliRunner.Run(["train", "--resume", dir, "--from", TestCorpus.Path, "train.max_iters=20"]);
        Assert.AreEqual(0, resumed.ExitCode, resumed.ToString());
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "metrics.json")));
        Assert.AreEqual(20, metrics.RootElement.GetProperty("steps").GetInt32());
        StringAssert.Contains(resumed.Output, "(resuming at step 10)");
        var steps = File.ReadAllLines(Path.Combine(dir, "losses.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32()).ToList();
        CollectionAssert.AreEqual(new[] { 10, 20 }, steps);
    }

    [TestMethod]
    public void CancellationStopsCleanlyWithACheckpoint()
    {
        var dir = CliRunner.TempDirectory();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var r = CliRunner.Run(cts.Token, null, ["train", Pipeline, "--from", TestCorpus.Path, "--out", dir, "train.max_iters=1000000", .. Tiny]);
        Assert.AreEqual(130, r.ExitCode, r.ToString());
        Assert.IsTrue(File.Exists(Path.Combine(dir, "checkpoint.bin")), r.ToString());
        Assert.IsFalse(File.Exists(Path.Combine(dir, "model.zip")));
        StringAssert.Contains(r.Output, "--resume");
    }

    [TestMethod]
    public void UnknownOverrideKeyFailsBeforeTraining()
    {
        var dir = CliRunner.TempDirectory();
        var r = CliRunner.Run("train", Pipeline, "--out", dir, "train.max_iter=5");
        Assert.AreEqual(2, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "train.max_iter'");
        StringAssert.Contains(r.Error, "train.max_iters");
        Assert.IsFalse(File.Exists(Path.Combine(dir, "model.zip")));
    }

    [TestMethod]
    public void WrongTypeFails()
    {
        var r = CliRunner.Run("train", Pipeline, "model.n_layer=four");
        Assert.AreEqual(2, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "'four'");
    }

    [TestMethod]
    public void MissingPipelineFileFails()
    {
        var r = CliRunner.Run("train", "pipelines/does-not-exist.json");
        Assert.AreEqual(2, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "does-not-exist.json");
    }

    [TestMethod]
    public void GenerateFromPromptStartsWithPrompt()
    {
        var r = CliRunner.Run("generate", _model, "--prompt", "ROMEO:", "--max-new-tokens", "15", "--seed", "7");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        Assert.IsTrue(r.Output.StartsWith("ROMEO:", StringComparison.Ordinal), r.Output);
        Assert.IsTrue(r.Output.TrimEnd('\n').Length >= "ROMEO:".Length + 1);
        var again = CliRunner.Run("generate", _model, "--prompt", "ROMEO:", "--max-new-tokens", "15", "--seed", "7");
        Assert.AreEqual(r.Output, again.Output, "same seed, same text");
    }

    [TestMethod]
    public void GenerateOverCsvWritesRowsInOrder()
    {
        var dir = CliRunner.TempDirectory();
        var input = Path.Combine(dir, "prompts.csv");
        File.WriteAllLines(input, ["Prompt", .. Enumerable.Range(0, 40).Select(i => $"Line {Label(i)}:")]);
        var output = Path.Combine(dir, "out.jsonl");
        var r = CliRunner.Run("generate", _model, "--input", input, "--output", output, "--max-new-tokens", "5", "--batch-size", "8");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        var rows = File.ReadAllLines(output).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.AreEqual(40, rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            Assert.AreEqual($"Line {Label(i)}:", rows[i].GetProperty("prompt").GetString());
            Assert.IsTrue(rows[i].GetProperty("generated").GetString()!.Length > 0);
        }
    }

    [TestMethod]
    public void GenerateOverTheShippedPromptsFile()
    {
        var output = Path.Combine(CliRunner.TempDirectory(), "out.jsonl");
        var r = CliRunner.Run("generate", _model, "--input", Path.Combine(TestData.RepositoryRoot, "data", "prompts.csv"), "--output", output, "--max-new-tokens", "8");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        var prompts = File.ReadAllLines(output).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("prompt").GetString()).ToList();
        CollectionAssert.AreEqual(new[] { "ROMEO:", "JULIET:", "First Citizen:", "KING RICHARD III:", "To be, or not to be", "Now is the winter", "O, what a" }, prompts);
    }

    [TestMethod]
    public void GenerateOverJsonlTenThousandPromptsStreamsInOrder()
    {
        var dir = CliRunner.TempDirectory();
        var input = Path.Combine(dir, "prompts.jsonl");
        File.WriteAllLines(input, Enumerable.Range(0, 10_000).Select(i => JsonSerializer.Serialize(new { Prompt = $"{Label(i)}:" })));
        var output = Path.Combine(dir, "out.jsonl");
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var r = CliRunner.Run("generate", _model, "--input", input, "--output", output, "--max-new-tokens", "2", "--batch-size", "64");
        long after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        int n = 0;
        foreach (var line in File.ReadLines(output))
        {
            Assert.AreEqual($"{Label(n)}:", JsonDocument.Parse(line).RootElement.GetProperty("prompt").GetString());
            n++;
        }
        Assert.AreEqual(10_000, n);
        Assert.IsTrue(after - before < 64L << 20, $"retained {(after - before) >> 20} MiB after streaming");
    }

    [TestMethod]
    public void PromptOutsideTheVocabularyFailsWithoutPartialOutput()
    {
        var dir = CliRunner.TempDirectory();
        var input = Path.Combine(dir, "prompts.csv");
        File.WriteAllLines(input, ["Prompt", "fine", "also fine", "not fine: \u4e2d"]);
        var output = Path.Combine(dir, "out.jsonl");
        var r = CliRunner.Run("generate", _model, "--input", input, "--output", output, "--max-new-tokens", "3", "--batch-size", "1");
        Assert.AreNotEqual(0, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "\u4e2d");
        StringAssert.Contains(r.Error, "row 3");
        Assert.IsFalse(File.Exists(output), "partial output left behind");
        Assert.AreEqual(1, Directory.GetFiles(dir).Length, "temp files left behind");
    }

    [TestMethod]
    public void EmptyInputFileFails()
    {
        var dir = CliRunner.TempDirectory();
        var input = Path.Combine(dir, "prompts.csv");
        File.WriteAllText(input, "");
        var output = Path.Combine(dir, "out.jsonl");
        var r = CliRunner.Run("generate", _model, "--input", input, "--output", output);
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "empty");
        Assert.IsFalse(File.Exists(output));
    }

    [TestMethod]
    public void MissingAndCorruptModelsFail()
    {
        var dir = CliRunner.TempDirectory();
        var missing = CliRunner.Run("generate", Path.Combine(dir, "nope.zip"), "--prompt", "a");
        Assert.AreEqual(1, missing.ExitCode, missing.ToString());
        StringAssert.Contains(missing.Error, "nope.zip");

        var corrupt = Path.Combine(dir, "corrupt.zip");
        var bytes = File.ReadAllBytes(_model);
        File.WriteAllBytes(corrupt, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        foreach (var cmd in new[] { "generate", "info", "eval" })
        {
            var r = cmd == "generate" ? CliRunner.Run(cmd, corrupt, "--prompt", "a") : CliRunner.Run(cmd, corrupt);
            Assert.AreEqual(1, r.ExitCode, r.ToString());
            StringAssert.Contains(r.Error, "corrupt.zip");
        }
    }

    [TestMethod]
    public void EvalPrintsLossAndPerplexity()
    {
        var r = CliRunner.Run("eval", _model, "--data", TestCorpus.Path, "--max-batches", "4");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        var json = JsonDocument.Parse(r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last()).RootElement;
        double loss = json.GetProperty("loss").GetDouble();
        Assert.AreEqual(Math.Exp(loss), json.GetProperty("perplexity").GetDouble(), 1e-6 * Math.Exp(loss));
        Assert.IsTrue(loss > 0 && loss < Math.Log(TestCorpus.Vocabulary) + 0.5);
    }

    [TestMethod]
    public void InfoDescribesTheModel()
    {
        var r = CliRunner.Run("info", _model);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Output, "parameters");
        StringAssert.Contains(r.Output, "gpt");
        StringAssert.Contains(r.Output, $"vocabulary {TestCorpus.Vocabulary}");
    }

    [TestMethod]
    public void BigramPipelineTrains()
    {
        var dir = CliRunner.TempDirectory();
        var r = CliRunner.Run("train", Path.Combine(TestData.RepositoryRoot, "pipelines", "shakespeare-bigram.json"),
            "--from", TestCorpus.Path, "--out", dir, "train.max_iters=50", "train.eval_interval=25", "train.eval_iters=5", "generate.max_new_tokens=10");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        Assert.IsTrue(File.Exists(Path.Combine(dir, "model.zip")));
    }
}
