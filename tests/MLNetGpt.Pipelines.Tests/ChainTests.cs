// Estimator chains: whole-chain schema checks before any fitting, and seeds from chain position.
using System.Diagnostics;
using MLNetGpt.Pipelines;

namespace MLNetGpt.Pipelines.Tests;

[TestClass]
public sealed class ChainTests
{
    [TestMethod]
    public void MissingColumnInLastStepFailsBeforeEarlierStepsFit()
    {
        var ml = new MLContext(1);
        var slow = new RecordingEstimator(ml, "Text", TimeSpan.FromMinutes(5));
        var late = new RecordingEstimator(ml, "Prompt", TimeSpan.FromMinutes(5));
        var pipeline = slow.Append(late);
        var data = ml.Data.LoadText("hello");
        var watch = Stopwatch.StartNew();
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pipeline.Fit(data));
        watch.Stop();
        StringAssert.Contains(e.Message, "Could not find input column 'Prompt'");
        StringAssert.Contains(e.Message, "'Text' (Text)");
        StringAssert.Contains(e.Message, "step 1");
        Assert.AreEqual(0, slow.FitCount);
        Assert.AreEqual(0, late.FitCount);
        Assert.IsTrue(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
    }

    [TestMethod]
    public void SeedsDependOnChainPositionNotCallOrder()
    {
        var ml = new MLContext(123);
        var a = new RecordingEstimator(ml, "Text", TimeSpan.Zero);
        var b = new RecordingEstimator(ml, "Text", TimeSpan.Zero);
        var data = ml.Data.LoadText("x");
        a.Append(b).Fit(data);
        Assert.AreEqual(ml.DeriveSeed(0), a.SeedSeen);
        Assert.AreEqual(ml.DeriveSeed(1), b.SeedSeen);
        Assert.AreNotEqual(a.SeedSeen, b.SeedSeen);

        // Same positions in a new chain built in the other order give the same seeds to the same positions.
        var c = new RecordingEstimator(new MLContext(123), "Text", TimeSpan.Zero);
        var d = new RecordingEstimator(new MLContext(123), "Text", TimeSpan.Zero);
        d.Fit(data);
        c.Append(d).Fit(data);
        Assert.AreEqual(a.SeedSeen, c.SeedSeen);
        Assert.AreEqual(b.SeedSeen, d.SeedSeen);
        Assert.AreNotEqual(new MLContext(124).DeriveSeed(0), ml.DeriveSeed(0));
    }

    [TestMethod]
    public void NestedChainEstimatorsGetTheirOwnSeeds()
    {
        var ml = new MLContext(9);
        var outer = new RecordingEstimator(ml, "Text", TimeSpan.Zero);
        var innerA = new RecordingEstimator(ml, "Text", TimeSpan.Zero);
        var innerB = new RecordingEstimator(ml, "Text", TimeSpan.Zero);
        outer.Append(innerA.Append(innerB)).Fit(ml.Data.LoadText("x"));
        var seeds = new[] { outer.SeedSeen, innerA.SeedSeen, innerB.SeedSeen };
        Assert.AreEqual(3, seeds.Distinct().Count());
        Assert.AreEqual(ml.DeriveSeed(0), outer.SeedSeen);
    }

    [TestMethod]
    public void ChainAppliesStepsInOrderAndExposesLastTransformer()
    {
        var ml = new MLContext(1);
        var model = new RecordingEstimator(ml, "Text", TimeSpan.Zero)
            .Append(ml.Transforms.CopyColumns("Copy", "Text"))
            .Fit(ml.Data.LoadText("abc"));
        Assert.AreEqual(2, model.Count);
        Assert.AreEqual("Copy", model.LastTransformer.OutputColumnName);
        var output = model.Transform(ml.Data.LoadText("xy"));
        Assert.AreEqual("XY!", output.GetColumn<string>("Copy").Single());
        Assert.AreEqual("'Text' (Text), 'Copy' (Text)", output.Schema.ToString());
    }

    [TestMethod]
    public void TransformerChainChecksSchemaBeforeBuildingViews()
    {
        var ml = new MLContext(1);
        var model = ml.Transforms.CopyColumns("B", "A").Append(ml.Transforms.CopyColumns("C", "B")).Fit(
            ml.Data.LoadText("v", "A"));
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.Transform(ml.Data.LoadText("v", "Prompt")));
        StringAssert.Contains(e.Message, "Could not find input column 'A'. Columns present: 'Prompt' (Text).");
    }
}
