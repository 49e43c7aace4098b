// The sample pipeline (samples/ShakespearePipeline) end to end on Tiny Shakespeare with a tiny model and few iterations.
using MLNetGpt.Pipelines;
using MLNetGpt.Samples;
using MLNetGpt.Testing;

namespace MLNetGpt.Pipelines.Tests;

[TestClass]
public sealed class SamplePipelineTests
{
    [TestMethod]
    public void ShakespeareSampleRunsEndToEnd()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mlnetgpt-sample-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string prompts = Path.Combine(dir, "prompts.csv");
        File.WriteAllText(prompts, "Id,Prompt\n1,ROMEO:\n2,\"JULIET:\nO Romeo\"\n3,\n");
        var settings = new SampleSettings
        {
            LayerCount = 1, HeadCount = 2, EmbeddingSize = 16, BlockSize = 16, BatchSize = 8,
            MaxIterations = 60, LearningRate = 3e-3f, WarmupIterations = 0, EvalInterval = 20, EvalIterations = 2, MaxNewTokens = 25,
        };
        var result = ShakespearePipelineSample.Run(TestData.TinyShakespearePath, prompts, dir, settings);

        Assert.IsTrue(File.Exists(result.ModelPath));
        CollectionAssert.AreEqual(new[] { "ROMEO:", "JULIET:\nO Romeo", "" }, result.Generations.Select(g => g.Prompt).ToArray());
        Assert.IsTrue(result.Generations.All(g => g.Generated.Length > 0 && g.Generated.Length <= 25));
        // 65 characters: an untrained model scores ln 65 ≈ 4.17; 60 steps already do better.
        Assert.IsTrue(result.Validation.Loss < Math.Log(65) - 0.2, $"validation loss {result.Validation.Loss}");
        Assert.AreEqual(111_540L, result.Validation.TokenCount);

        // The saved model reproduces the CSV's generations.
        var ml = new MLContext(0);
        var loaded = ml.Model.Load(result.ModelPath, out var schema);
        var again = loaded.Transform(ml.Data.LoadFromEnumerable(result.Generations.Select(g => new TextRow { Text = g.Prompt }).ToList()))
            .GetColumn<string>("Generated").ToArray();
        CollectionAssert.AreEqual(result.Generations.Select(g => g.Generated).ToArray(), again);
        Directory.Delete(dir, recursive: true);
    }
}
