// A view of text rows produced on demand: the byte-exact corpus file, and the two halves of a contiguous split of a text.
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetGpt.Data;

/// <summary>
/// One text column whose rows <c>rows()</c> produces afresh for every cursor (so a file is read when a cursor moves, not
/// when the view is made, and a view can be enumerated any number of times).
/// </summary>
internal sealed class TextRowsDataView(string columnName, Func<IEnumerable<string>> rows, long? rowCount) : IDataView
{
    public DataViewSchema Schema { get; } = BuildSchema(columnName);

    private static DataViewSchema BuildSchema(string name)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(name, TextDataViewType.Instance);
        return builder.ToSchema();
    }

    public bool CanShuffle => false;

    public long? GetRowCount() => rowCount;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(Schema, rows().GetEnumerator(), columnsNeeded.Any());

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(DataViewSchema schema, IEnumerator<string> rows, bool active) : DataViewRowCursor
    {
        private long _position = -1;

        public override DataViewSchema Schema => schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool MoveNext()
        {
            if (!rows.MoveNext()) return false;
            _position++;
            return true;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override bool IsColumnActive(DataViewSchema.Column column) => active && column.Index == 0;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index != 0 || !active) throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
            if (typeof(TValue) != typeof(ReadOnlyMemory<char>))
                throw new InvalidOperationException($"Invalid TValue in GetGetter: '{typeof(TValue)}'; column '{column.Name}' is read as {typeof(ReadOnlyMemory<char>)}.");
            ValueGetter<ReadOnlyMemory<char>> getter = (ref ReadOnlyMemory<char> value) =>
            {
                if (_position < 0) throw new InvalidOperationException("The cursor has not moved to a row yet.");
                value = rows.Current.AsMemory();
            };
            return (ValueGetter<TValue>)(Delegate)getter;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) rows.Dispose();
            base.Dispose(disposing);
        }
    }
}
