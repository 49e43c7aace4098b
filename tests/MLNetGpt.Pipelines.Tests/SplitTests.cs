// Contiguous (nanoGPT 90/10) and random train/test splits.
using MLNetGpt.Pipelines;
using MLNetGpt.Testing;

namespace MLNetGpt.Pipelines.Tests;

[TestClass]
public sealed class SplitTests
{
    [TestMethod]
    public void ContiguousSplitOfTinyShakespeareCutsAtNinetyPercentOfCharacters()
    {
        var ml = new MLContext(1);
        string text = File.ReadAllText(TestData.TinyShakespearePath);
        var split = ml.Data.TrainTestSplitContiguous(ml.Data.LoadFromTextFile(TestData.TinyShakespearePath), 0.1);
        string train = split.TrainSet.GetColumn<string>("Text").Single();
        string test = split.TestSet.GetColumn<string>("Text").Single();
        // nanoGPT: n = len(data); train = data[:int(n*0.9)]; Tiny Shakespeare has 1,115,394 characters.
        Assert.AreEqual(1_115_394, text.Length);
        Assert.AreEqual(1_003_854, train.Length);
        Assert.AreEqual(111_540, test.Length);
        Assert.AreEqual(text, train + test);
    }

    [TestMethod]
    [DataRow(10, 0.1, 9)]
    [DataRow(7, 0.5, 3)]
    [DataRow(3, 0.0, 3)]
    [DataRow(3, 1.0, 0)]
    public void ContiguousSplitOfRowsKeepsOrder(int rows, double testFraction, int expectedTrain)
    {
        var ml = new MLContext(1);
        var view = ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(i => new TextRow { Text = i.ToString() }).ToList());
        var split = ml.Data.TrainTestSplitContiguous(view, testFraction);
        var train = split.TrainSet.GetColumn<string>("Text").ToArray();
        var test = split.TestSet.GetColumn<string>("Text").ToArray();
        Assert.AreEqual(expectedTrain, train.Length);
        Assert.AreEqual(expectedTrain, (int)split.TrainSet.GetRowCount()!);
        CollectionAssert.AreEqual(Enumerable.Range(0, rows).Select(i => i.ToString()).ToArray(), train.Concat(test).ToArray());
    }

    [TestMethod]
    public void RandomSplitIsDisjointCompleteAndDeterministic()
    {
        var ml = new MLContext(42);
        var view = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 2000).Select(i => new TextRow { Text = i.ToString() }).ToList());
        var a = ml.Data.TrainTestSplit(view, 0.2);
        var b = new MLContext(42).Data.TrainTestSplit(view, 0.2);
        var train = a.TrainSet.GetColumn<string>("Text").ToArray();
        var test = a.TestSet.GetColumn<string>("Text").ToArray();
        CollectionAssert.AreEqual(test, b.TestSet.GetColumn<string>("Text").ToArray());
        Assert.AreEqual(2000, train.Length + test.Length);
        Assert.AreEqual(0, train.Intersect(test).Count());
        // 2000 Bernoulli(0.2) draws: mean 400, sd ≈ 17.9; ±5 sd.
        Assert.IsTrue(test.Length is > 310 and < 490, $"test size {test.Length}");
        var other = new MLContext(43).Data.TrainTestSplit(view, 0.2).TestSet.GetColumn<string>("Text").ToArray();
        CollectionAssert.AreNotEqual(test, other);
    }

    [TestMethod]
    public void FractionOutsideUnitIntervalIsRejected()
    {
        var ml = new MLContext(1);
        var view = ml.Data.LoadText("abc");
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Data.TrainTestSplitContiguous(view, 1.5));
        Assert.AreEqual("testFraction", e.ParamName);
    }
}
