// One place for schema-check messages, worded as ML.NET words them so users can search for them.
namespace MLNetGpt.Pipelines;

/// <summary>Schema checks used by estimators and transformers before any work starts.</summary>
public static class SchemaErrors
{
    /// <summary>"Could not find input column 'X'. Columns present: ..." message.</summary>
    public static string MissingColumnMessage(DataViewSchema schema, string name) =>
        $"Could not find input column '{name}'. Columns present: {schema}.";

    /// <summary>
    /// Returns the column <paramref name="name"/> of <paramref name="schema"/> after checking that it exists and has one
    /// of the <paramref name="expectedTypes"/> (any type when none are given).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The column is missing or has another type.</exception>
    public static DataViewSchema.Column RequireColumn(DataViewSchema schema, string name, params DataViewType[] expectedTypes)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException("inputSchema", MissingColumnMessage(schema, name));
        if (expectedTypes.Length > 0 && !expectedTypes.Contains(column.Type))
            throw new ArgumentOutOfRangeException("inputSchema",
                $"Schema mismatch for input column '{name}': expected {string.Join(" or ", expectedTypes.Select(t => t.ToString()))}, got {column.Type}.");
        return column;
    }
}
