// A lazy data view over a re-enumerable source of boxed rows: the base of in-memory, text, CSV and JSONL loaders.
namespace MLNetGpt.Pipelines;

/// <summary>
/// A data view whose rows come from <c>rows()</c>, called afresh for each cursor, so files are streamed and
/// re-read rather than held in memory. Each row is an object?[] with one boxed cell per schema column.
/// </summary>
internal sealed class RowSourceDataView : IDataView
{
    private readonly Func<IEnumerable<object?[]>> _rows;
    private readonly long? _rowCount;

    public RowSourceDataView(DataViewSchema schema, Func<IEnumerable<object?[]>> rows, long? rowCount = null)
    {
        Schema = schema;
        _rows = rows;
        _rowCount = rowCount;
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _rowCount;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded);

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly RowSourceDataView _view;
        private readonly bool[] _active;
        private IEnumerator<object?[]>? _rows;
        private object?[]? _current;
        private long _position = -1;

        public Cursor(RowSourceDataView view, IEnumerable<DataViewSchema.Column> columnsNeeded)
        {
            _view = view;
            _active = ActiveColumns.Of(view.Schema, columnsNeeded);
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _position;

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override bool MoveNext()
        {
            _rows ??= _view._rows().GetEnumerator();
            if (!_rows.MoveNext())
            {
                _current = null;
                return false;
            }
            _current = _rows.Current;
            _position++;
            return true;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            ActiveColumns.Check(this, column);
            int index = column.Index;
            return BoxedValues.MakeGetter<TValue>(column, () => (_current ?? throw new InvalidOperationException("The cursor is not on a row; call MoveNext first."))[index]);
        }

        protected override void Dispose(bool disposing)
        {
            _rows?.Dispose();
            _rows = null;
        }
    }
}

/// <summary>Bookkeeping of which columns a cursor may read.</summary>
internal static class ActiveColumns
{
    public static bool[] Of(DataViewSchema schema, IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        ArgumentNullException.ThrowIfNull(columnsNeeded);
        var active = new bool[schema.Count];
        foreach (var c in columnsNeeded)
        {
            if ((uint)c.Index >= (uint)active.Length || schema[c.Index].Name != c.Name)
                throw new ArgumentOutOfRangeException(nameof(columnsNeeded), $"Column '{c.Name}' does not belong to this view; columns present: {schema}.");
            active[c.Index] = true;
        }
        return active;
    }

    public static void Check(DataViewRow row, DataViewSchema.Column column)
    {
        if ((uint)column.Index >= (uint)row.Schema.Count || row.Schema[column.Index].Name != column.Name)
            throw new ArgumentOutOfRangeException(nameof(column), $"Column '{column.Name}' does not belong to this row; columns present: {row.Schema}.");
        if (!row.IsColumnActive(column))
            throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor; pass it in columnsNeeded to GetRowCursor.");
    }
}
