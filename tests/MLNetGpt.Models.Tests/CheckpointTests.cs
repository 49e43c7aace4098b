// Weights and checkpoints: save → load gives identical logits, resume reproduces the uninterrupted run, damaged files fail clearly.
using MLNetGpt.Models.Training;

namespace MLNetGpt.Models.Tests;

[TestClass]
public sealed class CheckpointTests
{
    private static string TempPath(string name) => Path.Combine(Path.GetTempPath(), "mlnetgpt-models-tests-" + Guid.NewGuid().ToString("N")[..8] + "-" + name);

    [TestMethod]
    public void SaveThenLoadGivesIdenticalLogits()
    {
        foreach (ILanguageModel model in new ILanguageModel[]
        {
            GptModel.Create(TestModels.TinyGpt(bias: false, tie: false, activation: Activation.Relu), TestModels.Backend, seed: 8),
            BigramModel.Create(new BigramConfig { VocabularySize = 65, BlockSize = 16 }, TestModels.Backend, seed: 8),
        })
        {
            string path = TempPath(model.Kind + ".safetensors");
            try
            {
                model.SaveWeights(path);
                var loaded = LanguageModel.Load(path, TestModels.Backend);
                Assert.AreEqual(model.Config, loaded.Config);
                Assert.AreEqual(model.ParameterCount, loaded.ParameterCount);
                var tokens = TestModels.RandomTokens(2 * 16, 65, 4);
                var a = new float[2 * 16 * 65];
                var b = new float[2 * 16 * 65];
                model.ComputeLogits(tokens, 2, 16, a);
                loaded.ComputeLogits(tokens, 2, 16, b);
                CollectionAssert.AreEqual(a, b, model.Kind);
            }
            finally { File.Delete(path); }
        }
    }

    [TestMethod]
    public void WeightsFileIsSafetensorsWithGpt2Names()
    {
        var model = GptModel.Create(TestModels.TinyGpt(), TestModels.Backend);
        using var ms = new MemoryStream();
        model.SaveWeights(ms);
        var bytes = ms.ToArray();
        ulong headerLength = BitConverter.ToUInt64(bytes, 0);
        Assert.AreEqual(0UL, (8 + headerLength) % 8, "data section aligned to 8 bytes");
        string header = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        StringAssert.Contains(header, "\"h.1.attn.c_attn.weight\":{\"dtype\":\"F32\",\"shape\":[96,32]");
        StringAssert.Contains(header, "\"format\":\"mlnetgpt-weights\"");
        Assert.AreEqual(8 + (long)headerLength + 4 * model.ParameterCount, bytes.Length);
    }

    private static (int[] Train, int[] Val) Corpus() => (TestModels.RandomTokens(3000, 30, 1), TestModels.RandomTokens(500, 30, 2));

    private static TrainingOptions Recipe => new()
    {
        MaxIters = 12, BatchSize = 4, WarmupIters = 3, EvalInterval = 4, EvalIters = 2, LogInterval = 1, Seed = 42,
    };

    private static List<TrainingProgress> Run(LanguageModelTrainer trainer)
    {
        var reports = new List<TrainingProgress>();
        trainer.Run(new SyncProgress(reports.Add));
        return reports;
    }

    [TestMethod]
    public void ResumeReproducesTheUninterruptedRunExactly()
    {
        var (train, val) = Corpus();
        var config = TestModels.TinyGpt(vocab: 30, block: 8, dropout: 0.1f);
        var full = Run(LanguageModelTrainer.Create(GptModel.Create(config, TestModels.Backend, 5), train, val, Recipe));

        // Interrupt the same recipe after step 5 (as a cancelled run would be), save, resume in a new trainer.
        var first = LanguageModelTrainer.Create(GptModel.Create(config, TestModels.Backend, 5), train, val, Recipe);
        var part1 = new List<TrainingProgress>();
        using var cts = new CancellationTokenSource();
        first.Run(new SyncProgress(p => { part1.Add(p); if (p.Step == 5) cts.Cancel(); }), cts.Token);
        string path = TempPath("resume.ckpt");
        try
        {
            first.SaveCheckpoint(path);
            var resumed = LanguageModelTrainer.Resume(path, train, val, TestModels.Backend);
            Assert.AreEqual(5, resumed.Step);
            var part2 = Run(resumed);
            var joined = part1.Concat(part2).ToList();
            Assert.AreEqual(full.Count, joined.Count);
            for (int i = 0; i < full.Count; i++)
            {
                Assert.AreEqual(full[i].Step, joined[i].Step);
                Assert.AreEqual(full[i].TrainLoss, joined[i].TrainLoss, $"train loss at step {full[i].Step}");
                Assert.AreEqual(full[i].LearningRate, joined[i].LearningRate);
            }
            var finalFull = full[^1];
            Assert.AreEqual(finalFull.ValLoss, joined[^1].ValLoss, "final validation loss");
            Assert.IsNotNull(finalFull.ValLoss);
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void TruncatedCheckpointFailsWithAClearError()
    {
        var (train, val) = Corpus();
        var trainer = LanguageModelTrainer.Create(GptModel.Create(TestModels.TinyGpt(vocab: 30, block: 8), TestModels.Backend), train, val, Recipe with { MaxIters = 1 });
        trainer.Run();
        using var ms = new MemoryStream();
        trainer.SaveCheckpoint(ms);
        var bytes = ms.ToArray();
        foreach (int keep in new[] { 4, 100, bytes.Length / 2, bytes.Length - 1 })
        {
            string path = TempPath("truncated.ckpt");
            try
            {
                File.WriteAllBytes(path, bytes[..keep]);
                var ex = Assert.ThrowsExactly<InvalidDataException>(() => LanguageModelTrainer.Resume(path, train, val));
                StringAssert.Contains(ex.Message, "truncated");
                StringAssert.Contains(ex.Message, path);
                var ex2 = Assert.ThrowsExactly<InvalidDataException>(() => LanguageModel.Load(path));
                StringAssert.Contains(ex2.Message, "truncated");
            }
            finally { File.Delete(path); }
        }
        // The full checkpoint also loads as a model.
        Assert.AreEqual("gpt", LanguageModel.Load(new MemoryStream(bytes)).Kind);
    }

    [TestMethod]
    public void MismatchedOrForeignFilesAreRefused()
    {
        var model = GptModel.Create(TestModels.TinyGpt(vocab: 30, block: 8), TestModels.Backend);
        using var weights = new MemoryStream();
        model.SaveWeights(weights);
        var (train, val) = Corpus();
        weights.Position = 0;
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => LanguageModelTrainer.Resume(weights, train, val));
        StringAssert.Contains(ex.Message, "mlnetgpt-checkpoint");

        // A header whose config disagrees with a tensor's shape.
        var bytes = weights.ToArray();
        string text = System.Text.Encoding.Latin1.GetString(bytes);
        string changed = text.Replace("\\u0022n_embd\\u0022:32", "\\u0022n_embd\\u0022:16").Replace("\"n_embd\":32", "\"n_embd\":16");
        Assert.AreNotEqual(text, changed, "the config text was found");
        var mismatch = Assert.ThrowsExactly<InvalidDataException>(() => LanguageModel.Load(new MemoryStream(System.Text.Encoding.Latin1.GetBytes(changed))));
        StringAssert.Contains(mismatch.Message, "shape");

        var garbage = new byte[64];
        garbage[0] = 10;
        Assert.ThrowsExactly<InvalidDataException>(() => LanguageModel.Load(new MemoryStream(garbage)));
    }

    [TestMethod]
    public void CancellationReturnsEarlyAndCallsTheCheckpointHook()
    {
        var (train, val) = Corpus();
        using var cts = new CancellationTokenSource();
        int hooks = 0;
        var trainer = LanguageModelTrainer.Create(GptModel.Create(TestModels.TinyGpt(vocab: 30, block: 8), TestModels.Backend), train, val,
            Recipe with { MaxIters = 100, CheckpointInterval = 2 });
        var result = trainer.Run(new SyncProgress(p => { if (p.Step == 5) cts.Cancel(); }), cts.Token, _ => hooks++);
        Assert.IsTrue(result.Cancelled);
        Assert.AreEqual(5, result.Steps);
        Assert.AreEqual(3, hooks, "steps 2 and 4, then on cancellation");
    }

    /// <summary>Reports synchronously on the training thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
