// The data view contracts: a schema plus lazy, forward-only cursors with typed getters (ML.NET's IDataView).
namespace MLNetGpt.Pipelines;

/// <summary>Reads the current row's value of one column into <paramref name="value"/>.</summary>
public delegate void ValueGetter<TValue>(ref TValue value);

/// <summary>
/// A lazy, immutable table. Nothing is computed until a cursor is moved; each cursor reads the source from the
/// start. Views produced by transformers compute their columns only when a cursor asks for them.
/// </summary>
public interface IDataView
{
    /// <summary>Whether cursors can visit rows in random order (ours never shuffle: false).</summary>
    bool CanShuffle { get; }

    /// <summary>The columns.</summary>
    DataViewSchema Schema { get; }

    /// <summary>The number of rows if it is known without reading the data, else null.</summary>
    long? GetRowCount();

    /// <summary>
    /// A new cursor positioned before the first row. Only <paramref name="columnsNeeded"/> may be read from it, and
    /// views skip computing the other columns. <paramref name="rand"/> is accepted for ML.NET compatibility and ignored.
    /// </summary>
    DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null);
}

/// <summary>One row of a data view: its position and typed getters for the active columns.</summary>
public abstract class DataViewRow : IDisposable
{
    /// <summary>The schema of the view this row belongs to.</summary>
    public abstract DataViewSchema Schema { get; }

    /// <summary>Zero-based index of the current row in its view (-1 before the first row). Generation seeds each row from it.</summary>
    public abstract long Position { get; }

    /// <summary>Batch id (always 0: our cursors are not split).</summary>
    public virtual long Batch => 0;

    /// <summary>Whether <paramref name="column"/> was requested when the cursor was created.</summary>
    public abstract bool IsColumnActive(DataViewSchema.Column column);

    /// <summary>
    /// A getter for <paramref name="column"/>. <typeparamref name="TValue"/> must be the column's
    /// <see cref="DataViewType.RawType"/>; text columns also accept <see cref="string"/> and vector columns T[].
    /// </summary>
    /// <exception cref="InvalidOperationException">The column is not active or the type does not match.</exception>
    public abstract ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column);

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources held by the row (upstream cursors, files).</summary>
    protected virtual void Dispose(bool disposing) { }
}

/// <summary>A forward-only cursor over the rows of a data view.</summary>
public abstract class DataViewRowCursor : DataViewRow
{
    /// <summary>Advances to the next row; false when there are no more rows.</summary>
    public abstract bool MoveNext();
}
