// The trainer: learning-rate schedule, determinism, real learning on Tiny Shakespeare, progress, and clear errors for bad inputs.
using MLNetGpt.Models.Training;

namespace MLNetGpt.Models.Tests;

[TestClass]
public sealed class TrainerTests
{
    [TestMethod]
    public void LearningRateWarmsUpThenFollowsACosineToTheMinimum()
    {
        var o = new TrainingOptions { MaxIters = 1100, WarmupIters = 100, LearningRate = 1e-3f, MinLearningRate = 1e-4f };
        Assert.AreEqual(1e-3f / 101, o.LearningRateAt(0), 1e-9f);
        Assert.AreEqual(1e-3f * 100 / 101, o.LearningRateAt(99), 1e-9f);
        Assert.AreEqual(1e-3f, o.LearningRateAt(100), 1e-9f);
        Assert.AreEqual(0.55e-3f, o.LearningRateAt(600), 1e-9f, "half way: (lr + min) / 2");
        Assert.AreEqual(1e-4f + 0.9e-3f * (1 + Math.Cos(Math.PI / 4)) / 2, o.LearningRateAt(350), 1e-8);
        Assert.AreEqual(1e-4f, o.LearningRateAt(1100), 1e-9f);
        Assert.AreEqual(1e-4f, o.LearningRateAt(5000), 1e-9f);
        Assert.AreEqual(3e-4f, (o with { DecayLearningRate = false, LearningRate = 3e-4f }).LearningRateAt(7));
    }

    [TestMethod]
    public void SameSeedGivesTheSameRunAndAnotherSeedDoesNot()
    {
        var train = TestModels.RandomTokens(2000, 20, 1);
        var options = new TrainingOptions { MaxIters = 6, BatchSize = 4, EvalInterval = 0, EvalIters = 2, Seed = 3 };
        TrainingResult Go(TrainingOptions o) =>
            LanguageModelTrainer.Train(GptModel.Create(TestModels.TinyGpt(vocab: 20, block: 8), TestModels.Backend, 1), train, null, o);
        var a = Go(options);
        var b = Go(options);
        var c = Go(options with { Seed = 4 });
        Assert.AreEqual(a.FinalTrainLoss, b.FinalTrainLoss);
        Assert.AreEqual(a.LastStepLoss, b.LastStepLoss);
        Assert.AreNotEqual(a.LastStepLoss, c.LastStepLoss);
        Assert.IsNull(a.FinalValLoss);
        Assert.AreEqual(6, a.Steps);
        Assert.IsTrue(a.TokensPerSecond > 0 && a.MillisecondsPerIter > 0);
    }

    [TestMethod]
    public void BigramLearnsTinyShakespeare()
    {
        var tokens = TestModels.ShakespeareTokens;
        var (train, val) = Data.DataSplit.TrainValidation(tokens);
        var model = BigramModel.Create(new BigramConfig { VocabularySize = 65, BlockSize = 8 }, TestModels.Backend, seed: 1);
        var reports = new List<TrainingProgress>();
        var result = LanguageModelTrainer.Create(model, train, val, new TrainingOptions
        {
            MaxIters = 1500, BatchSize = 32, LearningRate = 1e-2f, DecayLearningRate = false, WeightDecay = 0.01f, GradientClip = 0,
            EvalInterval = 500, EvalIters = 20,
        }).Run(new SyncProgress(reports.Add));
        Assert.IsTrue(result.FinalValLoss < 2.75, $"bigram val loss after 1500 steps: {result.FinalValLoss}");
        Assert.AreEqual(3, reports.Count(r => r.ValLoss is not null), "evaluations at 500, 1000, 1500");
        Assert.IsTrue(reports[^1].Step == 1500 && reports[^1].Eta == TimeSpan.Zero);
        // The whole-split evaluation agrees with the random-batch estimate.
        double full = model.EvaluateLoss(val, 64, 0);
        Assert.AreEqual(result.FinalValLoss!.Value, full, 0.1);
    }

    [TestMethod]
    public void BigramGradientIsSoftmaxMinusOneHotOverTheCount()
    {
        var model = BigramModel.Create(new BigramConfig { VocabularySize = 4, BlockSize = 2 }, TestModels.Backend, seed: 6);
        int[] x = [1, 2, 1, 3], y = [0, 3, 2, -1]; // the last target is ignored: the mean is over 3 positions
        model.Gradients.Clear();
        ((ITrainableModel)model).ForwardBackward(x, y, 2, 2, 1f, 0);
        var table = model.Parameters.Span.ToArray();
        var expected = new double[16];
        for (int i = 0; i < 3; i++)
        {
            var row = table.AsSpan(x[i] * 4, 4);
            double max = row.ToArray().Max(), sum = row.ToArray().Sum(v => Math.Exp(v - max));
            for (int j = 0; j < 4; j++) expected[x[i] * 4 + j] += (Math.Exp(row[j] - max) / sum - (j == y[i] ? 1 : 0)) / 3;
        }
        for (int i = 0; i < 16; i++) Assert.AreEqual(expected[i], model.Gradients.Span[i], 1e-6, $"gradient {i}");
    }

    [TestMethod]
    public void BadInputsGiveClearErrors()
    {
        var model = GptModel.Create(TestModels.TinyGpt(vocab: 20, block: 8), TestModels.Backend);
        var ok = TestModels.RandomTokens(100, 20, 1);
        var o = new TrainingOptions { MaxIters = 1, BatchSize = 2 };
        var empty = Assert.ThrowsExactly<ArgumentException>(() => LanguageModelTrainer.Create(model, [], null, o));
        StringAssert.Contains(empty.Message, "empty");
        var shortEx = Assert.ThrowsExactly<ArgumentException>(() => LanguageModelTrainer.Create(model, new int[8], null, o));
        StringAssert.Contains(shortEx.Message, "block size + 1");
        var shortVal = Assert.ThrowsExactly<ArgumentException>(() => LanguageModelTrainer.Create(model, ok, new int[3], o));
        StringAssert.Contains(shortVal.Message, "validation");
        var block = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => LanguageModelTrainer.Create(model, ok, null, o with { BlockSize = 9 }));
        StringAssert.Contains(block.Message, "larger than the model's block size 8");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => LanguageModelTrainer.Create(model, [1, 2, 3, 4, 5, 6, 7, 8, 9, 25], null, o));
        var lr = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => LanguageModelTrainer.Create(model, ok, null, o with { LearningRate = -1 }));
        StringAssert.Contains(lr.Message, "LearningRate");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => LanguageModelTrainer.Create(model, ok, null, o with { GradientAccumulationSteps = 0 }));
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
