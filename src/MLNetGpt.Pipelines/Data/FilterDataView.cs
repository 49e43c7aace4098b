// A lazy view keeping the rows of another view whose position passes a predicate (used by the splits).
namespace MLNetGpt.Pipelines;

/// <summary>Rows of <c>input</c> whose input position satisfies <c>keep</c>, renumbered from 0.</summary>
internal sealed class FilterDataView(IDataView input, Func<long, bool> keep, long? rowCount = null) : IDataView
{
    public bool CanShuffle => false;

    public DataViewSchema Schema => input.Schema;

    public long? GetRowCount() => rowCount;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(input.GetRowCursor(columnsNeeded), keep);

    private sealed class Cursor(DataViewRowCursor upstream, Func<long, bool> keep) : DataViewRowCursor
    {
        private long _position = -1;

        public override DataViewSchema Schema => upstream.Schema;

        public override long Position => _position;

        public override bool IsColumnActive(DataViewSchema.Column column) => upstream.IsColumnActive(column);

        public override bool MoveNext()
        {
            while (upstream.MoveNext())
            {
                if (!keep(upstream.Position)) continue;
                _position++;
                return true;
            }
            return false;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => upstream.GetGetter<TValue>(column);

        protected override void Dispose(bool disposing) => upstream.Dispose();
    }
}

/// <summary>The contiguous split of a single text.</summary>
internal static class Splits
{
    public static DataOperationsCatalog.TrainTestData SplitSingleText(IDataView data, DataViewSchema.Column column, double testFraction)
    {
        // Read once, lazily, shared by both halves: the cut needs the length of the whole text.
        var text = new Lazy<string>(() =>
        {
            using var cursor = data.GetRowCursor([column]);
            var get = cursor.GetGetter<string>(column);
            string value = "";
            if (cursor.MoveNext()) get(ref value);
            return value;
        });
        int Cut()
        {
            int cut = (int)Math.Floor(text.Value.Length * (1 - testFraction));
            // Never split a surrogate pair.
            if (cut > 0 && cut < text.Value.Length && char.IsLowSurrogate(text.Value[cut])) cut--;
            return cut;
        }
        var schema = new DataViewSchema.Builder().AddColumn(column.Name, TextDataViewType.Instance).ToSchema();
        return new DataOperationsCatalog.TrainTestData(
            new RowSourceDataView(schema, () => [[text.Value[..Cut()]]], 1),
            new RowSourceDataView(schema, () => [[text.Value[Cut()..]]], 1));
    }
}

/// <summary>Reading whole columns (ML.NET's <c>data.GetColumn&lt;T&gt;(name)</c>).</summary>
public static class DataViewExtensions
{
    /// <summary>The values of column <paramref name="columnName"/>, read lazily with one cursor.</summary>
    public static IEnumerable<T> GetColumn<T>(this IDataView data, string columnName)
    {
        ArgumentNullException.ThrowIfNull(data);
        var column = SchemaErrors.RequireColumn(data.Schema, columnName);
        return Enumerate();

        IEnumerable<T> Enumerate()
        {
            using var cursor = data.GetRowCursor([column]);
            var get = cursor.GetGetter<T>(column);
            while (cursor.MoveNext())
            {
                T value = default!;
                get(ref value);
                yield return value;
            }
        }
    }
}
