// mlContext.Model.Save/Load of chains mixing ML.NET's transforms with ours: layout, fresh-process load, identical generations.
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetGpt.Tests;

[TestClass]
public sealed class PersistenceTests
{
    private static readonly string[] Prompts = ["ROMEO:", "First Citizen:\n", "to be", "", "king a"];

    [TestMethod]
    public void NormalizeTokenizeGptChainLoadsInAFreshProcessWithIdenticalGenerations()
    {
        var ml = new MLContext(seed: 1);
        var pipeline = ml.Transforms.Text.NormalizeText("Normalized", "Text")
            .Append(ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Normalized"))
            .Append(ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt()));
        var corpus = TinyModels.Corpus(ml);
        var model = pipeline.Fit(corpus);
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "model.zip");
        ml.Model.Save(model, corpus.Schema, path);

        using (var zip = ZipFile.OpenRead(path))
        {
            var names = zip.Entries.Select(e => e.FullName.Replace('\\', '/')).ToHashSet();
            foreach (var expected in new[]
            {
                "TransformerChain/Model.key", "TransformerChain/Transform_000/Model.key", "TransformerChain/Transform_001/Model.key",
                "TransformerChain/Transform_001/tokenizer.txt", "TransformerChain/Transform_002/Model.key",
                "TransformerChain/Transform_002/tokenizer.txt", "TransformerChain/Transform_002/weights.safetensors",
            })
                Assert.Contains(expected, names, $"missing {expected}; entries: {string.Join(", ", names)}");
        }

        var inProcess = TinyModels.Generate(ml, model, Prompts);
        var child = ChildProcess.LoadAndGenerate(path, Prompts);
        Assert.IsNull(child["error"], child["error"]?.ToString());
        Assert.IsFalse(child["loadedBefore"]!.GetValue<bool>(), "MLNetGpt was loaded before Model.Load: the test would not show that loading needs no registration");
        var viaTransform = child["transform"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        var viaEngine = child["engine"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        CollectionAssert.AreEqual(inProcess, viaTransform);
        CollectionAssert.AreEqual(inProcess, viaEngine);
        Assert.IsTrue(inProcess.All(g => g.Length > 0), "every prompt generates text");
        Assert.AreEqual(Prompts.Length, inProcess.Distinct().Count(), "rows draw from different random streams");
    }

    [TestMethod]
    public void LoadedModelInTheSameProcessGeneratesTheSame()
    {
        var (ml, model) = TinyModels.Gpt;
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "m.zip");
        var schema = TinyModels.Corpus(ml, 100).Schema;
        using (var stream = File.Create(path)) ml.Model.Save(model, schema, stream);
        var loaded = new MLContext().Model.Load(path, out var inputSchema);
        Assert.AreEqual("Text", inputSchema[0].Name);
        CollectionAssert.AreEqual(TinyModels.Generate(ml, model, Prompts), TinyModels.Generate(ml, loaded, Prompts));
    }

    [TestMethod]
    public void ModelOfThePreviousFormatSaysReTrain()
    {
        // MLNetGpt's own .zip (before the move onto ML.NET) had a manifest.json at its root.
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "old.zip");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        using (var writer = new StreamWriter(zip.CreateEntry("manifest.json").Open()))
            writer.Write("""{"format":"mlnetgpt-model","version":1,"steps":[]}""");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => TextGenerationModel.Load(new MLContext(), path, out _));
        StringAssert.Contains(e.Message, "re-train");
        StringAssert.Contains(e.Message, path);
    }
}
