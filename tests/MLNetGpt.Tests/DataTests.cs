// mlContext.Data.LoadCorpusFromTextFile (a file byte-exact as one row) and TrainTestSplitContiguous (nanoGPT's cut; rows for tables).
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.ML;
using Microsoft.ML.Data;
using TestData = MLNetGpt.Testing.TestData;

namespace MLNetGpt.Tests;

[TestClass]
public sealed class DataTests
{
    private static string Single(IDataView view, string column = "Text") => view.GetColumn<string>(column).Single();

    [TestMethod]
    public void ACorpusFileIsOneRowKeptByteExact()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "corpus.txt");
        // A byte-order mark, CRLF and LF, blank lines, quotes and separators a table loader would interpret.
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("First line, with a comma\r\n\r\n\"Quoted\"\t'tab'\n\n\nnaïve — ünïcödé\r\nlast line without newline")];
        File.WriteAllBytes(path, bytes);
        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadCorpusFromTextFile(path);
        Assert.AreEqual(1L, view.GetRowCount());
        Assert.AreEqual("Text", view.Schema.Single().Name);
        string text = Single(view);
        Assert.AreEqual('\uFEFF', text[0], "the byte-order mark is kept as U+FEFF");
        CollectionAssert.AreEqual(bytes, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text));

        var named = ml.Data.LoadCorpusFromTextFile(path, "Body");
        Assert.AreEqual(text, Single(named, "Body"));
    }

    [TestMethod]
    public void ACorpusFileIsReadWhenACursorMovesAndAMissingFileFailsAtOnce()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "corpus.txt");
        File.WriteAllText(path, "old");
        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadCorpusFromTextFile(path);
        File.WriteAllText(path, "new");
        Assert.AreEqual("new", Single(view));
        Assert.AreEqual("new", Single(view), "a view can be read again");
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => ml.Data.LoadCorpusFromTextFile(Path.Combine(dir.Path, "missing.txt")));
        Assert.Contains("missing.txt", e.Message);
    }

    [TestMethod]
    [DataRow(new byte[] { 0x61, 0x62, 0x63, 0xFF, 0x64 }, 3, "0xFF")]
    [DataRow(new byte[] { 0x68, 0x69, 0x0A, 0xC3, 0x28 }, 3, "0xC3")]  // a lead byte followed by ASCII
    [DataRow(new byte[] { 0x6F, 0x6B, 0xE2, 0x82 }, 2, "0xE2")]        // a sequence cut by the end of the file
    public void InvalidUtf8IsAnErrorNamingTheByteOffset(byte[] bytes, int offset, string value)
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "bad.txt");
        File.WriteAllBytes(path, bytes);
        var view = new MLContext(seed: 1).Data.LoadCorpusFromTextFile(path);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => Single(view));
        Assert.Contains($"is not valid UTF-8 at byte {offset} ({value})", e.Message);
        Assert.Contains(path, e.Message);
    }

    [TestMethod]
    public void ACorpusFileFeedsTheTokenizer()
    {
        var ml = new MLContext(seed: 1);
        var corpus = ml.Data.LoadCorpusFromTextFile(TestData.CorpusExcerptPath);
        var ids = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(corpus).Transform(corpus).GetColumn<int[]>("Tokens").Single();
        Assert.AreEqual(File.ReadAllText(TestData.CorpusExcerptPath).Length, ids.Length);
    }

    [TestMethod]
    public void TheContiguousSplitOfTheExcerptCutsAtNinetyPercentOfItsCharacters()
    {
        var ml = new MLContext(seed: 1);
        string text = File.ReadAllText(TestData.CorpusExcerptPath);
        var split = ml.Data.TrainTestSplitContiguous(ml.Data.LoadCorpusFromTextFile(TestData.CorpusExcerptPath));
        string train = Single(split.TrainSet), test = Single(split.TestSet);
        Assert.AreEqual(9L * text.Length / 10, train.Length, "nanoGPT: train = data[:int(n*0.9)]");
        Assert.AreEqual(text, train + test);
        Assert.AreEqual(1L, split.TrainSet.GetRowCount());
        Assert.AreEqual(1L, split.TestSet.GetRowCount());
    }

    [TestMethod]
    public void TheContiguousSplitOfTinyShakespeareIsNanoGptsCut()
    {
        string path;
        try
        {
            path = TestData.TinyShakespearePath;
        }
        catch (DirectoryNotFoundException e)
        {
            Assert.Inconclusive($"The shared data folder is absent (a fresh clone): {e.Message}");
            return;
        }
        if (!File.Exists(path)) Assert.Inconclusive($"'{path}' is absent.");
        var ml = new MLContext(seed: 1);
        var split = ml.Data.TrainTestSplitContiguous(ml.Data.LoadCorpusFromTextFile(path), testFraction: 0.1);
        string train = Single(split.TrainSet), test = Single(split.TestSet);
        // Tiny Shakespeare has 1,115,394 characters; nanoGPT's prepare.py cuts at int(n * 0.9).
        Assert.AreEqual(1_003_854, train.Length);
        Assert.AreEqual(111_540, test.Length);
        Assert.AreEqual(File.ReadAllText(path), train + test);
    }

    [TestMethod]
    public void TheContiguousSplitOfAnyTextCutsAtTheFractionAndLosesNothing()
    {
        var ml = new MLContext(seed: 1);
        var config = Config.QuickThrowOnFailure.WithMaxTest(150).WithReplay(20261130, 3);
        Check.One(config, Prop.ForAll<string, byte>((text, percent) =>
        {
            text ??= "";
            double fraction = percent % 101 / 100.0;
            var split = ml.Data.TrainTestSplitContiguous(TinyModels.PromptView(ml, [text]), fraction);
            string train = Single(split.TrainSet), test = Single(split.TestSet);
            return train + test == text && train.Length == (int)Math.Floor(text.Length * (1 - fraction));
        }));
    }

    public sealed class Body
    {
        public string Content { get; set; } = "";
    }

    [TestMethod]
    public void TheContiguousSplitCutsANamedTextColumn()
    {
        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadFromEnumerable([new Body { Content = "0123456789" }]);
        var split = ml.Data.TrainTestSplitContiguous(view, 0.3, textColumnName: "Content");
        Assert.AreEqual("0123456", Single(split.TrainSet, "Content"));
        Assert.AreEqual("789", Single(split.TestSet, "Content"));
    }

    [TestMethod]
    [DataRow(10, 0.1, 9)]
    [DataRow(7, 0.5, 3)]
    [DataRow(3, 0.0, 3)]
    [DataRow(3, 1.0, 0)]
    [DataRow(3, 0.9, 0)]
    [DataRow(0, 0.1, 0)]
    public void AViewOfManyRowsSplitsByRowsInOrder(int rows, double testFraction, int expectedTrain)
    {
        var ml = new MLContext(seed: 1);
        var values = Enumerable.Range(0, rows).Select(i => $"row {i}").ToArray();
        var data = TinyModels.PromptView(ml, values);
        var split = ml.Data.TrainTestSplitContiguous(data, testFraction);
        var train = split.TrainSet.GetColumn<string>("Text").ToArray();
        var test = split.TestSet.GetColumn<string>("Text").ToArray();
        Assert.HasCount(expectedTrain, train);
        CollectionAssert.AreEqual(values, train.Concat(test).ToArray());
        Assert.AreEqual(data.Schema.Count, split.TrainSet.Schema.Count);
    }

    [TestMethod]
    public void AViewOfUnknownLengthIsCountedFirst()
    {
        var ml = new MLContext(seed: 1);
        IEnumerable<PromptRow> Rows()
        {
            for (int i = 0; i < 5; i++) yield return new PromptRow { Text = $"row {i}" };
        }
        var view = ml.Data.LoadFromEnumerable(Rows());
        Assert.IsNull(view.GetRowCount());
        var split = ml.Data.TrainTestSplitContiguous(view, 0.4);
        CollectionAssert.AreEqual(new[] { "row 0", "row 1", "row 2" }, split.TrainSet.GetColumn<string>("Text").ToArray());
        CollectionAssert.AreEqual(new[] { "row 3", "row 4" }, split.TestSet.GetColumn<string>("Text").ToArray());
    }

    [TestMethod]
    [DataRow(-0.1)]
    [DataRow(1.5)]
    [DataRow(double.NaN)]
    public void AFractionOutsideTheUnitIntervalIsRejected(double fraction)
    {
        var ml = new MLContext(seed: 1);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Data.TrainTestSplitContiguous(TinyModels.PromptView(ml, ["abc"]), fraction));
        Assert.AreEqual("testFraction", e.ParamName);
    }
}
