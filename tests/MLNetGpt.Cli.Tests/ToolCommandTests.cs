// CLI tests of the data, tokenizer and bench commands: happy paths on small inputs and clear errors on bad ones.
using System.Buffers.Binary;
using System.Text.Json;
using MLNetGpt.Testing;

namespace MLNetGpt.Cli.Tests;

[TestClass]
public sealed class ToolCommandTests
{
    [TestMethod]
    public void DataFetchFromLocalCopyVerifiesAndCaches()
    {
        var cache = CliRunner.TempDirectory();
        var r = CliRunner.Run("data", "fetch", "--from", TestData.TinyShakespearePath, "--cache", cache);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        var cached = Path.Combine(cache, "tinyshakespeare.txt");
        Assert.AreEqual(new FileInfo(TestData.TinyShakespearePath).Length, new FileInfo(cached).Length);
        // A second fetch finds the verified cache without --from (no network needed).
        var again = CliRunner.Run("data", "fetch", "--cache", cache);
        if (Environment.GetEnvironmentVariable("MLNETGPT_DATA") is null)
            StringAssert.Contains(again.Output, cached);
    }

    [TestMethod]
    public void DataFetchRejectsAWrongFile()
    {
        var dir = CliRunner.TempDirectory();
        var wrong = Path.Combine(dir, "not-shakespeare.txt");
        File.WriteAllText(wrong, "To be or not to be");
        var r = CliRunner.Run("data", "fetch", "--from", wrong, "--cache", dir);
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "SHA-256");
        Assert.IsFalse(File.Exists(Path.Combine(dir, "tinyshakespeare.txt")));
    }

    [TestMethod]
    public void DataPrepareWritesTrainAndValIds()
    {
        var dir = CliRunner.TempDirectory();
        var corpus = Path.Combine(dir, "corpus.txt");
        File.WriteAllText(corpus, string.Concat(Enumerable.Repeat("hello world, ", 100)));
        var outDir = Path.Combine(dir, "prepared");
        var r = CliRunner.Run("data", "prepare", "--input", corpus, "--out", outDir, "--tokenizer", "char");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        var train = File.ReadAllBytes(Path.Combine(outDir, "train.bin"));
        var val = File.ReadAllBytes(Path.Combine(outDir, "val.bin"));
        Assert.AreEqual(1300 * 2, train.Length + val.Length, "uint16 per character");
        Assert.AreEqual(130 * 2, val.Length);
        using var meta = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "meta.json")));
        Assert.AreEqual("uint16", meta.RootElement.GetProperty("dtype").GetString());
        int vocab = meta.RootElement.GetProperty("vocab_size").GetInt32();
        Assert.AreEqual("hello world,".Distinct().Count() + 0, vocab);
        for (int i = 0; i < train.Length; i += 2) Assert.IsTrue(BinaryPrimitives.ReadUInt16LittleEndian(train.AsSpan(i)) < vocab);
    }

    [TestMethod]
    public void TokenizerTrainEncodeDecodeRoundTrip()
    {
        var dir = CliRunner.TempDirectory();
        var tokenizer = Path.Combine(dir, "tok.txt");
        var r = CliRunner.Run("tokenizer", "train", "--input", TestData.CorpusExcerptPath, "--vocab-size", "300", "--output", tokenizer);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        var texts = new[] { "First Citizen:", "Hello, world!", "\uFEFFBOM kept", "emoji \U0001F600 too" };
        var jsonl = string.Join("\n", texts.Select(t => JsonSerializer.Serialize(new { text = t }))) + "\n";
        var enc = CliRunner.Run(CancellationToken.None, jsonl, "tokenizer", "encode", "--tokenizer", tokenizer);
        Assert.AreEqual(0, enc.ExitCode, enc.ToString());
        var dec = CliRunner.Run(CancellationToken.None, enc.Output, "tokenizer", "decode", "--tokenizer", tokenizer);
        Assert.AreEqual(0, dec.ExitCode, dec.ToString());
        var decoded = dec.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()).ToArray();
        CollectionAssert.AreEqual(texts, decoded);
    }

    [TestMethod]
    public void TokenizerEncodeWithTiktokenMatchesGpt2Ids()
    {
        var dir = CliRunner.TempDirectory();
        var input = Path.Combine(dir, "in.jsonl");
        File.WriteAllText(input, "{\"text\": \"Hello world\"}\n{\"text\": \" hello\"}\n");
        var output = Path.Combine(dir, "out.jsonl");
        var r = CliRunner.Run("tokenizer", "encode", "--tiktoken", TestCorpus.Gpt2Tiktoken, "--encoding", "gpt2", "--input", input, "--output", output);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        var lines = File.ReadAllLines(output);
        // GPT-2 ids from tiktoken: "Hello world" = [15496, 995], " hello" = [23748].
        CollectionAssert.AreEqual(new[] { 15496, 995 }, JsonDocument.Parse(lines[0]).RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        CollectionAssert.AreEqual(new[] { 23748 }, JsonDocument.Parse(lines[1]).RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray());
    }

    [TestMethod]
    [DataRow("gpt2")]
    [DataRow("r50k_base")]
    [DataRow("cl100k_base")]
    [DataRow("o200k_base")]
    public void TokenizerEncodeWithAnEncodingNameNeedsNoFile(string encoding)
    {
        var texts = new[] { "Hello world", " hello<|endoftext|>", "emoji \U0001F600 and ünïcödé" };
        var jsonl = string.Join("\n", texts.Select(t => JsonSerializer.Serialize(new { text = t }))) + "\n";
        var r = CliRunner.Run(CancellationToken.None, jsonl, "tokenizer", "encode", "--encoding", encoding);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        var lines = r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var tokenizer = MLNetGpt.Tokenizers.BpeTokenizer.CreateForEncoding(encoding);
        for (var i = 0; i < texts.Length; i++)
            CollectionAssert.AreEqual(tokenizer.Encode(texts[i]), JsonDocument.Parse(lines[i]).RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        if (encoding == "gpt2") // tiktoken's GPT-2 ids for "Hello world"
            CollectionAssert.AreEqual(new[] { 15496, 995 }, JsonDocument.Parse(lines[0]).RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        var back = CliRunner.Run(CancellationToken.None, r.Output, "tokenizer", "decode", "--encoding", encoding);
        Assert.AreEqual(0, back.ExitCode, back.ToString());
        CollectionAssert.AreEqual(texts, back.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("text").GetString()).ToArray());
    }

    [TestMethod]
    public void TokenizerEncodeWithAnEncodingWhosePackageIsMissingSaysWhich()
    {
        var r = CliRunner.Run(CancellationToken.None, "{\"text\":\"a\"}\n", "tokenizer", "encode", "--encoding", "p50k_base");
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "Microsoft.ML.Tokenizers.Data.P50kBase");
        r = CliRunner.Run(CancellationToken.None, "{\"text\":\"a\"}\n", "tokenizer", "encode", "--encoding", "gpt5");
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "o200k_base");
    }

    [TestMethod]
    public void TokenizerEncodeBadLineNamesTheLineAndWritesNothing()
    {
        var dir = CliRunner.TempDirectory();
        var input = Path.Combine(dir, "in.jsonl");
        File.WriteAllText(input, "{\"text\": \"ok\"}\n{\"txt\": \"bad\"}\n");
        var output = Path.Combine(dir, "out.jsonl");
        var r = CliRunner.Run("tokenizer", "encode", "--tiktoken", TestCorpus.Gpt2Tiktoken, "--input", input, "--output", output);
        Assert.AreNotEqual(0, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "2");
        Assert.IsFalse(File.Exists(output));
    }

    [TestMethod]
    public void TokenizerNeedsExactlyOneSource()
    {
        var r = CliRunner.Run(CancellationToken.None, "{\"text\":\"a\"}\n", "tokenizer", "encode");
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "--tiktoken");
    }

    [TestMethod]
    public void BenchPrintsOneJsonLinePerConfig()
    {
        var r = CliRunner.Run("bench", "--config", "bigram", "--iters", "20", "--threads", "1", "--sample-tokens", "20", "--from", TestCorpus.Path);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        var json = JsonDocument.Parse(r.Output.Trim()).RootElement;
        Assert.AreEqual("bigram", json.GetProperty("config").GetString());
        Assert.IsTrue(json.GetProperty("tokens_per_s").GetDouble() > 0);
        Assert.IsTrue(json.GetProperty("sample_tokens_per_s").GetDouble() > 0);
    }

    [TestMethod]
    public void DataManifestAgreesWithTheLoader()
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "data", "manifest.json")));
        var shakespeare = manifest.RootElement.GetProperty("datasets").EnumerateArray().Single(d => d.GetProperty("name").GetString() == "tinyshakespeare");
        Assert.AreEqual(MLNetGpt.Models.Data.TinyShakespeare.Sha256, shakespeare.GetProperty("sha256").GetString());
        Assert.AreEqual(MLNetGpt.Models.Data.TinyShakespeare.Url, shakespeare.GetProperty("url").GetString());
        Assert.AreEqual(new FileInfo(TestData.TinyShakespearePath).Length, shakespeare.GetProperty("bytes").GetInt64());
    }

    [TestMethod]
    public void KeysListsEveryKey()
    {
        var r = CliRunner.Run("keys");
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Output, "train.max_iters");
        StringAssert.Contains(r.Output, "generate.max_new_tokens");
    }
}
