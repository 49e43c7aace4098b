// Conversions between the boxed values our views store and the typed getters ML.NET consumers ask for.
namespace MLNetGpt.Pipelines;

/// <summary>
/// Our views keep each cell as a plain object: text as <see cref="string"/>, numbers as int/float, vectors as int[]/float[].
/// This class turns such cells into typed getters, and reads any <see cref="DataViewRow"/> (ours or a third party's)
/// back into boxed cells.
/// </summary>
internal static class BoxedValues
{
    /// <summary>A typed getter over a function returning the current boxed cell.</summary>
    public static ValueGetter<TValue> MakeGetter<TValue>(DataViewSchema.Column column, Func<object?> current)
    {
        var type = column.Type;
        object getter;
        if (type is TextDataViewType)
        {
            if (typeof(TValue) == typeof(ReadOnlyMemory<char>))
                getter = (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = ((string?)current() ?? "").AsMemory());
            else if (typeof(TValue) == typeof(string))
                getter = (ValueGetter<string>)((ref string v) => v = (string?)current() ?? "");
            else throw TypeMismatch<TValue>(column);
        }
        else if (type == NumberDataViewType.Int32 && typeof(TValue) == typeof(int))
            getter = (ValueGetter<int>)((ref int v) => v = current() is int i ? i : 0);
        else if (type == NumberDataViewType.Single && typeof(TValue) == typeof(float))
            getter = (ValueGetter<float>)((ref float v) => v = current() is float f ? f : 0f);
        else if (type is VectorDataViewType vt && vt.ItemType == NumberDataViewType.Int32)
            getter = VectorGetter<int, TValue>(column, current);
        else if (type is VectorDataViewType vs && vs.ItemType == NumberDataViewType.Single)
            getter = VectorGetter<float, TValue>(column, current);
        else throw TypeMismatch<TValue>(column);
        return (ValueGetter<TValue>)getter;
    }

    private static object VectorGetter<TItem, TValue>(DataViewSchema.Column column, Func<object?> current)
    {
        if (typeof(TValue) == typeof(VBuffer<TItem>))
            return (ValueGetter<VBuffer<TItem>>)((ref VBuffer<TItem> v) => v = new VBuffer<TItem>((TItem[]?)current() ?? []));
        if (typeof(TValue) == typeof(TItem[]))
            return (ValueGetter<TItem[]>)((ref TItem[] v) => v = ((TItem[]?)current() ?? []).ToArray());
        throw TypeMismatch<TValue>(column);
    }

    private static InvalidOperationException TypeMismatch<TValue>(DataViewSchema.Column column) =>
        new($"Invalid TValue in GetGetter for column '{column.Name}': expected type {column.Type.RawType.Name} for column type {column.Type}, got {typeof(TValue).Name}.");

    /// <summary>A function returning the current row's cell of <paramref name="column"/> as a boxed value, for any row implementation.</summary>
    public static Func<object?> ReadBoxed(DataViewRow row, DataViewSchema.Column column)
    {
        var type = column.Type;
        if (type is TextDataViewType)
        {
            var g = row.GetGetter<ReadOnlyMemory<char>>(column);
            return () => { ReadOnlyMemory<char> v = default; g(ref v); return v.ToString(); };
        }
        if (type == NumberDataViewType.Int32)
        {
            var g = row.GetGetter<int>(column);
            return () => { int v = 0; g(ref v); return v; };
        }
        if (type == NumberDataViewType.Single)
        {
            var g = row.GetGetter<float>(column);
            return () => { float v = 0; g(ref v); return v; };
        }
        if (type is VectorDataViewType { ItemType: var item } && item == NumberDataViewType.Int32)
        {
            var g = row.GetGetter<VBuffer<int>>(column);
            return () => { VBuffer<int> v = default; g(ref v); return v.ToArray(); };
        }
        if (type is VectorDataViewType { ItemType: var item2 } && item2 == NumberDataViewType.Single)
        {
            var g = row.GetGetter<VBuffer<float>>(column);
            return () => { VBuffer<float> v = default; g(ref v); return v.ToArray(); };
        }
        throw new NotSupportedException($"Column '{column.Name}' has unsupported type {type}.");
    }

    /// <summary>Checks that a boxed value fits a column type (used by loaders building rows).</summary>
    public static bool Fits(DataViewType type, object? value) => value is null || type switch
    {
        TextDataViewType => value is string,
        VectorDataViewType v when v.ItemType == NumberDataViewType.Int32 => value is int[],
        VectorDataViewType => value is float[],
        _ when type == NumberDataViewType.Int32 => value is int,
        _ => value is float,
    };
}
