// Loading text, POCOs, CSV and JSONL into views, and writing views back out.
using System.Text;
using MLNetGpt.Pipelines;
using MLNetGpt.Testing;

namespace MLNetGpt.Pipelines.Tests;

[TestClass]
public sealed class DataLoadingTests
{
    private sealed class Mixed
    {
        public string Name { get; set; } = "";
        public int Count { get; set; }
        public float Score { get; set; }
        [ColumnName("Ids")] public int[] TokenIds { get; set; } = [];
        public float[] Weights { get; set; } = [];
    }

    private static string TempFile(string content)
    {
        string path = Path.Combine(Path.GetTempPath(), "mlnetgpt-test-" + Guid.NewGuid().ToString("N") + ".txt");
        File.WriteAllText(path, content, new UTF8Encoding(false));
        return path;
    }

    [TestMethod]
    public void WholeTextFileIsOneRowAndLinesModeOneRowPerLine()
    {
        var ml = new MLContext(1);
        string path = TempFile("First line\nSecond\n\nFourth");
        var whole = ml.Data.LoadFromTextFile(path);
        Assert.AreEqual(1L, whole.GetRowCount());
        Assert.AreEqual("First line\nSecond\n\nFourth", whole.GetColumn<string>("Text").Single());
        var lines = ml.Data.LoadFromTextFile(path, "Prompt", oneRowPerLine: true);
        CollectionAssert.AreEqual(new[] { "First line", "Second", "", "Fourth" }, lines.GetColumn<string>("Prompt").ToArray());
        File.Delete(path);
    }

    [TestMethod]
    public void TextFileIsReadLazilyWhenCursorMoves()
    {
        var ml = new MLContext(1);
        string path = TempFile("old");
        var view = ml.Data.LoadFromTextFile(path);
        File.WriteAllText(path, "new");
        Assert.AreEqual("new", view.GetColumn<string>("Text").Single());
        File.Delete(path);
        Assert.ThrowsExactly<FileNotFoundException>(() => ml.Data.LoadFromTextFile(path));
    }

    [TestMethod]
    public void EnumerableRoundTripsEverySupportedType()
    {
        var ml = new MLContext(1);
        var rows = new[]
        {
            new Mixed { Name = "a", Count = 3, Score = 0.5f, TokenIds = [1, 2, 3], Weights = [0.25f] },
            new Mixed { Name = "b\"c", Count = -7, Score = -1e-3f, TokenIds = [], Weights = [1f, 2f] },
        };
        var view = ml.Data.LoadFromEnumerable(rows);
        Assert.AreEqual("'Name' (Text), 'Count' (Int32), 'Score' (Single), 'Ids' (Vector<Int32>), 'Weights' (Vector<Single>)", view.Schema.ToString());
        Assert.AreEqual(2L, view.GetRowCount());
        var back = ml.Data.CreateEnumerable<Mixed>(view).ToArray();
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.AreEqual(rows[i].Name, back[i].Name);
            Assert.AreEqual(rows[i].Count, back[i].Count);
            Assert.AreEqual(rows[i].Score, back[i].Score);
            CollectionAssert.AreEqual(rows[i].TokenIds, back[i].TokenIds);
            CollectionAssert.AreEqual(rows[i].Weights, back[i].Weights);
        }
    }

    [TestMethod]
    public void CsvWithHeaderQuotesAndEmbeddedNewlines()
    {
        var ml = new MLContext(1);
        string path = TempFile("Id,Prompt\n1,\"ROMEO:\"\n2,\"Hello, \"\"world\"\"\nagain\"\n");
        var view = ml.Data.LoadFromCsvFile(path);
        Assert.AreEqual("'Id' (Text), 'Prompt' (Text)", view.Schema.ToString());
        CollectionAssert.AreEqual(new[] { "ROMEO:", "Hello, \"world\"\nagain" }, view.GetColumn<string>("Prompt").ToArray());
        File.Delete(path);
    }

    [TestMethod]
    public void CsvWithMissingFieldNamesTheLine()
    {
        var ml = new MLContext(1);
        string path = TempFile("A,B\n1,2\n3\n");
        var view = ml.Data.LoadFromCsvFile(path);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => view.GetColumn<string>("A").ToArray());
        StringAssert.Contains(e.Message, "line 3");
        File.Delete(path);
    }

    [TestMethod]
    public void JsonLinesSchemaIsTheUnionOfAllLinesWithNumbersWidened()
    {
        var ml = new MLContext(1);
        string path = TempFile("{\"Prompt\":\"To be\",\"Id\":1,\"T\":1,\"Ids\":[1,2]}\n\n{\"Prompt\":\"or not\",\"Id\":2,\"T\":0.5,\"Extra\":\"x\"}\n");
        var view = ml.Data.LoadFromJsonLinesFile(path);
        Assert.AreEqual("'Prompt' (Text), 'Id' (Int32), 'T' (Single), 'Ids' (Vector<Int32>), 'Extra' (Text)", view.Schema.ToString());
        CollectionAssert.AreEqual(new[] { "To be", "or not" }, view.GetColumn<string>("Prompt").ToArray());
        CollectionAssert.AreEqual(new[] { 1, 2 }, view.GetColumn<int>("Id").ToArray());
        CollectionAssert.AreEqual(new[] { 1f, 0.5f }, view.GetColumn<float>("T").ToArray());
        CollectionAssert.AreEqual(new[] { "", "x" }, view.GetColumn<string>("Extra").ToArray());
        Assert.AreEqual(0, view.GetColumn<int[]>("Ids").Last().Length);
        File.Delete(path);
    }

    [TestMethod]
    public void JsonLinesErrorsNameFileAndLine()
    {
        var ml = new MLContext(1);
        string path = TempFile("{\"Prompt\":\"a\"}\n{\"Prompt\":3}\n");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.Data.LoadFromJsonLinesFile(path));
        StringAssert.Contains(e.Message, "line 2: property 'Prompt' is Int32 here but Text on an earlier line");
        StringAssert.Contains(e.Message, path);
        File.WriteAllText(path, "{\"a\":\"x\"}\n{oops\n");
        e = Assert.ThrowsExactly<InvalidDataException>(() => ml.Data.LoadFromJsonLinesFile(path));
        StringAssert.Contains(e.Message, "line 2");
        // A file changed after loading is re-read by each cursor, and its errors name the line too.
        File.WriteAllText(path, "{\"a\":\"x\"}\n");
        var view = ml.Data.LoadFromJsonLinesFile(path);
        File.WriteAllText(path, "{\"a\":\"x\"}\n{\"a\":[1]}\n");
        e = Assert.ThrowsExactly<InvalidDataException>(() => view.GetColumn<string>("a").ToArray());
        StringAssert.Contains(e.Message, "line 2");
        File.Delete(path);
    }

    [TestMethod]
    public void SaveAsCsvAndJsonLinesReadBackTheSameRows()
    {
        var ml = new MLContext(1);
        var rows = new[] { new TextRow { Text = "plain" }, new TextRow { Text = "comma, \"quote\"\nnewline é" } };
        var view = ml.Data.LoadFromEnumerable(rows);
        string csv = TempFile(""), jsonl = TempFile("");
        using (var s = File.Create(csv)) ml.Data.SaveAsCsv(view, s);
        using (var s = File.Create(jsonl)) ml.Data.SaveAsJsonLines(view, s);
        CollectionAssert.AreEqual(rows.Select(r => r.Text).ToArray(), ml.Data.LoadFromCsvFile(csv).GetColumn<string>("Text").ToArray());
        CollectionAssert.AreEqual(rows.Select(r => r.Text).ToArray(), ml.Data.LoadFromJsonLinesFile(jsonl).GetColumn<string>("Text").ToArray());
        File.Delete(csv);
        File.Delete(jsonl);
    }
}
