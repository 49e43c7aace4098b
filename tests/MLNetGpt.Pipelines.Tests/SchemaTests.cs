// Schema lookups, type names and ML.NET-worded errors.
using MLNetGpt.Pipelines;

namespace MLNetGpt.Pipelines.Tests;

[TestClass]
public sealed class SchemaTests
{
    private static DataViewSchema TwoColumns() => new DataViewSchema.Builder()
        .AddColumn("Text", TextDataViewType.Instance)
        .AddColumn("Tokens", new VectorDataViewType(NumberDataViewType.Int32))
        .ToSchema();

    [TestMethod]
    public void MissingColumnNamesItAndListsColumnsPresent()
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => SchemaErrors.RequireColumn(TwoColumns(), "Prompt"));
        StringAssert.Contains(e.Message, "Could not find input column 'Prompt'");
        StringAssert.Contains(e.Message, "'Text' (Text), 'Tokens' (Vector<Int32>)");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => _ = TwoColumns()["Prompt"]);
    }

    [TestMethod]
    public void WrongTypeSaysExpectedAndActual()
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(
            () => SchemaErrors.RequireColumn(TwoColumns(), "Tokens", TextDataViewType.Instance));
        StringAssert.Contains(e.Message, "Schema mismatch for input column 'Tokens': expected Text, got Vector<Int32>");
    }

    [TestMethod]
    public void LaterColumnWithSameNameReplacesEarlier()
    {
        var s = new DataViewSchema.Builder().AddColumn("A", TextDataViewType.Instance).AddColumn("B", NumberDataViewType.Int32)
            .AddColumn("A", NumberDataViewType.Single).ToSchema();
        Assert.AreEqual(2, s.Count);
        Assert.AreEqual("B", s[0].Name);
        Assert.AreEqual(NumberDataViewType.Single, s["A"].Type);
        Assert.AreEqual(1, s["A"].Index);
    }

    [TestMethod]
    [DataRow("Text")]
    [DataRow("Int32")]
    [DataRow("Single")]
    [DataRow("Vector<Int32>")]
    [DataRow("Vector<Single>")]
    public void TypeNamesRoundTrip(string name) => Assert.AreEqual(name, DataViewType.Parse(name).ToString());

    [TestMethod]
    public void UnknownTypeNameIsRejected() =>
        Assert.ThrowsExactly<FormatException>(() => DataViewType.Parse("Vector<Double>"));

    [TestMethod]
    public void VectorTypesCompareByValue()
    {
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Int32), new VectorDataViewType(NumberDataViewType.Int32));
        Assert.AreNotEqual<DataViewType>(new VectorDataViewType(NumberDataViewType.Int32), new VectorDataViewType(NumberDataViewType.Single));
        Assert.AreEqual(typeof(VBuffer<int>), new VectorDataViewType(NumberDataViewType.Int32).RawType);
    }

    [TestMethod]
    public void GetterWithWrongTypeOrInactiveColumnFails()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = "a" } });
        using var cursor = data.GetRowCursor([]);
        Assert.ThrowsExactly<InvalidOperationException>(() => cursor.GetGetter<string>(data.Schema["Text"]));
        using var active = data.GetRowCursor(data.Schema);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => active.GetGetter<int>(data.Schema["Text"]));
        StringAssert.Contains(e.Message, "column 'Text'");
    }
}
