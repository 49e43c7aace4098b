// Tests of pipeline files and key=value overrides: every shipped pipeline loads, and typos or wrong types are named errors.
using MLNetGpt.Cli.Configuration;
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
    public void LectureValuesAreRead()
    {
        var d = PipelineConfigLoader.Load(Pipeline("lecture-gpt.json"), []);
        Assert.AreEqual(6, d.Model.NLayer);
        Assert.AreEqual(384, d.Model.NEmbd);
        Assert.AreEqual(256, d.Model.BlockSize);
        Assert.AreEqual(0.2, d.Model.Dropout, 1e-12);
        Assert.AreEqual("relu", d.Model.Activation);
        Assert.AreEqual(3e-4, d.Train.LearningRate, 1e-12);
    }

    [TestMethod]
    public void OverridesWithDottedPathsWin()
    {
        var d = PipelineConfigLoader.Load(Pipeline("shakespeare-char-gpt.json"),
            ["train.max_iters=500", "generate.max_new_tokens=5000", "model.dropout=0.1", "model.bias=true", "generate.prompt=ROMEO:"]);
        Assert.AreEqual(500, d.Train.MaxIters);
        Assert.AreEqual(5000, d.Generate.MaxNewTokens);
        Assert.AreEqual(0.1, d.Model.Dropout, 1e-12);
        Assert.IsTrue(d.Model.Bias);
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
        var e = Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load(null, ["optimizer.lr=1"]));
        StringAssert.Contains(e.Message, "'optimizer.lr'");
        StringAssert.Contains(e.Message, "train");
    }

    [TestMethod]
    public void WrongTypeNamesKeyAndValue()
    {
        var e = Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load(null, ["train.max_iters=lots"]));
        StringAssert.Contains(e.Message, "'train.max_iters'");
        StringAssert.Contains(e.Message, "'lots'");
    }

    [TestMethod]
    public void OutOfRangeValueIsRejected()
    {
        var e = Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load(null, ["model.n_embd=130", "model.n_head=4"]));
        StringAssert.Contains(e.Message, "model.n_embd");
    }

    [TestMethod]
    public void MalformedOverrideIsRejected()
    {
        var e = Assert.ThrowsExactly<PipelineConfigException>(() => PipelineConfigLoader.Load(null, ["train.max_iters"]));
        StringAssert.Contains(e.Message, "key=value");
    }

    [TestMethod]
    public void UnknownKeyInFileNamesTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mlnetgpt-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{ "train": { "max_iters": 10, "learning_rat": 0.1 } }""");
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
}
