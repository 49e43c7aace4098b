// The generator transformer: determinism across batch sizes and threads, save/load, stop sequences, cancellation, thread safety.
using MLNetGpt.Pipelines;

namespace MLNetGpt.Pipelines.Tests;

[TestClass]
public sealed class GenerationTests
{
    private static string[] Generate(ITransformer model, string[] prompts, CancellationToken ct = default)
    {
        var ml = new MLContext(0);
        var view = ml.Data.LoadFromEnumerable(prompts.Select(p => new TextRow { Text = p }).ToList());
        var output = model is TransformerChain<TextGenerationTransformer> chain
            ? chain.LastTransformer.Transform(chain[0].Transform(view), ct)
            : model.Transform(view);
        return output.GetColumn<string>("Generated").ToArray();
    }

    [TestMethod]
    public void OutputDoesNotDependOnGenerationBatchSize()
    {
        var prompts = TinyModels.Prompts(40);
        var baseline = Generate(TinyModels.WithOptions(new TextGenerationOptions { MaxNewTokens = 20, GenerationBatchSize = 1 }), prompts);
        foreach (int batch in new[] { 4, 32 })
        {
            var other = Generate(TinyModels.WithOptions(new TextGenerationOptions { MaxNewTokens = 20, GenerationBatchSize = batch }), prompts);
            CollectionAssert.AreEqual(baseline, other, $"batch size {batch}");
        }
        Assert.IsTrue(baseline.All(g => g.Length > 0));
        // Rows are seeded by (seed, row id): the same prompt at different rows differs, a different seed differs.
        Assert.AreNotEqual(baseline[0], baseline[15]);
        Assert.AreEqual(prompts[0], prompts[15]);
        var reseeded = Generate(TinyModels.WithOptions(new TextGenerationOptions { MaxNewTokens = 20, Seed = 7 }), prompts);
        CollectionAssert.AreNotEqual(baseline, reseeded);
    }

    [TestMethod]
    public void OutputDoesNotDependOnThreadCount()
    {
        var prompts = TinyModels.Prompts(12);
        var options = new TextGenerationOptions { MaxNewTokens = 15, GenerationBatchSize = 4 };
        var chain = TinyModels.Gpt.Model;
        string[] For(int threads) => Generate(new TransformerChain<TextGenerationTransformer>(chain[0],
            chain.LastTransformer.WithDevice("cpu", threads).WithOptions(options)), prompts);
        var one = For(1);
        CollectionAssert.AreEqual(one, For(2));
        CollectionAssert.AreEqual(one, For(3));
    }

    [TestMethod]
    public void SaveLoadGivesIdenticalGenerations()
    {
        var (ml, model, data) = TinyModels.Gpt;
        string path = Path.Combine(Path.GetTempPath(), "mlnetgpt-gen-" + Guid.NewGuid().ToString("N") + ".zip");
        ml.Model.Save(model, data.Schema, path);
        var loaded = ml.Model.Load(path, out var schema);
        Assert.AreEqual("'Text' (Text)", schema.ToString());
        var generator = (TextGenerationTransformer)loaded[1];
        Assert.AreEqual(model.LastTransformer.ParameterCount, generator.ParameterCount);
        Assert.AreEqual(model.LastTransformer.Config, generator.Config);
        Assert.IsNull(generator.TrainingResult);
        var prompts = TinyModels.Prompts(10);
        var view = ml.Data.LoadFromEnumerable(prompts.Select(p => new TextRow { Text = p }).ToList());
        CollectionAssert.AreEqual(
            model.Transform(view).GetColumn<string>("Generated").ToArray(),
            loaded.Transform(view).GetColumn<string>("Generated").ToArray());
        var oneThread = ml.Model.Load(path, out _, new ModelLoadOptions { Threads = 1 });
        Assert.AreEqual(1, ((TextGenerationTransformer)oneThread[1]).Model.Backend.ThreadCount);
        CollectionAssert.AreEqual(
            model.Transform(view).GetColumn<string>("Generated").ToArray(),
            oneThread.Transform(view).GetColumn<string>("Generated").ToArray());
        var info = ml.Model.Inspect(path);
        Assert.AreEqual("TextGeneration", info.Steps[1].Loader);
        Assert.AreEqual(generator.ParameterCount, (long)info.Steps[1].Options["parameterCount"]!);
        CollectionAssert.AreEquivalent(new[] { "steps/01/tokenizer.txt", "steps/01/weights.safetensors" }, info.Steps[1].Entries.Select(e => e.Name).ToArray());
        File.Delete(path);
    }

    [TestMethod]
    public void StopSequencesCutTheOutput()
    {
        var prompts = TinyModels.Prompts(20);
        var free = Generate(TinyModels.WithOptions(new TextGenerationOptions { MaxNewTokens = 40 }), prompts);
        var stopped = Generate(TinyModels.WithOptions(new TextGenerationOptions { MaxNewTokens = 40, StopSequences = ["e", "\n"] }), prompts);
        for (int i = 0; i < prompts.Length; i++)
        {
            int cut = new[] { free[i].IndexOf('e'), free[i].IndexOf('\n') }.Where(x => x >= 0).DefaultIfEmpty(free[i].Length).Min();
            Assert.AreEqual(free[i][..cut], stopped[i], $"row {i}");
        }
        Assert.IsTrue(stopped.Any(s => s.Length < 40));
    }

    [TestMethod]
    public void GreedyDecodingIsTheSameForEveryRowWithTheSamePrompt()
    {
        var greedy = Generate(TinyModels.WithOptions(new TextGenerationOptions { MaxNewTokens = 12, Temperature = 0 }), ["ROMEO:", "x", "ROMEO:"]);
        Assert.AreEqual(greedy[0], greedy[2]);
        Assert.AreEqual(12, greedy[0].Length);
    }

    [TestMethod]
    public void GeneratedTokenIdsColumnMatchesText()
    {
        var (_, model, _) = TinyModels.Gpt;
        var ml = new MLContext(0);
        var tokenizerStep = (TokenizingTransformer)model[0];
        var view = tokenizerStep.Transform(ml.Data.LoadText("ROMEO:"));
        // A transformer with an extra id column, built through the trainer options path.
        var est = ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt(2) with { OutputTokenColumnName = "GeneratedIds", Generation = new TextGenerationOptions { MaxNewTokens = 9 } });
        var gen = est.Fit(tokenizerStep.Transform(ml.Data.LoadText(TinyModels.Text(5_000))));
        var output = gen.Transform(view);
        var ids = output.GetColumn<int[]>("GeneratedIds").Single();
        Assert.AreEqual(9, ids.Length);
        Assert.AreEqual(gen.Tokenizer.Decode(ids), output.GetColumn<string>("Generated").Single());
    }

    [TestMethod]
    public void CancelledTransformThrowsBetweenBatches()
    {
        using var cts = new CancellationTokenSource();
        var chain = TinyModels.WithOptions(new TextGenerationOptions { MaxNewTokens = 5, GenerationBatchSize = 2 });
        var ml = new MLContext(0);
        var view = chain.LastTransformer.Transform(chain[0].Transform(
            ml.Data.LoadFromEnumerable(TinyModels.Prompts(10).Select(p => new TextRow { Text = p }).ToList())), cts.Token);
        using var cursor = view.GetRowCursor(view.Schema);
        Assert.IsTrue(cursor.MoveNext());
        Assert.IsTrue(cursor.MoveNext());
        cts.Cancel();
        Assert.ThrowsExactly<OperationCanceledException>(() => cursor.MoveNext());
    }

    [TestMethod]
    public void PredictionEngineIsSafeFromManyThreads()
    {
        var (ml, model, _) = TinyModels.Gpt;
        var chain = TinyModels.WithOptions(new TextGenerationOptions { MaxNewTokens = 10 });
        var engine = ml.Model.CreatePredictionEngine<TextRow, GeneratedRow>(chain);
        var prompts = TinyModels.Prompts(5);
        var expected = prompts.Select(p => engine.Predict(new TextRow { Text = p }).Generated).ToArray();
        // Single-row predictions are row 0: the same as the first row of a batch view.
        Assert.AreEqual(Generate(chain, [prompts[1]])[0], expected[1]);
        var results = new string[8, prompts.Length];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            for (int i = 0; i < prompts.Length; i++) results[t, i] = engine.Predict(new TextRow { Text = prompts[(i + t) % prompts.Length] }).Generated;
        });
        for (int t = 0; t < 8; t++)
            for (int i = 0; i < prompts.Length; i++)
                Assert.AreEqual(expected[(i + t) % prompts.Length], results[t, i]);
        Assert.AreEqual(expected[2], chain.LastTransformer.Generate(prompts[2]));
    }

    public sealed class GeneratedRow
    {
        public string Generated { get; set; } = "";
    }

    [TestMethod]
    public void GenerateHelperRenamesThePromptColumnAndOverridesOptions()
    {
        var (ml, model, _) = TinyModels.Gpt;
        string csv = Path.Combine(Path.GetTempPath(), "mlnetgpt-prompts-" + Guid.NewGuid().ToString("N") + ".csv");
        File.WriteAllText(csv, "Prompt\nROMEO:\nKING\n");
        var options = new TextGenerationOptions { MaxNewTokens = 7 };
        var output = ml.TextGeneration.Generate(model, ml.Data.LoadFromCsvFile(csv), "Prompt", options);
        var rows = ml.Data.CreateEnumerable<PromptAndGenerated>(output).ToArray();
        CollectionAssert.AreEqual(new[] { "ROMEO:", "KING" }, rows.Select(r => r.Prompt).ToArray());
        CollectionAssert.AreEqual(Generate(TinyModels.WithOptions(options), ["ROMEO:", "KING"]), rows.Select(r => r.Generated).ToArray());
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.TextGeneration.Generate(model, ml.Data.LoadFromCsvFile(csv), "Question"));
        StringAssert.Contains(e.Message, "Could not find input column 'Question'. Columns present: 'Prompt' (Text).");
        var overridden = ml.TextGeneration.WithGenerationOptions(model, options);
        Assert.AreEqual(7, TextGenerationModel.Find(overridden).Generator.Options.MaxNewTokens);
        Assert.AreEqual(100, model.LastTransformer.Options.MaxNewTokens);
        File.Delete(csv);
    }

    public sealed class PromptAndGenerated
    {
        public string Prompt { get; set; } = "";
        public string Generated { get; set; } = "";
    }

    [TestMethod]
    public void Gpt2TokenizerModelRoundTripsThroughZip()
    {
        var ml = new MLContext(21);
        var model = ml.Transforms.Text.TokenizeIntoBpeIds("Tokens", "Text", MLNetGpt.Testing.TestData.Tokenizers("gpt2.tiktoken"))
            .Append(ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt(3) with { BlockSize = 8, Generation = new TextGenerationOptions { MaxNewTokens = 5 } }))
            .Fit(ml.Data.LoadText(TinyModels.Text(3_000)));
        Assert.AreEqual(50257, model.LastTransformer.Model.VocabularySize);
        string path = Path.Combine(Path.GetTempPath(), "mlnetgpt-gpt2-" + Guid.NewGuid().ToString("N") + ".zip");
        ml.Model.Save(model, new DataViewSchema.Builder().AddColumn("Text", TextDataViewType.Instance).ToSchema(), path);
        var loaded = ml.Model.Load(path, out _);
        var prompts = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = "Hello world" }, new TextRow { Text = "First Citizen:" } });
        var expected = model.Transform(prompts).GetColumn<int[]>("Tokens").ToArray();
        CollectionAssert.AreEqual(new[] { 15496, 995 }, expected[0]);
        CollectionAssert.AreEqual(model.Transform(prompts).GetColumn<string>("Generated").ToArray(), loaded.Transform(prompts).GetColumn<string>("Generated").ToArray());
        File.Delete(path);
    }
}
