// What a mapping step computes: output column values from one input column, a micro-batch of rows at a time.
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetGpt.Data;

/// <summary>
/// The work of one step (tokenizing, generating) separated from ML.NET's view and cursor plumbing, which
/// <see cref="MappedDataView"/> and <see cref="MappedRowMapper"/> provide. Values cross this boundary as plain objects:
/// text columns as <see cref="string"/>, token id columns as <see cref="T:int[]"/>.
/// </summary>
internal abstract class BatchMapper
{
    /// <summary>The column read.</summary>
    public abstract string InputColumnName { get; }

    /// <summary>The type the input column must have (text, or Vector&lt;Int32&gt;).</summary>
    public abstract DataViewType InputType { get; }

    /// <summary>The columns appended.</summary>
    public abstract IReadOnlyList<OutputColumn> Outputs { get; }

    /// <summary>Rows mapped together; 1 maps row by row and needs no buffering of the other columns.</summary>
    public abstract int BatchSize { get; }

    /// <summary>
    /// Fills <c>outputs[r][k]</c> (row r, output column k) from <c>sources[r]</c>; <c>positions[r]</c> is the row's position
    /// in the view (generation seeds each row by it, so results do not depend on batching).
    /// </summary>
    public abstract void Map(ReadOnlySpan<object> sources, ReadOnlySpan<long> positions, object?[][] outputs, CancellationToken cancellationToken);

    /// <summary>Checks the input column and returns it.</summary>
    public DataViewSchema.Column RequireInput(DataViewSchema schema) => SchemaChecks.Require(schema, InputColumnName, InputType);

    /// <summary>A reader of the current row's input value as a value that stays valid after the cursor moves on.</summary>
    public Func<object> SourceReader(DataViewRow row, DataViewSchema.Column column)
    {
        if (InputType is TextDataViewType)
        {
            var getter = row.GetGetter<ReadOnlyMemory<char>>(column);
            ReadOnlyMemory<char> text = default;
            return () =>
            {
                getter(ref text);
                return text.ToString();
            };
        }
        var ids = row.GetGetter<VBuffer<int>>(column);
        VBuffer<int> buffer = default;
        return () =>
        {
            ids(ref buffer);
            return buffer.DenseValues().ToArray();
        };
    }
}
