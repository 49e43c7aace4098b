// Tests of pipeline files and key=value overrides: every shipped pipeline loads, and typos or wrong types are named errors.
using MLNetGpt.Cli.Configuration;
using MLNetGpt.Models;
using MLNetGpt.Models.Training;
using MLNetGpt.Testing;

namespace MLNetGpt.Cli.Tests;

[TestClass]
public sealed class PipelineConfigTests
{
    private static string Pipeline(string name) => Path.Combine(TestData.RepositoryRoot, "pipelines", name);

    [TestMethod]
    [DataRow("shakespeare-char-gpt.json")]
    [DataRow("shakespeare-bigram.json")]
    [DataRow("shakespeare-bpe-gpt.json")]
    [DataRow("lecture-gpt.json")]
    public void ShippedPipelinesLoad(string file)
    {
        var d = PipelineConfigLoader.Load(Pipeline(file), []);
        Assert.AreEqual(Path.GetFileNameWithoutExtension(file), d.Name);
        Assert.IsTrue(d.Train.MaxIters > 0);
    }

    [TestMethod]
    public void FineTunePipelineIsNanoGptsRecipeAndTakesItsModelFromInitFrom()
    {
        string file = Pipeline("finetune-shakespeare-gpt2.json");
        var e = Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load(file, []));
        StringAssert.Contains(e.Message, "--init-from");
        var gpt2 = new GptConfig { LayerCount = 12, HeadCount = 12, EmbeddingSize = 768, BlockSize = 1024, VocabularySize = 50257, Bias = true };
        var d = PipelineConfigLoader.Load(file, ["model.dropout=0.1"], gpt2);
        Assert.AreEqual(gpt2 with { Dropout = 0.1f }, (GptConfig)d.Model with { VocabularySize = 50257 }, "the base model, with the override over it");
        Assert.AreEqual("gpt2", d.Tokenizer.Type);
        // nanoGPT's config/finetune_shakespeare.py
        Assert.AreEqual((20, 1, 32, 3e-5f, false, 5, 40), (d.Train.MaxIters, d.Train.BatchSize, d.Train.GradientAccumulationSteps, d.Train.LearningRate,
            d.Train.DecayLearningRate, d.Train.EvalInterval, d.Train.EvalIters));
        var typed = Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load(file, ["model.type=bigram"], gpt2));
        StringAssert.Contains(typed.Message, "model.type");
    }

    [TestMethod]
    public void DeviceAcceptsCpuReferenceAndCudaDevices()
    {
        foreach (var device in new[] { "cpu", "reference", "cuda", "cuda:0", "cuda:3" })
            Assert.AreEqual(device, PipelineConfigLoader.Load(Pipeline("lecture-gpt.json"), [$"device={device}"]).Device);
        foreach (var device in new[] { "gpu", "cuda:", "cuda:-1", "cuda:x", "CUDA" })
        {
            var e = Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load(Pipeline("lecture-gpt.json"), [$"device={device}"]));
            StringAssert.Contains(e.Message, "'cuda' or 'cuda:N'");
        }
    }

    [TestMethod]
    public void TrainingOnAMissingGpuIsABadInputErrorSayingWhy()
    {
        // cuda:99: no machine has a 100th GPU, so this fails with or without an NVIDIA driver, before any training.
        string dir = CliRunner.TempDirectory();
        var r = CliRunner.Run(["train", Pipeline("lecture-gpt.json"), "device=cuda:99", "train.max_iters=1", "--from", TestCorpus.Path, "--out", dir]);
        Assert.AreEqual(1, r.ExitCode, r.ToString());
        StringAssert.Contains(r.Error, "Device 'cuda:99' was asked for, but the GPU cannot be used");
        Assert.IsFalse(File.Exists(Path.Combine(dir, "model.zip")), r.ToString());
    }

    [TestMethod]
    public void LectureValuesAreRead()
    {
        var d = PipelineConfigLoader.Load(Pipeline("lecture-gpt.json"), []);
        var model = (GptConfig)d.Model;
        Assert.AreEqual(6, model.LayerCount);
        Assert.AreEqual(384, model.EmbeddingSize);
        Assert.AreEqual(256, model.BlockSize);
        Assert.AreEqual(0.2f, model.Dropout, 1e-7f);
        Assert.AreEqual(Activation.Relu, model.Activation);
        Assert.IsFalse(model.TieWeights);
        Assert.AreEqual(3e-4f, d.Train.LearningRate, 1e-9f);
    }

    [TestMethod]
    public void OverridesWithDottedPathsWin()
    {
        var d = PipelineConfigLoader.Load(Pipeline("shakespeare-char-gpt.json"),
            ["train.max_iters=500", "generate.max_new_tokens=5000", "model.dropout=0.1", "model.bias=true", "generate.prompt=ROMEO:"]);
        Assert.AreEqual(500, d.Train.MaxIters);
        Assert.AreEqual(5000, d.Generate.Options.MaxNewTokens);
        Assert.AreEqual(0.1f, ((GptConfig)d.Model).Dropout, 1e-7f);
        Assert.IsTrue(((GptConfig)d.Model).Bias);
        Assert.AreEqual("ROMEO:", d.Generate.Prompt);
    }

    [TestMethod]
    public void UnknownOverrideKeyNamesKeyAndAllowedKeys()
    {
        var e = Assert.ThrowsExactly<PipelineConfigException>(() =>
            PipelineConfigLoader.Load(Pipeline("shakespeare-char-gpt.json"), ["train.max_iter=5"]));
        StringAssert.Contains(e.Message, "'train.max_iter'");
        StringAssert.Contains(e.Message, "train.max_iters");
    }

    [TestMethod]
    public void UnknownSectionIsRejected()
    {
        var e = Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load(Pipeline("shakespeare-char-gpt.json"), ["optimizer.lr=1"]));
        StringAssert.Contains(e.Message, "'optimizer.lr'");
        StringAssert.Contains(e.Message, "train");
    }

    [TestMethod]
    public void WrongTypeNamesKeyAndValue()
    {
        var e = Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load(Pipeline("shakespeare-char-gpt.json"), ["train.max_iters=lots"]));
        StringAssert.Contains(e.Message, "'train.max_iters'");
        StringAssert.Contains(e.Message, "'lots'");
    }

    [TestMethod]
    public void OutOfRangeValueIsRejected()
    {
        var e = Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load(Pipeline("shakespeare-char-gpt.json"), ["model.n_embd=130", "model.n_head=4"]));
        StringAssert.Contains(e.Message, "n_embd (130)");
    }

    [TestMethod]
    public void MalformedOverrideIsRejected()
    {
        var e = Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load(Pipeline("shakespeare-char-gpt.json"), ["train.max_iters"]));
        StringAssert.Contains(e.Message, "key=value");
    }

    [TestMethod]
    public void UnknownKeyInFileNamesTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mlnetgpt-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{ "tokenizer": {}, "model": { "type": "gpt" }, "train": { "max_iters": 10, "learning_rat": 0.1 } }""");
        try
        {
            var e = Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load(path, []));
            StringAssert.Contains(e.Message, "'train.learning_rat'");
            StringAssert.Contains(e.Message, Path.GetFileName(path));
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void MalformedJsonNamesTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mlnetgpt-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, "{ \"train\": { \"max_iters\": 10, }");
        try
        {
            var e = Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load(path, []));
            StringAssert.Contains(e.Message, Path.GetFileName(path));
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void MissingFileIsNamed()
    {
        var e = Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load("no/such/pipeline.json", []));
        StringAssert.Contains(e.Message, "no/such/pipeline.json");
    }

    [TestMethod]
    [DataRow("\"max_iters\": \"30\"", "'train.max_iters'", "\"30\"")]
    [DataRow("\"max_iters\": null", "'train.max_iters'", "null")]
    [DataRow("\"max_iters\": 2.5", "'train.max_iters'", "2.5")]
    public void StringsNullsAndFractionsAreNotIntegers(string entry, string key, string value)
    {
        var e = LoadText($$"""{ "tokenizer": {}, "model": { "type": "gpt" }, "train": { {{entry}} } }""");
        StringAssert.Contains(e.Message, key);
        StringAssert.Contains(e.Message, value);
    }

    [TestMethod]
    public void NullModelSizeIsRejectedNotDefaulted()
    {
        var e = LoadText("""{ "tokenizer": {}, "model": { "type": "gpt", "n_embd": null }, "train": {} }""");
        StringAssert.Contains(e.Message, "'model.n_embd'");
    }

    [TestMethod]
    [DataRow("model")]
    [DataRow("train")]
    [DataRow("tokenizer")]
    public void MissingSectionIsAnErrorNotADefault(string section)
    {
        var sections = new Dictionary<string, string> { ["tokenizer"] = "{}", ["model"] = "{ \"type\": \"gpt\" }", ["train"] = "{}" };
        sections.Remove(section);
        var e = LoadText("{ " + string.Join(", ", sections.Select(kv => $"\"{kv.Key}\": {kv.Value}")) + " }");
        StringAssert.Contains(e.Message, $"'{section}'");
    }

    [TestMethod]
    public void VocabularySizeIsNotASetting()
    {
        var e = LoadText("""{ "tokenizer": {}, "model": { "type": "gpt", "vocab_size": 65 }, "train": {} }""");
        StringAssert.Contains(e.Message, "model.vocab_size");
    }

    [TestMethod]
    [DataRow("../../x")]
    [DataRow("/abs/path")]
    [DataRow("")]
    public void NameCannotPlaceTheRunFolderElsewhere(string name)
    {
        var e = Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load(Pipeline("shakespeare-char-gpt.json"), [$"name={name}"]));
        StringAssert.Contains(e.Message, "'name'");
    }

    [TestMethod]
    public void DefaultsComeFromTheLibraryRecords()
    {
        // A pipeline that names its sections but no keys trains with exactly the library's defaults: one default per knob.
        var path = Path.Combine(Path.GetTempPath(), $"mlnetgpt-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{ "tokenizer": {}, "model": { "type": "gpt" }, "train": {} }""");
        try
        {
            var d = PipelineConfigLoader.Load(path, []);
            Assert.AreEqual(new TrainingOptions(), d.Train);
            Assert.AreEqual(new GptConfig(), d.Model);
            Assert.AreEqual(new TextGenerationOptions(), d.Generate.Options);
            var keys = PipelineConfigLoader.DescribeKeys().ToList();
            Assert.IsTrue(keys.Any(k => k.StartsWith($"train.eval_iters (an integer, default {new TrainingOptions().EvalIters})", StringComparison.Ordinal)), string.Join("\n", keys));
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void ConfigJsonRoundTrips()
    {
        var d = PipelineConfigLoader.Load(Pipeline("lecture-gpt.json"), ["train.max_iters=7", "generate.stop_sequences=[\"\\n\\n\"]"]);
        var path = Path.Combine(Path.GetTempPath(), $"mlnetgpt-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, ConfigJson.ToJson(d).ToJsonString());
        try
        {
            var again = PipelineConfigLoader.Load(path, []);
            Assert.AreEqual(d.Train, again.Train);
            Assert.AreEqual(d.Model, again.Model);
            CollectionAssert.AreEqual(new[] { "\n\n" }, again.Generate.Options.StopSequences.ToArray());
            Assert.AreEqual(d.Data, again.Data);
            Assert.AreEqual(d.Tokenizer, again.Tokenizer);
        }
        finally { File.Delete(path); }
    }

    private static PipelineConfigException LoadText(string json)
    {
        var path = Path.Combine(Path.GetTempPath(), $"mlnetgpt-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        try
        {
            return Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load(path, []));
        }
        finally { File.Delete(path); }
    }
}
