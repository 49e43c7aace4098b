// Inputs and outputs of generate, data prepare and tokenizer encode: strict UTF-8, no replaced links or pipes, CLI wording.
using System.Text;
using MLNetGpt.Testing;

namespace MLNetGpt.Cli.Tests;

[TestClass]
public sealed class CommandInputTests
{
    private static string _model = null!;

    [ClassInitialize]
    public static void TrainOnce(TestContext _)
    {
        string run = CliRunner.TempDirectory();
        var r = CliRunner.Run(["train", Path.Combine(TestData.RepositoryRoot, "pipelines", "shakespeare-char-gpt.json"), "--from", TestCorpus.Path,
            "--out", run, "train.max_iters=4", .. TrainAndGenerateTests.Tiny]);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        _model = Path.Combine(run, "model.zip");
    }

    [TestMethod]
    public void GenerateRefusesToReplaceASymbolicLinkWithAFile()
    {
        string dir = CliRunner.TempDirectory();
        string target = Path.Combine(dir, "real.jsonl"), link = Path.Combine(dir, "out.jsonl");
        File.WriteAllText(target, "keep\n");
        File.CreateSymbolicLink(link, target);
        var r = CliRunner.Run("generate", _model, "--prompt", "ROMEO:", "--max-new-tokens", "3", "--output", link);
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "symbolic link");
        Assert.AreEqual(target, new FileInfo(link).LinkTarget);
        Assert.AreEqual("keep\n", File.ReadAllText(target));
    }

    [TestMethod]
    public void GenerateRefusesToReplaceAFifo()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("The FIFO is made with a Linux call here.");
        string dir = CliRunner.TempDirectory();
        string fifo = Path.Combine(dir, "out.jsonl"), prompts = Path.Combine(dir, "prompts.txt");
        File.WriteAllText(prompts, "ROMEO:\n");
        Assert.AreEqual(0, Posix.MakeFifo(fifo, Convert.ToUInt32("644", 8)));
        var r = CliRunner.Run("generate", _model, "--input", prompts, "--output", fifo, "--max-new-tokens", "3");
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "FIFO");
        Assert.AreEqual("a named pipe (FIFO)", MLNetGpt.Models.Serialization.FileKinds.DescribeNonRegular(fifo));
    }

    [TestMethod]
    [DataRow("--top-p", "2")]
    [DataRow("--temperature", "-1")]
    [DataRow("--max-new-tokens", "-5")]
    [DataRow("--batch-size", "0")]
    public void BadSamplingValuesAreNamedAsTheirOptions(string option, string value)
    {
        var r = CliRunner.Run("generate", _model, "--prompt", "a", option, value);
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, $"{option} {value} is invalid");
        Assert.IsFalse(r.Error.Contains("(Parameter", StringComparison.Ordinal), r.Error);
        Assert.IsFalse(r.Error.Contains("Actual value", StringComparison.Ordinal), r.Error);
    }

    [TestMethod]
    [DataRow("--top-k", "abc", "a whole number")]
    [DataRow("--temperature", "warm", "a number")]
    [DataRow("--seed", "1.5", "a whole number")]
    public void AValueOfTheWrongTypeSaysWhatTheOptionExpects(string option, string value, string expected)
    {
        var r = CliRunner.Run("generate", _model, "--prompt", "a", option, value);
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, $"{option} expects {expected}, got '{value}'");
        StringAssert.Contains(r.Error, "mlnetgpt generate --help");
        Assert.IsFalse(r.Error.Contains("System.", StringComparison.Ordinal), r.Error);
    }

    [TestMethod]
    public void APromptOutsideTheVocabularyIsExplainedWithoutLibraryAdvice()
    {
        var r = CliRunner.Run("generate", _model, "--prompt", "\u4e2d");
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "U+4E2D");
        StringAssert.Contains(r.Error, "--prompt");
        foreach (var jargon in new[] { "UnknownCharacterPolicy", "(Parameter", "create the tokenizer" })
            Assert.IsFalse(r.Error.Contains(jargon, StringComparison.Ordinal), r.Error);
    }

    [TestMethod]
    public void DataPrepareRefusesInvalidUtf8NamingTheOffset()
    {
        string dir = CliRunner.TempDirectory();
        string input = Path.Combine(dir, "bad.txt"), outDir = Path.Combine(dir, "prepared");
        byte[] bytes = [.. Encoding.UTF8.GetBytes("good text, then "), 0xFF, .. Encoding.UTF8.GetBytes(" more")];
        File.WriteAllBytes(input, bytes);
        var r = CliRunner.Run("data", "prepare", "--input", input, "--out", outDir, "--tokenizer", "char");
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "byte offset 16");
        StringAssert.Contains(r.Error, "0xFF");
        Assert.IsFalse(Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any(), "files written for a refused input");
    }

    [TestMethod]
    public void TokenizerEncodeOfALoneSurrogateIsAClearError()
    {
        string dir = CliRunner.TempDirectory();
        string input = Path.Combine(dir, "in.jsonl");
        File.WriteAllText(input, "{\"text\":\"\\ud800\"}\n");
        CliResult r;
        try
        {
            r = CliRunner.Run("tokenizer", "encode", "--tiktoken", TestCorpus.Gpt2Tiktoken, "--input", input);
        }
        catch (Exception e)
        {
            Assert.Fail($"tokenizer encode threw {e.GetType().Name} instead of reporting the line: {e.Message}");
            return;
        }
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "line 1");
    }

    [TestMethod]
    public void TokenizerTrainReportsTheIdsItLearnedNotTheOnesAskedFor()
    {
        string dir = CliRunner.TempDirectory();
        string input = Path.Combine(dir, "tiny.txt"), output = Path.Combine(dir, "tok.txt");
        File.WriteAllText(input, "abab abab cdcd");
        var r = CliRunner.Run("tokenizer", "train", "--input", input, "--vocab-size", "1000000", "--output", output);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        StringAssert.DoesNotMatch(r.Output, new System.Text.RegularExpressions.Regex("trained 1000000 ids"));
        StringAssert.Contains(r.Output, "asked for 1000000");
    }
}
