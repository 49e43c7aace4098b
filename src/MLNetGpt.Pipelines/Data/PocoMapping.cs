// Maps public properties of plain C# classes to columns and back, for LoadFromEnumerable, CreateEnumerable and prediction engines.
using System.Reflection;

namespace MLNetGpt.Pipelines;

/// <summary>Names the column a property maps to (ML.NET's [ColumnName]); without it the property name is used.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ColumnNameAttribute(string name) : Attribute
{
    /// <summary>The column name.</summary>
    public string Name { get; } = name;
}

/// <summary>Properties of <typeparamref name="T"/> with a supported type: string, int, float, int[], float[].</summary>
internal static class PocoMapping<T>
{
    public static readonly (PropertyInfo Property, string Column, DataViewType Type)[] Properties =
        typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0)
            .Select(p => (p, p.GetCustomAttribute<ColumnNameAttribute>()?.Name ?? p.Name, TypeOf(p.PropertyType)))
            .Where(x => x.Item3 is not null)
            .Select(x => (x.p, x.Item2, x.Item3!))
            .ToArray();

    private static DataViewType? TypeOf(Type t) =>
        t == typeof(string) ? TextDataViewType.Instance
        : t == typeof(int) ? NumberDataViewType.Int32
        : t == typeof(float) ? NumberDataViewType.Single
        : t == typeof(int[]) ? new VectorDataViewType(NumberDataViewType.Int32)
        : t == typeof(float[]) ? new VectorDataViewType(NumberDataViewType.Single)
        : null;

    public static DataViewSchema Schema()
    {
        if (Properties.Length == 0)
            throw new ArgumentException($"Type {typeof(T).Name} has no public property of a supported type (string, int, float, int[], float[]).", nameof(T));
        var b = new DataViewSchema.Builder();
        foreach (var p in Properties.Where(p => p.Property.CanRead)) b.AddColumn(p.Column, p.Type);
        return b.ToSchema();
    }

    public static object?[] ToRow(T item)
    {
        if (item is null) throw new ArgumentException("Rows must not be null.", nameof(item));
        return Properties.Where(p => p.Property.CanRead).Select(p => p.Property.GetValue(item)).ToArray();
    }

    /// <summary>A function filling a new <typeparamref name="T"/> from a row; every writable property must have a matching column.</summary>
    public static Func<T> Reader(DataViewRow row, Func<T> create)
    {
        var setters = new List<Action<T>>();
        foreach (var (property, column, type) in Properties.Where(p => p.Property.CanWrite))
        {
            var col = row.Schema.GetColumnOrNull(column)
                ?? throw new ArgumentOutOfRangeException(nameof(row), $"{SchemaErrors.MissingColumnMessage(row.Schema, column)} (needed by property {typeof(T).Name}.{property.Name})");
            if (col.Type != type)
                throw new ArgumentOutOfRangeException(nameof(row), $"Schema mismatch for column '{column}': property {typeof(T).Name}.{property.Name} is {type}, the column is {col.Type}.");
            var read = BoxedValues.ReadBoxed(row, col);
            setters.Add(item => property.SetValue(item, read()));
        }
        return () =>
        {
            var item = create();
            foreach (var s in setters) s(item);
            return item;
        };
    }
}
