// A run never saves a broken state: divergence stops it naming the step; resume refuses other data or another model.
using MLNetGpt.Models.Training;

namespace MLNetGpt.Models.Tests;

[TestClass]
public sealed class TrainingSafetyTests
{
    private static (int[] Train, int[] Val) Corpus() => (TestModels.RandomTokens(3000, 30, 1), TestModels.RandomTokens(500, 30, 2));

    private static GptConfig Config => TestModels.TinyGpt(vocab: 30, block: 8);

    private static TrainingOptions Recipe => new()
    {
        MaxIters = 12, BatchSize = 4, WarmupIters = 3, EvalInterval = 4, EvalIters = 2, LogInterval = 1, Seed = 42,
    };

    private static byte[] Checkpoint(LanguageModelTrainer trainer)
    {
        using var ms = new MemoryStream();
        trainer.SaveCheckpoint(ms);
        return ms.ToArray();
    }

    [TestMethod]
    public void ADivergingRunStopsNamingTheStepAndNeverCheckpointsTheBrokenState()
    {
        var (train, val) = Corpus();
        // A learning rate of 1e6 without clipping: AdamW moves every weight by about 1e6 per step.
        var recipe = Recipe with { MaxIters = 200, LearningRate = 1e6f, MinLearningRate = 0, GradientClip = 0, WarmupIters = 0, CheckpointInterval = 1 };
        var trainer = LanguageModelTrainer.Create(GptModel.Create(Config, TestModels.Backend, 3), train, val, recipe);
        var saved = new List<(int Step, byte[] Bytes)>();
        var reports = new List<TrainingProgress>();
        var e = Assert.ThrowsExactly<TrainingDivergedException>(() =>
            trainer.Run(new SyncProgress(reports.Add), default, t => saved.Add((t.Step, Checkpoint(t)))));

        Assert.IsTrue(e.Step >= 1 && e.Step < recipe.MaxIters, $"diverged at step {e.Step}");
        StringAssert.Contains(e.Message, $"step {e.Step}");
        Assert.IsTrue(saved.All(s => s.Step < e.Step), "no checkpoint of the diverged step");
        Assert.IsTrue(reports.All(r => float.IsFinite(r.TrainLoss) && (r.EvalTrainLoss is null || double.IsFinite(r.EvalTrainLoss.Value))),
            "no non-finite loss is reported");
        // Every checkpoint that was written resumes (its weights and moments are finite).
        foreach (var (step, bytes) in saved)
            Assert.AreEqual(step, LanguageModelTrainer.Resume(new MemoryStream(bytes), train, val, TestModels.Backend).Step);
        // Saving the diverged state itself is refused too.
        Assert.ThrowsExactly<TrainingDivergedException>(() => trainer.SaveCheckpoint(new MemoryStream()));
    }

    [TestMethod]
    public void ARunWithNothingToDoStillReportsFiniteLosses()
    {
        var (train, val) = Corpus();
        var untrained = LanguageModelTrainer.Create(GptModel.Create(Config, TestModels.Backend, 3), train, val, Recipe with { MaxIters = 0 });
        var result = untrained.Run();
        Assert.AreEqual(0, result.Steps);
        Assert.IsTrue(double.IsFinite(result.FinalTrainLoss), $"train loss {result.FinalTrainLoss}");
        Assert.AreEqual(Math.Log(30), result.FinalTrainLoss, 0.5, "an untrained model is near ln V");
        Assert.IsNotNull(result.FinalValLoss);

        // A checkpoint at the last step resumes to the same final numbers as the run that wrote it.
        var full = LanguageModelTrainer.Create(GptModel.Create(Config, TestModels.Backend, 3), train, val, Recipe);
        var done = full.Run();
        var resumed = LanguageModelTrainer.Resume(new MemoryStream(Checkpoint(full)), train, val, TestModels.Backend);
        var again = resumed.Run();
        Assert.AreEqual(done.Steps, again.Steps);
        Assert.AreEqual(done.FinalTrainLoss, again.FinalTrainLoss);
        Assert.AreEqual(done.FinalValLoss, again.FinalValLoss);
        Assert.AreEqual(done.LastStepLoss, again.LastStepLoss);
    }

    [TestMethod]
    public void ResumeRefusesOtherTokensAnotherConfigAndAnEarlierEnd()
    {
        var (train, val) = Corpus();
        var trainer = LanguageModelTrainer.Create(GptModel.Create(Config, TestModels.Backend, 3), train, val, Recipe with { MaxIters = 4 });
        trainer.Run();
        var bytes = Checkpoint(trainer);
        LanguageModelTrainer Resume(int[] t, int[]? v, TrainingOptions? o = null, LanguageModelConfig? c = null) =>
            LanguageModelTrainer.Resume(new MemoryStream(bytes), t, v, TestModels.Backend, o, c);

        // One token changed: same length, same vocabulary, another corpus.
        var edited = (int[])train.Clone();
        edited[1234] = (edited[1234] + 1) % 30;
        var e = Assert.ThrowsExactly<ArgumentException>(() => Resume(edited, val));
        StringAssert.Contains(e.Message, "training tokens differ");
        // The same ids in another order (a reversed corpus has the same characters).
        Assert.ThrowsExactly<ArgumentException>(() => Resume(train.Reverse().ToArray(), val));
        // A prefix (fewer distinct characters would also mean a smaller vocabulary).
        Assert.ThrowsExactly<ArgumentException>(() => Resume(train[..2000], val));
        var ev = Assert.ThrowsExactly<ArgumentException>(() => Resume(train, val[..400]));
        StringAssert.Contains(ev.Message, "validation tokens differ");
        Assert.ThrowsExactly<ArgumentException>(() => Resume(train, null));

        var c = Assert.ThrowsExactly<ArgumentException>(() => Resume(train, val, c: Config with { EmbeddingSize = 64 }));
        StringAssert.Contains(c.Message, "n_embd");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Resume(train, val, Recipe with { MaxIters = 3 }));

        // The same data and config resume.
        Assert.AreEqual(4, Resume(train, val, c: Config).Step);
        var info = LanguageModelTrainer.ReadCheckpoint(new MemoryStream(bytes));
        Assert.AreEqual(TokenFingerprint.Of(train), info.TrainTokens);
        Assert.AreEqual(TokenFingerprint.Of(val), info.ValidationTokens);
        Assert.AreEqual(Config, info.Config);
        Assert.AreEqual(4, info.Step);
    }

    [TestMethod]
    public void AnnotationsRoundTrip()
    {
        var (train, val) = Corpus();
        var trainer = LanguageModelTrainer.Create(GptModel.Create(Config, TestModels.Backend, 3), train, val, Recipe with { MaxIters = 1 });
        trainer.Run();
        using var ms = new MemoryStream();
        trainer.SaveCheckpoint(ms, new Dictionary<string, string> { ["corpus_sha256"] = "abc", ["note"] = "\"quoted\" ünïcode" });
        ms.Position = 0;
        var info = LanguageModelTrainer.ReadCheckpoint(ms);
        Assert.AreEqual("abc", info.Annotations["corpus_sha256"]);
        Assert.AreEqual("\"quoted\" ünïcode", info.Annotations["note"]);
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
