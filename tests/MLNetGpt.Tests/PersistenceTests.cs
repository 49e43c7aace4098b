// mlContext.Model.Save/Load of chains mixing ML.NET's transforms with ours: layout, fresh-process load, identical generations.
using System.IO.Compression;
using System.Security.Cryptography;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetGpt.Tokenizers;

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

    [TestMethod]
    public void EachStepsManifestDescribesItsEntriesTruthfully()
    {
        var (ml, model) = TinyModels.Gpt;
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "m.zip");
        ml.Model.Save(model, TinyModels.Corpus(ml, 10).Schema, path);
        var entries = ModelZip.ReadEntries(path).ToDictionary(e => ModelZip.Normalize(e.Name), e => e.Bytes);
        foreach (var (step, format, sides) in new[]
        {
            ("TransformerChain/Transform_000", "mlnetgpt-tokenizer-step", new[] { "tokenizer.txt" }),
            ("TransformerChain/Transform_001", "mlnetgpt-text-generation-step", new[] { "tokenizer.txt", "weights.safetensors" }),
        })
        {
            byte[] key = entries[step + "/Model.key"];
            var manifest = ModelZip.Manifest(key);
            Assert.AreEqual(format, manifest["format"]!.GetValue<string>());
            Assert.AreEqual(1, manifest["version"]!.GetValue<int>());
            // The manifest's own SHA-256 follows it.
            var json = key.AsSpan(ModelZip.ManifestOffset, ModelZip.ManifestLength(key));
            CollectionAssert.AreEqual(SHA256.HashData(json), key.AsSpan(ModelZip.ManifestOffset + json.Length, 32).ToArray());
            var listed = manifest["entries"]!.AsObject();
            CollectionAssert.AreEquivalent(sides, listed.Select(p => p.Key).ToArray());
            foreach (var side in sides)
            {
                byte[] bytes = entries[step + "/" + side];
                Assert.AreEqual(bytes.LongLength, listed[side]!["length"]!.GetValue<long>(), $"{step}/{side} length");
                Assert.AreEqual(Convert.ToHexStringLower(SHA256.HashData(bytes)), listed[side]!["sha256"]!.GetValue<string>(), $"{step}/{side} hash");
            }
        }
        var settings = ModelZip.Manifest(entries["TransformerChain/Transform_001/Model.key"])["settings"]!;
        Assert.AreEqual(TinyModels.Generator.ParameterCount, settings["parameterCount"]!.GetValue<long>());
        Assert.AreEqual("CharacterTokenizer", settings["tokenizer"]!.GetValue<string>());
    }

    [TestMethod]
    public void SavingALoadedModelWritesTheSameStepBytes()
    {
        var (ml, model) = TinyModels.Gpt;
        using var dir = new TempDirectory();
        string first = Path.Combine(dir.Path, "first.zip"), second = Path.Combine(dir.Path, "second.zip");
        var schema = TinyModels.Corpus(ml, 10).Schema;
        ml.Model.Save(model, schema, first);
        ml.Model.Save(TextGenerationModel.Load(new MLContext(3), first, out _), schema, second);
        var a = ModelZip.ReadEntries(first).Where(e => e.Name.Contains("Transform_")).ToDictionary(e => ModelZip.Normalize(e.Name), e => e.Bytes);
        var b = ModelZip.ReadEntries(second).Where(e => e.Name.Contains("Transform_")).ToDictionary(e => ModelZip.Normalize(e.Name), e => e.Bytes);
        CollectionAssert.AreEquivalent(a.Keys.ToArray(), b.Keys.ToArray());
        foreach (var (name, bytes) in a) CollectionAssert.AreEqual(bytes, b[name], name);
    }

    [TestMethod]
    public void GenerationSettingsAndColumnsRoundTrip()
    {
        var ml = new MLContext(seed: 9);
        var fitted = ml.Transforms.Text.TokenizeIntoBpeIds("Tokens", "Text", new BpeTrainerOptions { VocabularySize = 270 })
            .Append(ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt(5) with { OutputColumnName = "Continuation", OutputTokenColumnName = "ContinuationIds" }))
            .Fit(TinyModels.Corpus(ml, 5_000));
        var options = new TextGenerationOptions
        {
            MaxNewTokens = 9, Temperature = 0.7f, TopK = 5, TopP = 0.9f, StopSequences = ["\n\n", "KING"], Seed = 77,
            GenerationBatchSize = 3, EmptyPromptText = "ROMEO:",
        };
        var model = ml.TextGeneration.WithGenerationOptions(fitted, options);
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "bpe.zip");
        ml.Model.Save(model, TinyModels.Corpus(ml, 1).Schema, path);
        ITransformer loaded;
        using (var stream = File.OpenRead(path)) loaded = TextGenerationModel.Load(new MLContext(1), stream, out _);

        var before = TextGenerationModel.Find(model).Generator;
        var after = TextGenerationModel.Find(loaded).Generator;
        Assert.IsNull(after.TrainingResult, "training results are not saved");
        Assert.IsNotNull(before.TrainingResult);
        Assert.AreEqual(before.Config, after.Config);
        Assert.AreEqual(before.ParameterCount, after.ParameterCount);
        Assert.AreEqual(before.Columns, after.Columns);
        Assert.IsInstanceOfType<BpeTokenizer>(after.Tokenizer);
        Assert.AreEqual(options with { StopSequences = [] }, after.Options with { StopSequences = [] });
        CollectionAssert.AreEqual(options.StopSequences.ToArray(), after.Options.StopSequences.ToArray());

        var prompts = TinyModels.PromptView(ml, ["First Citizen:", "", "Zebra"]);
        CollectionAssert.AreEqual(model.Transform(prompts).GetColumn<string>("Continuation").ToList(), loaded.Transform(prompts).GetColumn<string>("Continuation").ToList());
        var ids = loaded.Transform(prompts).GetColumn<int[]>("ContinuationIds").ToList();
        var texts = loaded.Transform(prompts).GetColumn<string>("Continuation").ToList();
        for (int r = 0; r < 3; r++) Assert.AreEqual(texts[r], after.Tokenizer.Decode(ids[r]));
    }

    [TestMethod]
    public void ABigramChainAndAGeneratorAloneRoundTrip()
    {
        var ml = new MLContext(seed: 4);
        var data = TinyModels.Corpus(ml, 5_000);
        var tokenizer = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(data);
        var generator = ml.TextGeneration.Trainers.Bigram(new BigramTrainer.Options { MaxIterations = 20, WarmupIterations = 0, EvalInterval = 0, EvalIterations = 1 })
            .Fit(tokenizer.Transform(data));
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "bigram.zip");
        // The generator alone, saved with the schema of the token column it reads.
        var tokens = tokenizer.Transform(TinyModels.PromptView(ml, ["ROMEO:", "First Citizen:"]));
        ml.Model.Save(generator, tokens.Schema, path);
        var loaded = TextGenerationModel.Load(new MLContext(1), path, out var schema);
        Assert.IsInstanceOfType<TextGenerationTransformer>(loaded);
        Assert.AreEqual("bigram", ((TextGenerationTransformer)loaded).Config.Kind);
        Assert.IsNotNull(schema.GetColumnOrNull("Tokens"));
        CollectionAssert.AreEqual(generator.Transform(tokens).GetColumn<string>("Generated").ToList(), loaded.Transform(tokens).GetColumn<string>("Generated").ToList());
    }
}
