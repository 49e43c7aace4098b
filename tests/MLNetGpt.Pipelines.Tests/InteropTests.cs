// A third-party IDataView written only against the public contracts feeds our transformers, and reads our views.
using MLNetGpt.Pipelines;

namespace MLNetGpt.Pipelines.Tests;

[TestClass]
public sealed class InteropTests
{
    /// <summary>A strict ML.NET-style view: text only as ReadOnlyMemory&lt;char&gt;, getters only for active columns.</summary>
    private sealed class StrictTextView(string column, string[] values) : IDataView
    {
        public string[] Values { get; } = values;
        public bool CanShuffle => false;
        public DataViewSchema Schema { get; } = new DataViewSchema.Builder().AddColumn(column, TextDataViewType.Instance).ToSchema();
        public long? GetRowCount() => null;
        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
            new Cursor(this, columnsNeeded.Any());

        private sealed class Cursor(StrictTextView view, bool active) : DataViewRowCursor
        {
            private int _row = -1;
            public override DataViewSchema Schema => view.Schema;
            public override long Position => _row;
            public override bool IsColumnActive(DataViewSchema.Column column) => active;
            public override bool MoveNext() => ++_row < view.Values.Length;
            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (!active) throw new InvalidOperationException("inactive");
                ValueGetter<ReadOnlyMemory<char>> g = (ref ReadOnlyMemory<char> v) => v = view.Values[_row].AsMemory();
                return g as ValueGetter<TValue> ?? throw new InvalidOperationException($"type {typeof(TValue).Name}");
            }
        }
    }

    [TestMethod]
    public void ThirdPartyViewFeedsTokenizerAndGenerator()
    {
        var (_, model, _) = TinyModels.Gpt;
        var view = new StrictTextView("Text", ["ROMEO:", "KING", ""]);
        var output = TinyModels.WithOptions(new TextGenerationOptions { MaxNewTokens = 6 }).Transform(view);
        using var cursor = output.GetRowCursor(output.Schema);
        var tokens = cursor.GetGetter<VBuffer<int>>(output.Schema["Tokens"]);
        var generated = cursor.GetGetter<ReadOnlyMemory<char>>(output.Schema["Generated"]);
        var text = cursor.GetGetter<ReadOnlyMemory<char>>(output.Schema["Text"]);
        var lengths = new List<int>();
        while (cursor.MoveNext())
        {
            VBuffer<int> ids = default;
            ReadOnlyMemory<char> g = default, t = default;
            tokens(ref ids);
            generated(ref g);
            text(ref t);
            Assert.AreEqual(t.ToString(), model.LastTransformer.Tokenizer.Decode(ids.GetValues()));
            lengths.Add(g.Length);
        }
        CollectionAssert.AreEqual(new[] { 6, 6, 6 }, lengths);
    }
}
