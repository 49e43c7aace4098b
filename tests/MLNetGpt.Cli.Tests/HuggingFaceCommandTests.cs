// import-hf, generate, eval, export-hf and train --init-from on tiny GPT-2-layout checkpoints: PyTorch's greedy tokens through
// the command line, a bit-exact export, and fine-tuning (with resume) from an imported model; bad combinations are named.
using System.Text.Json;
using MLNetGpt.Models;
using MLNetGpt.Models.HuggingFace;
using MLNetGpt.Testing;
using MLNetGpt.Tokenizers;

namespace MLNetGpt.Cli.Tests;

[TestClass]
public sealed class HuggingFaceCommandTests
{
    private static string FineTunePipeline => Path.Combine(TestData.RepositoryRoot, "pipelines", "finetune-shakespeare-gpt2.json");

    // The tiny checkpoint has 80 ids; this tokenizer gives id i to the character '!' + i, so a text spells ids exactly.
    private static string Spell(IEnumerable<int> ids) => new(ids.Select(i => (char)('!' + i)).ToArray());

    private static readonly string[] QuickFineTune =
    [
        "train.max_iters=2", "train.grad_accum=1", "train.block_size=16", "train.eval_interval=1", "train.eval_iters=1",
        "train.checkpoint_interval=0", "generate.max_new_tokens=5",
    ];

    // A GPT-2-vocabulary model small enough for tests (1 layer, 16 channels: 0.8M parameters, nearly all of them wte),
    // written as a Hugging Face folder and imported with GPT-2's tokenizer, once for the class.
    private static readonly Lazy<(string Folder, string Zip)> Gpt2Vocabulary = new(() =>
    {
        string dir = CliRunner.TempDirectory(), folder = Path.Combine(dir, "hf"), zip = Path.Combine(dir, "gpt2-tiny.zip");
        var config = new GptConfig { VocabularySize = 50257, BlockSize = 32, LayerCount = 1, HeadCount = 2, EmbeddingSize = 16, Bias = true };
        Gpt2Checkpoint.Save(GptModel.Create(config, seed: 3), folder);
        var r = CliRunner.Run("import-hf", folder, "--out", zip);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        return (folder, zip);
    });

    [TestMethod]
    public void ImportedCheckpointGeneratesPyTorchsTokensEvaluatesAndExportsBitForBit()
    {
        string dir = CliRunner.TempDirectory();
        string tokenizer = Path.Combine(dir, "chars.txt");
        CharacterTokenizer.Create(Spell(Enumerable.Range(0, 80))).Save(tokenizer);
        string zip = Path.Combine(dir, "tiny.zip");
        var import = CliRunner.Run("import-hf", Gpt2Fixture.Folder("bf16"), "--out", zip, "--tokenizer", tokenizer);
        Assert.AreEqual(0, import.ExitCode, import.ToString());
        StringAssert.Contains(import.Output, "n_layer 2, n_head 4, n_embd 32, n_positions 40, vocab 80");

        string prompt = Spell(Gpt2Fixture.ReferenceIds("prompt"));
        int[] greedy = Gpt2Fixture.ReferenceIds("greedy.bf16");
        var generate = CliRunner.Run("generate", zip, "--prompt", prompt, "--temperature", "0", "--max-new-tokens", greedy.Length.ToString());
        Assert.AreEqual(0, generate.ExitCode, generate.ToString());
        Assert.AreEqual(prompt + Spell(greedy), generate.Output.TrimEnd('\n'));

        string text = Path.Combine(dir, "text.txt");
        File.WriteAllText(text, Spell(Enumerable.Range(0, 400).Select(i => (i * i + 7) % 80)));
        var eval = CliRunner.Run("eval", zip, "--data", text, "--whole", "--batch-size", "2");
        Assert.AreEqual(0, eval.ExitCode, eval.ToString());
        using var metrics = JsonDocument.Parse(eval.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        double perplexity = metrics.RootElement.GetProperty("perplexity").GetDouble();
        Assert.IsTrue(perplexity > 1 && double.IsFinite(perplexity), eval.ToString());

        string exported = Path.Combine(dir, "exported");
        var export = CliRunner.Run("export-hf", zip, "--out", exported);
        Assert.AreEqual(0, export.ExitCode, export.ToString());
        CollectionAssert.AreEqual(Gpt2Checkpoint.Load(Gpt2Fixture.Folder("bf16")).Parameters.Data, Gpt2Checkpoint.Load(exported).Parameters.Data);
    }

    [TestMethod]
    public void Gpt2sTokenizerStartsAndEndsTextsWithEndOfText()
    {
        var info = CliRunner.Run("info", Gpt2Vocabulary.Value.Zip);
        Assert.AreEqual(0, info.ExitCode, info.ToString());
        StringAssert.Contains(info.Output, "BpeTokenizer, vocabulary 50257");
        StringAssert.Contains(info.Output, "\"stop_sequences\":[\"<|endoftext|>\"]");
        StringAssert.Contains(info.Output, "\"empty_prompt_text\":\"<|endoftext|>\"");
        var generate = CliRunner.Run("generate", Gpt2Vocabulary.Value.Zip, "--prompt", "ROMEO:", "--max-new-tokens", "4");
        Assert.AreEqual(0, generate.ExitCode, generate.ToString());
        StringAssert.StartsWith(generate.Output, "ROMEO:");
    }

    [TestMethod]
    public void TrainInitFromFineTunesTheImportedModelAndResumes()
    {
        string run = Path.Combine(CliRunner.TempDirectory(), "run");
        var r = CliRunner.Run(["train", FineTunePipeline, "--init-from", Gpt2Vocabulary.Value.Zip, "--from", TestCorpus.Path, "--out", run, .. QuickFineTune]);
        Assert.AreEqual(0, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Output, "init     ");
        using (var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "metrics.json"))))
        {
            Assert.AreEqual(Path.GetFullPath(Gpt2Vocabulary.Value.Zip), metrics.RootElement.GetProperty("init_from").GetString());
            Assert.AreEqual(2, metrics.RootElement.GetProperty("steps").GetInt32());
            // Fine-tuning starts from the imported weights: the first losses are those of that model, near ln(50257) = 10.8.
            Assert.IsTrue(metrics.RootElement.GetProperty("final_train_loss").GetDouble() is > 9 and < 12, File.ReadAllText(Path.Combine(run, "metrics.json")));
        }
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json"))).RootElement.GetProperty("model");
        Assert.AreEqual(16, config.GetProperty("n_embd").GetInt32(), "the run's config.json records the imported model");

        var resumed = CliRunner.Run("train", "--resume", run, "--from", TestCorpus.Path, "train.max_iters=3");
        Assert.AreEqual(0, resumed.ExitCode, resumed.ToString());
        using var after = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")));
        Assert.AreEqual(3, after.RootElement.GetProperty("steps").GetInt32());
    }

    [TestMethod]
    public void InitFromRefusesAnotherModelTokenizerOrResume()
    {
        string Out() => Path.Combine(CliRunner.TempDirectory(), "run");
        string zip = Gpt2Vocabulary.Value.Zip;
        var noInit = CliRunner.Run(["train", FineTunePipeline, "--from", TestCorpus.Path, "--out", Out(), .. QuickFineTune]);
        Assert.AreEqual(2, noInit.ExitCode, noInit.ToString());
        StringAssert.Contains(noInit.Error, "--init-from");
        var otherModel = CliRunner.Run(["train", FineTunePipeline, "--init-from", zip, "--from", TestCorpus.Path, "--out", Out(), "model.n_layer=2", .. QuickFineTune]);
        Assert.AreEqual(2, otherModel.ExitCode, otherModel.ToString());
        StringAssert.Contains(otherModel.Error, "model.n_layer 1 in the model, 2 in the pipeline");
        var otherTokenizer = CliRunner.Run(["train", FineTunePipeline, "--init-from", zip, "--from", TestCorpus.Path, "--out", Out(), "tokenizer.type=cl100k_base", .. QuickFineTune]);
        Assert.AreEqual(2, otherTokenizer.ExitCode, otherTokenizer.ToString());
        StringAssert.Contains(otherTokenizer.Error, "another tokenizer");
        var learned = CliRunner.Run(["train", FineTunePipeline, "--init-from", zip, "--from", TestCorpus.Path, "--out", Out(), "tokenizer.type=char", .. QuickFineTune]);
        Assert.AreEqual(2, learned.ExitCode, learned.ToString());
        var resume = CliRunner.Run("train", "--resume", Out(), "--init-from", zip);
        Assert.AreEqual(1, resume.ExitCode, resume.ToString());
        var dropout = CliRunner.Run(["train", FineTunePipeline, "--init-from", zip, "--from", TestCorpus.Path, "--out", Out(), "model.dropout=0.1", .. QuickFineTune]);
        Assert.AreEqual(0, dropout.ExitCode, "dropout may be set for fine-tuning\n" + dropout);
    }

    [TestMethod]
    public void ImportHfNamesWhatIsWrong()
    {
        string dir = CliRunner.TempDirectory();
        var missing = CliRunner.Run("import-hf", Path.Combine(dir, "nothing"), "--out", Path.Combine(dir, "m.zip"));
        Assert.AreEqual(1, missing.ExitCode, missing.ToString());
        // GPT-2's tokenizer has 50257 ids; the tiny checkpoint only 80.
        var tooSmall = CliRunner.Run("import-hf", Gpt2Fixture.Folder("f32"), "--out", Path.Combine(dir, "m.zip"));
        Assert.AreEqual(1, tooSmall.ExitCode, tooSmall.ToString());
        StringAssert.Contains(tooSmall.Error, "50257 ids but the model only 80");
        Assert.IsFalse(File.Exists(Path.Combine(dir, "m.zip")));
    }
}
