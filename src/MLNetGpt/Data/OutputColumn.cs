// An output column a mapping step appends: name, type and annotations.
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetGpt.Data;

/// <summary>A column a step appends to its input's schema (hiding an input column of the same name, as ML.NET does).</summary>
internal sealed record OutputColumn(string Name, DataViewType Type, DataViewSchema.Annotations? Annotations = null)
{
    /// <summary>The input schema with <paramref name="outputs"/> appended; input columns keep their indices.</summary>
    public static DataViewSchema Append(DataViewSchema input, IReadOnlyList<OutputColumn> outputs)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input);
        foreach (var o in outputs) builder.AddColumn(o.Name, o.Type, o.Annotations);
        return builder.ToSchema();
    }

    /// <summary>A getter returning <paramref name="value"/>() as this column's ML.NET value type (text or Vector&lt;Int32&gt;).</summary>
    public ValueGetter<TValue> Getter<TValue>(Func<object?> value)
    {
        Delegate getter = Type switch
        {
            TextDataViewType when typeof(TValue) == typeof(ReadOnlyMemory<char>) =>
                (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> dst) => dst = ((string?)value() ?? "").AsMemory()),
            VectorDataViewType when typeof(TValue) == typeof(VBuffer<int>) =>
                (ValueGetter<VBuffer<int>>)((ref VBuffer<int> dst) =>
                {
                    var ids = (int[]?)value() ?? [];
                    var editor = VBufferEditor.Create(ref dst, ids.Length);
                    ids.CopyTo(editor.Values);
                    dst = editor.Commit();
                }),
            _ => throw new InvalidOperationException(
                $"Invalid TValue in GetGetter: '{typeof(TValue)}'; column '{Name}' of type {Type} is read as {Type.RawType}."),
        };
        return (ValueGetter<TValue>)getter;
    }
}
