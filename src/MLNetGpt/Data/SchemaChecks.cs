// Column checks with ML.NET's own wording ("Could not find input column 'X'", "Schema mismatch for input column ...").
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetGpt.Data;

internal static class SchemaChecks
{
    /// <summary>The type of token id columns: a variable-length vector of Int32.</summary>
    public static VectorDataViewType TokenIdsType { get; } = new(NumberDataViewType.Int32);

    /// <summary>The column named <paramref name="name"/>, which must have <paramref name="expected"/>'s type.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Missing column or wrong type, as ML.NET words it.</exception>
    public static DataViewSchema.Column Require(DataViewSchema schema, string name, DataViewType expected, string role = "input",
        string paramName = "inputSchema")
    {
        var column = schema.GetColumnOrNull(name) ?? throw Missing(schema.Select(c => c.Name), name, role, paramName);
        if (!Matches(column.Type, expected)) throw Mismatch(name, expected, column.Type, role, paramName);
        return column;
    }

    /// <summary>The same check on an estimator's <see cref="SchemaShape"/>.</summary>
    public static SchemaShape.Column Require(SchemaShape shape, string name, DataViewType expected, string role = "input",
        string paramName = "inputSchema")
    {
        if (!shape.TryFindColumn(name, out var column)) throw Missing(shape.Select(c => c.Name), name, role, paramName);
        bool ok = expected is VectorDataViewType v
            ? column.Kind == SchemaShape.Column.VectorKind.VariableVector && column.ItemType.Equals(v.ItemType)
            : column.Kind == SchemaShape.Column.VectorKind.Scalar && column.ItemType.Equals(expected);
        if (!ok) throw Mismatch(name, expected, Describe(column), role, paramName);
        return column;
    }

    private static bool Matches(DataViewType actual, DataViewType expected) =>
        expected is VectorDataViewType v
            ? actual is VectorDataViewType a && a.ItemType.Equals(v.ItemType) && a.Size == 0
            : actual.Equals(expected);

    private static ArgumentOutOfRangeException Missing(IEnumerable<string> present, string name, string role, string paramName) =>
        new(paramName, $"Could not find {role} column '{name}'. Columns present: {string.Join(", ", present.Distinct())}.");

    private static ArgumentOutOfRangeException Mismatch(string name, DataViewType expected, object actual, string role, string paramName) =>
        new(paramName, $"Schema mismatch for {role} column '{name}': expected {Describe(expected)}, got {actual}.");

    private static string Describe(DataViewType type) => type is VectorDataViewType v ? $"Vector<{v.ItemType}>" : type.ToString() ?? type.GetType().Name;

    private static string Describe(SchemaShape.Column c) => c.Kind switch
    {
        SchemaShape.Column.VectorKind.Scalar => c.ItemType.ToString() ?? c.ItemType.GetType().Name,
        SchemaShape.Column.VectorKind.Vector => $"Vector<{c.ItemType}, known size>",
        _ => $"Vector<{c.ItemType}>",
    };
}
