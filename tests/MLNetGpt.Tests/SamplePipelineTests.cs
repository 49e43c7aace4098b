// The sample pipeline (samples/ShakespearePipeline, linked into this project) end to end on the committed excerpt with a tiny model.
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetGpt.Samples;
using MLNetGpt.Testing;

namespace MLNetGpt.Tests;

[TestClass]
public sealed class SamplePipelineTests
{
    public sealed class TsvRow
    {
        public string Prompt { get; set; } = "";

        public string Generated { get; set; } = "";
    }

    [TestMethod]
    public void TheShakespeareSampleRunsEndToEnd()
    {
        using var dir = new TempDirectory();
        string prompts = Path.Combine(dir.Path, "prompts.csv");
        string[] expectedPrompts = ["ROMEO:", "JULIET: O Romeo, Romeo", "First Citizen:", ""];
        File.WriteAllText(prompts, "Prompt\nROMEO:\n\"JULIET: O Romeo, Romeo\"\nFirst Citizen:\n\"\"\n");
        var settings = new SampleSettings
        {
            LayerCount = 1, HeadCount = 2, EmbeddingSize = 16, BlockSize = 16, BatchSize = 8,
            MaxIterations = 40, LearningRate = 3e-3f, WarmupIterations = 0, EvalInterval = 20, EvalIterations = 4, MaxNewTokens = 20,
        };
        var result = ShakespearePipelineSample.Run(TestData.CorpusExcerptPath, prompts, Path.Combine(dir.Path, "out"), settings);

        // The model .zip loads, and regenerates what the sample wrote.
        Assert.IsTrue(File.Exists(result.ModelPath), result.ModelPath);
        var ml = new MLContext(seed: 0);
        var loaded = TextGenerationModel.Load(ml, result.ModelPath, out var schema);
        Assert.AreEqual("Text", schema.Single().Name);

        // One generated row per prompt, in order.
        CollectionAssert.AreEqual(expectedPrompts, result.Generations.Select(g => g.Prompt).ToArray());
        Assert.IsTrue(result.Generations.All(g => g.Generated.Length == 20), "20 new characters per prompt");
        CollectionAssert.AreEqual(TinyModels.Generate(ml, loaded, expectedPrompts), result.Generations.Select(g => g.Generated).ToList());

        // The TSV has a header and one row per prompt (generated text may hold newlines, which the saver quotes).
        Assert.IsTrue(File.Exists(result.OutputPath), result.OutputPath);
        var tsv = ml.Data.CreateTextLoader(new TextLoader.Options
        {
            Separators = ['\t'],
            HasHeader = true,
            AllowQuoting = true,
            ReadMultilines = true,
            Columns = [new("Prompt", DataKind.String, 0), new("Generated", DataKind.String, 1)],
        }).Load(result.OutputPath);
        var rows = ml.Data.CreateEnumerable<TsvRow>(tsv, reuseRowObject: false).ToList();
        CollectionAssert.AreEqual(expectedPrompts, rows.Select(r => r.Prompt).ToArray());
        CollectionAssert.AreEqual(result.Generations.Select(g => g.Generated).ToArray(), rows.Select(r => r.Generated).ToArray());

        // Validation on the last 10% of the excerpt's characters; 40 steps already beat a uniform guess.
        int characters = File.ReadAllText(TestData.CorpusExcerptPath).Length;
        Assert.AreEqual(characters - 9L * characters / 10, result.Validation.TokenCount);
        int vocabulary = TextGenerationModel.Find(loaded).Generator.Model.VocabularySize;
        Assert.IsTrue(result.Validation.Loss < Math.Log(vocabulary), $"validation loss {result.Validation.Loss} vs ln V {Math.Log(vocabulary)}");
        Assert.AreEqual(Math.Exp(result.Validation.Loss), result.Validation.Perplexity);
    }
}
