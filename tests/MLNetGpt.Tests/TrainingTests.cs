// Training through ML.NET: progress to Options.Progress and mlContext.Log, cancellation, checkpoints and resume, validation data, devices, evaluation.
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNetGpt.Models.Training;

namespace MLNetGpt.Tests;

[TestClass]
public sealed class TrainingTests
{
    private static IEstimator<ITransformer> Pipeline(MLContext ml, GptTrainer.Options options) =>
        ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Append(ml.TextGeneration.Trainers.Gpt(options));

    [TestMethod]
    public void ProgressReachesTheOptionsAndTheMLContextLog()
    {
        var ml = new MLContext(seed: 11);
        var log = new LogCapture(ml);
        var split = ml.Data.TrainTestSplitContiguous(TinyModels.Corpus(ml, 20_000));
        var reports = new List<TrainingProgress>();
        var model = Pipeline(ml, TinyModels.TinyGpt(20) with
        {
            LogInterval = 5,
            EvalInterval = 10,
            ValidationData = split.TestSet,
            Progress = new SynchronousProgress<TrainingProgress>(reports.Add),
        }).Fit(split.TrainSet);

        CollectionAssert.AreEqual(new[] { 5, 10, 15, 20 }, reports.Select(r => r.Step).ToArray());
        Assert.IsTrue(reports.All(r => r.MaxIters == 20 && float.IsFinite(r.TrainLoss)));
        foreach (var r in reports)
        {
            bool evaluated = r.Step % 10 == 0;
            Assert.AreEqual(evaluated, r.EvalTrainLoss is not null, $"step {r.Step}");
            Assert.AreEqual(evaluated, r.ValLoss is not null, $"step {r.Step}");
        }

        var ours = log.FromMLNetGpt;
        var trainer = ours.Where(m => m.Source.StartsWith(nameof(GptTrainer), StringComparison.Ordinal) && m.Kind == ChannelMessageKind.Info).Select(m => m.RawMessage).ToList();
        Assert.AreEqual(2, trainer.Count(m => m.StartsWith("step ", StringComparison.Ordinal)), string.Join("\n", trainer));
        Assert.IsTrue(trainer.Any(m => m.StartsWith("step 20/20: train loss", StringComparison.Ordinal)), string.Join("\n", trainer));
        Assert.IsTrue(trainer.Any(m => m.Contains("training tokens") && m.Contains("20 steps on 'cpu'")), string.Join("\n", trainer));
        Assert.IsTrue(trainer.Any(m => m.Contains("done at step 20")), string.Join("\n", trainer));
        Assert.IsTrue(ours.Any(m => m.Source.StartsWith(nameof(TextTokenizingEstimator), StringComparison.Ordinal) && m.RawMessage.Contains("fitted on")),
            "the tokenizer step logs its fit too");
        Assert.IsFalse(ours.Any(m => m.Kind is ChannelMessageKind.Warning or ChannelMessageKind.Error));
        Assert.AreEqual(20, TextGenerationModel.Find(model).Generator.TrainingResult!.Steps);
    }

    [TestMethod]
    public void CancellationReturnsTheModelTrainedSoFarAfterTheCheckpointHook()
    {
        var ml = new MLContext(seed: 3);
        var log = new LogCapture(ml);
        using var cts = new CancellationTokenSource();
        var hooked = new List<int>();
        var model = Pipeline(ml, TinyModels.TinyGpt(1_000_000) with
        {
            LogInterval = 5,
            Progress = new SynchronousProgress<TrainingProgress>(p => { if (p.Step >= 10) cts.Cancel(); }),
            CancellationToken = cts.Token,
            Checkpoint = t => hooked.Add(t.Step),
        }).Fit(TinyModels.Corpus(ml, 10_000));
        var generator = TextGenerationModel.Find(model).Generator;
        Assert.IsTrue(generator.TrainingResult!.Cancelled);
        Assert.AreEqual(10, generator.TrainingResult.Steps);
        CollectionAssert.AreEqual(new[] { 10 }, hooked, "the hook runs once, on cancellation");
        Assert.IsTrue(log.FromMLNetGpt.Any(m => m.RawMessage.Contains("cancelled at step 10")));
        // The partly trained model is a working model.
        Assert.AreEqual(24, generator.Generate("ROMEO:").Length);
    }

    private static GptTrainer.Options Recipe(List<float> losses) => TinyModels.TinyGpt(20) with
    {
        Seed = 5,
        LogInterval = 1,
        EvalInterval = 10,
        Progress = new SynchronousProgress<TrainingProgress>(p => losses.Add(p.TrainLoss)),
        Generation = new TextGenerationOptions { MaxNewTokens = 20, Seed = 8 },
    };

    [TestMethod]
    public void ACheckpointResumesToTheSameLossesAsAnUninterruptedRun()
    {
        using var dir = new TempDirectory();
        string checkpoint = Path.Combine(dir.Path, "step10.safetensors");

        var ml = new MLContext(seed: 1);
        var straightLosses = new List<float>();
        var straight = Pipeline(ml, Recipe(straightLosses)).Fit(TinyModels.Corpus(ml, 10_000));

        // Interrupted at step 10: the hook (which runs on cancellation) writes the checkpoint.
        using var cts = new CancellationTokenSource();
        var firstLosses = new List<float>();
        var first = Pipeline(ml, Recipe(firstLosses) with
        {
            Progress = new SynchronousProgress<TrainingProgress>(p =>
            {
                firstLosses.Add(p.TrainLoss);
                if (p.Step == 10) cts.Cancel();
            }),
            CancellationToken = cts.Token,
            Checkpoint = t => t.SaveCheckpoint(checkpoint),
        }).Fit(TinyModels.Corpus(ml, 10_000));
        Assert.IsTrue(TextGenerationModel.Find(first).Generator.TrainingResult!.Cancelled);
        Assert.IsTrue(File.Exists(checkpoint));

        var resumedLosses = new List<float>();
        var resumed = Pipeline(ml, Recipe(resumedLosses) with { ResumeFromCheckpoint = checkpoint }).Fit(TinyModels.Corpus(ml, 10_000));

        Assert.HasCount(20, straightLosses);
        CollectionAssert.AreEqual(straightLosses.Take(10).ToList(), firstLosses);
        CollectionAssert.AreEqual(straightLosses.Skip(10).ToList(), resumedLosses, "steps 11..20 after the resume");
        var a = TextGenerationModel.Find(straight).Generator.TrainingResult!;
        var b = TextGenerationModel.Find(resumed).Generator.TrainingResult!;
        Assert.AreEqual(20, b.Steps);
        Assert.AreEqual(a.FinalTrainLoss, b.FinalTrainLoss);
        CollectionAssert.AreEqual(TinyModels.Weights(straight), TinyModels.Weights(resumed));
        CollectionAssert.AreEqual(TinyModels.Generate(ml, straight, TinyModels.Prompts(5)), TinyModels.Generate(ml, resumed, TinyModels.Prompts(5)));
    }

    [TestMethod]
    public void TheCheckpointHookRunsEveryIntervalAndAtTheEnd()
    {
        var ml = new MLContext(seed: 1);
        var hooked = new List<int>();
        Pipeline(ml, TinyModels.TinyGpt(20) with { CheckpointInterval = 5, Checkpoint = t => hooked.Add(t.Step) }).Fit(TinyModels.Corpus(ml, 10_000));
        CollectionAssert.AreEqual(new[] { 5, 10, 15, 20 }, hooked);
    }

    [TestMethod]
    public void ValidationDataAsTextOrAsTokenIdsGivesTheSameValidationLoss()
    {
        var ml = new MLContext(seed: 4);
        var split = ml.Data.TrainTestSplitContiguous(TinyModels.Corpus(ml, 20_000));
        var tokenizer = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(split.TrainSet);
        double? ValLoss(IDataView validation) =>
            TextGenerationModel.Find(tokenizer.Append(ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt(10) with { Seed = 2, ValidationData = validation }).Fit(tokenizer.Transform(split.TrainSet))))
                .Generator.TrainingResult!.FinalValLoss;
        double? fromText = ValLoss(split.TestSet);
        double? fromIds = ValLoss(tokenizer.Transform(split.TestSet));
        Assert.IsNotNull(fromText);
        Assert.AreEqual(fromText, fromIds);
        Assert.IsNull(ValLoss(null!), "no validation data, no validation loss");

        var neither = ml.Data.LoadFromEnumerable([new DataTests.Body { Content = TinyModels.Text(2_000) }]);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ValLoss(neither));
        Assert.Contains("Validation data needs column 'Tokens' or the text column 'Text'", e.Message);
        Assert.Contains("Columns present: Content", e.Message);
    }

    [TestMethod]
    public void AGpuDeviceWithoutFallbackIsAClearErrorBeforeTraining()
    {
        var ml = new MLContext(seed: 1) { GpuDeviceId = 99, FallbackToCpu = false }; // no machine has a 100th GPU
        int reports = 0;
        var pipeline = Pipeline(ml, TinyModels.TinyGpt(5) with { LogInterval = 1, Progress = new SynchronousProgress<TrainingProgress>(_ => reports++) });
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => pipeline.Fit(TinyModels.Corpus(ml, 5_000)));
        Assert.Contains("MLContext.GpuDeviceId is 99, but the GPU cannot be used", e.Message);
        Assert.Contains("FallbackToCpu = true", e.Message);
        Assert.AreEqual(0, reports);
    }

    [TestMethod]
    public void AGpuDeviceWithFallbackTrainsOnTheCpuAndLogsAWarning()
    {
        var ml = new MLContext(seed: 1) { GpuDeviceId = 99, FallbackToCpu = true };
        var log = new LogCapture(ml);
        var model = Pipeline(ml, TinyModels.TinyGpt(5)).Fit(TinyModels.Corpus(ml, 5_000));
        var generator = TextGenerationModel.Find(model).Generator;
        Assert.AreEqual(5, generator.TrainingResult!.Steps);
        Assert.AreEqual("cpu", generator.Model.Backend.Name);
        var warnings = log.Messages.Where(m => m.Kind == ChannelMessageKind.Warning).ToList();
        Assert.HasCount(1, warnings);
        Assert.Contains("running on the CPU (FallbackToCpu)", warnings[0].RawMessage);
        Assert.StartsWith(nameof(GptTrainer), warnings[0].Source);
    }

    [TestMethod]
    public void EvaluateAgreesWithTrainingsValidationLoss()
    {
        var ml = new MLContext(seed: 11);
        var split = ml.Data.TrainTestSplitContiguous(TinyModels.Corpus(ml, 30_000));
        var untrained = Pipeline(ml, TinyModels.TinyGpt(0)).Fit(split.TrainSet);
        var trained = Pipeline(ml, TinyModels.TinyGpt(60) with { ValidationData = split.TestSet, EvalIterations = 40 }).Fit(split.TrainSet);
        double validation = TextGenerationModel.Find(trained).Generator.TrainingResult!.FinalValLoss!.Value;

        var before = ml.TextGeneration.Evaluate(untrained, split.TestSet);
        var after = ml.TextGeneration.Evaluate(trained, split.TestSet);
        int vocabulary = TextGenerationModel.Find(trained).Generator.Model.VocabularySize;
        // An untrained GPT predicts nearly uniformly: loss ≈ ln V.
        Assert.AreEqual(Math.Log(vocabulary), before.Loss, 0.25);
        Assert.IsTrue(after.Loss < before.Loss - 0.3, $"trained {after.Loss} vs untrained {before.Loss}");
        // Training's estimate (40 random batches) and the full evaluation measure the same thing.
        Assert.AreEqual(validation, after.Loss, 0.25, $"training's validation loss {validation}, Evaluate {after.Loss}");
        Assert.AreEqual(Math.Exp(after.Loss), after.Perplexity);
        Assert.AreEqual(3_000L, after.TokenCount);
        Assert.AreEqual((3_000L - 1) / 16 * 16, after.PredictedTokens, "whole windows of the block size");

        // The token column is read as it is; at most maxBatches × batchSize windows are scored.
        var tokens = TextGenerationModel.Find(trained).Steps[0].Transform(split.TestSet);
        Assert.AreEqual(after.Loss, ml.TextGeneration.Evaluate(trained, tokens).Loss, 1e-12);
        Assert.AreEqual(2L * 4 * 16, ml.TextGeneration.Evaluate(trained, split.TestSet, batchSize: 4, maxBatches: 2).PredictedTokens);
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.TextGeneration.Evaluate(trained, TinyModels.PromptView(ml, ["ROMEO:"])));
        Assert.Contains("needs at least 17", e.Message);
    }

    [TestMethod]
    public void TheBigramTrainerLearnsCharacterPairs()
    {
        var ml = new MLContext(seed: 2);
        var data = TinyModels.Corpus(ml);
        var model = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
            .Append(ml.TextGeneration.Trainers.Bigram(new BigramTrainer.Options
            {
                MaxIterations = 150, LearningRate = 1e-1f, MinLearningRate = 1e-2f, WarmupIterations = 0, BatchSize = 16, EvalInterval = 0, EvalIterations = 2,
            }))
            .Fit(data);
        var generator = model.LastTransformer;
        Assert.AreEqual("bigram", generator.Config.Kind);
        long v = generator.Model.VocabularySize;
        Assert.AreEqual(v * v, generator.ParameterCount);
        var metrics = ml.TextGeneration.Evaluate(model, data);
        Assert.IsTrue(metrics.Loss < Math.Log(v) - 0.5, $"loss {metrics.Loss} vs ln V {Math.Log(v)}");
        Assert.AreEqual(100, generator.Generate("ROMEO:").Length, "the default 100 new characters");
    }
}
