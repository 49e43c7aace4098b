// Trainer estimators: schema errors before training, seeds, progress, cancellation, validation data, evaluation.
using System.Diagnostics;
using MLNetGpt.Models.Training;
using MLNetGpt.Pipelines;

namespace MLNetGpt.Pipelines.Tests;

[TestClass]
public sealed class TrainingTests
{
    private static readonly GptTrainer.Options Slow = new() { MaxIterations = 1_000_000, EvalInterval = 0 };

    [TestMethod]
    public void MissingPromptColumnFailsInMillisecondsOnAChainThatWouldTrainForHours()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadText(TinyModels.Text(), "Prompt");
        // BPE training on the text plus a million GPT steps: minutes to hours if anything started.
        var pipeline = ml.Transforms.Text.TokenizeIntoBpeIds("Tokens", "Text", new BpeTokenizerEstimatorOptions { VocabularySize = 4096 })
            .Append(ml.TextGeneration.Trainers.Gpt(Slow));
        var watch = Stopwatch.StartNew();
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pipeline.Fit(data));
        Assert.IsTrue(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
        StringAssert.Contains(e.Message, "Could not find input column 'Text'. Columns present: 'Prompt' (Text).");
    }

    [TestMethod]
    public void TrainerColumnOfWrongTypeFailsBeforeTheTokenizerTrains()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadText(TinyModels.Text());
        var pipeline = ml.Transforms.Text.TokenizeIntoBpeIds("Tokens", "Text", new BpeTokenizerEstimatorOptions { VocabularySize = 4096 })
            .Append(ml.TextGeneration.Trainers.Gpt(Slow with { TokenColumnName = "Text" }));
        var watch = Stopwatch.StartNew();
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pipeline.Fit(data));
        Assert.IsTrue(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
        StringAssert.Contains(e.Message, "Schema mismatch for input column 'Text': expected Vector<Int32>, got Text");
        StringAssert.Contains(e.Message, "step 1");
    }

    [TestMethod]
    public void TokenColumnNotMadeByATokenizerFailsAtSchemaCheck()
    {
        var ml = new MLContext(1);
        var ids = ml.Data.LoadFromEnumerable(new[] { new IdsRow { Tokens = Enumerable.Range(0, 100).Select(i => i % 7).ToArray() } });
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.TextGeneration.Trainers.Gpt(Slow).GetOutputSchema(ids.Schema));
        StringAssert.Contains(e.Message, "Column 'Tokens' was not produced by a tokenizer step");
    }

    public sealed class IdsRow
    {
        public int[] Tokens { get; set; } = [];
    }

    [TestMethod]
    public void InvalidOptionsFailBeforeTraining()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadText(TinyModels.Text());
        var pipeline = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
            .Append(ml.TextGeneration.Trainers.Gpt(Slow with { HeadCount = 3 }));
        Assert.ThrowsExactly<ArgumentException>(() => pipeline.Fit(data));
        var badDevice = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
            .Append(ml.TextGeneration.Trainers.Gpt(Slow with { Device = "cuda" }));
        var e = Assert.ThrowsExactly<ArgumentException>(() => badDevice.Fit(data));
        StringAssert.Contains(e.Message, "Unknown device 'cuda'");
    }

    [TestMethod]
    public void SameContextSeedGivesSameModelAndOtherSeedDiffers()
    {
        string[] Run(int seed)
        {
            var ml = new MLContext(seed);
            var model = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
                .Append(ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt(5) with { Generation = new TextGenerationOptions { MaxNewTokens = 30, Temperature = 0 } }))
                .Fit(ml.Data.LoadText(TinyModels.Text(20_000)));
            return model.Transform(ml.Data.LoadFromEnumerable(TinyModels.Prompts(4).Select(p => new TextRow { Text = p }).ToList()))
                .GetColumn<string>("Generated").ToArray();
        }
        var a = Run(5);
        CollectionAssert.AreEqual(a, Run(5));
        CollectionAssert.AreNotEqual(a, Run(6));

        // Without an explicit generation seed, the fitted generator's seed derives from the context seed and its position.
        var ml = new MLContext(5);
        var model = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
            .Append(ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt(0)))
            .Fit(ml.Data.LoadText(TinyModels.Text(2_000)));
        Assert.AreEqual(ml.DeriveSeed(1, 2), model.LastTransformer.Options.Seed);
        Assert.AreNotEqual(new MLContext(6).DeriveSeed(1, 2), model.LastTransformer.Options.Seed);
    }

    [TestMethod]
    public void ProgressValidationLossAndEvaluation()
    {
        var ml = new MLContext(11);
        var split = ml.Data.TrainTestSplitContiguous(ml.Data.LoadText(TinyModels.Text(60_000)));
        var reports = new List<TrainingProgress>();
        var progress = new SynchronousProgress<TrainingProgress>(reports.Add);
        var tokenizer = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text");
        var untrained = tokenizer.Append(ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt(0))).Fit(split.TrainSet);
        var trained = tokenizer.Append(ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt(60) with
        {
            ValidationData = split.TestSet, EvalInterval = 20, EvalIterations = 4, LogInterval = 10, Progress = progress,
        })).Fit(split.TrainSet);
        Assert.AreEqual(6, reports.Count(r => r.Step % 10 == 0));
        Assert.IsTrue(reports.Where(r => r.Step % 20 == 0).All(r => r.ValLoss is not null), "validation loss at every evaluation");
        Assert.AreEqual(60, trained.LastTransformer.TrainingResult!.Steps);
        Assert.IsNotNull(trained.LastTransformer.TrainingResult!.FinalValLoss);

        int vocab = untrained.LastTransformer.Tokenizer.VocabularySize;
        var before = ml.TextGeneration.Evaluate(untrained, split.TestSet);
        var after = ml.TextGeneration.Evaluate(trained, split.TestSet);
        // An untrained GPT predicts nearly uniformly: loss ≈ ln V.
        Assert.AreEqual(Math.Log(vocab), before.Loss, 0.25);
        Assert.IsTrue(after.Loss < before.Loss - 0.3, $"trained {after.Loss} vs untrained {before.Loss}");
        Assert.AreEqual(Math.Exp(after.Loss), after.Perplexity, 1e-9);
        Assert.AreEqual(6000L, after.TokenCount);
        Assert.AreEqual(5984L, after.PredictedTokens); // 374 windows of 16
        // The generator alone evaluates raw text with its own tokenizer.
        Assert.AreEqual(after.Loss, ml.TextGeneration.Evaluate(trained.LastTransformer, split.TestSet).Loss, 1e-12);
    }

    [TestMethod]
    public void CancellationReturnsThePartiallyTrainedModelAfterTheCheckpointHook()
    {
        var ml = new MLContext(3);
        using var cts = new CancellationTokenSource();
        int checkpoints = 0;
        var progress = new SynchronousProgress<TrainingProgress>(p => { if (p.Step >= 10) cts.Cancel(); });
        var model = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
            .Append(ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt(1_000_000) with
            {
                LogInterval = 5, Progress = progress, CancellationToken = cts.Token, Checkpoint = _ => checkpoints++,
            }))
            .Fit(ml.Data.LoadText(TinyModels.Text(20_000)));
        var result = model.LastTransformer.TrainingResult!;
        Assert.IsTrue(result.Cancelled);
        Assert.AreEqual(10, result.Steps);
        Assert.AreEqual(1, checkpoints);
    }

    [TestMethod]
    public void BigramTrainerLearnsCharacterPairs()
    {
        var ml = new MLContext(2);
        var data = ml.Data.LoadText(TinyModels.Text(30_000));
        var model = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
            .Append(ml.TextGeneration.Trainers.Bigram(new BigramTrainer.Options { MaxIterations = 150, LearningRate = 1e-1f, MinLearningRate = 1e-2f, WarmupIterations = 0, BatchSize = 16, EvalInterval = 0, EvalIterations = 2 }))
            .Fit(data);
        Assert.AreEqual("bigram", model.LastTransformer.Config.Kind);
        long v = model.LastTransformer.Tokenizer.VocabularySize;
        Assert.AreEqual(v * v, model.LastTransformer.ParameterCount);
        var metrics = ml.TextGeneration.Evaluate(model, data);
        Assert.IsTrue(metrics.Loss < Math.Log(v) - 0.5, $"loss {metrics.Loss} vs ln V {Math.Log(v)}");
    }

    [TestMethod]
    public void TooLittleDataIsAClearError()
    {
        var ml = new MLContext(1);
        var pipeline = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Append(ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt(1)));
        var e = Assert.ThrowsExactly<ArgumentException>(() => pipeline.Fit(ml.Data.LoadText("too short")));
        StringAssert.Contains(e.Message, "9 tokens; block size 16 needs at least 17");
    }

    /// <summary>IProgress that reports on the training thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
