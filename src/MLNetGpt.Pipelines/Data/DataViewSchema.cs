// The schema of a data view: ordered named, typed columns with annotations, and ML.NET-worded lookup errors.
using System.Collections;

namespace MLNetGpt.Pipelines;

/// <summary>
/// An ordered list of columns with names and types. Looking a column up by a name that is not present throws
/// <see cref="ArgumentOutOfRangeException"/> with ML.NET's wording ("Could not find input column 'X'") and the list
/// of columns that are present. Column names are unique within a schema.
/// </summary>
public sealed class DataViewSchema : IReadOnlyList<DataViewSchema.Column>
{
    private readonly Column[] _columns;
    private readonly Dictionary<string, int> _byName;

    private DataViewSchema(Column[] columns)
    {
        _columns = columns;
        _byName = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var c in columns) _byName[c.Name] = c.Index;
    }

    /// <summary>An empty schema.</summary>
    public static DataViewSchema Empty { get; } = new([]);

    /// <summary>Number of columns.</summary>
    public int Count => _columns.Length;

    /// <summary>The column at <paramref name="columnIndex"/>.</summary>
    public Column this[int columnIndex] => (uint)columnIndex < (uint)_columns.Length
        ? _columns[columnIndex]
        : throw new ArgumentOutOfRangeException(nameof(columnIndex), columnIndex, $"Column index must be in [0, {_columns.Length}).");

    /// <summary>The column named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such column; the message lists the columns present.</exception>
    public Column this[string name] => GetColumnOrNull(name)
        ?? throw new ArgumentOutOfRangeException(nameof(name), SchemaErrors.MissingColumnMessage(this, name));

    /// <summary>The column named <paramref name="name"/>, or null.</summary>
    public Column? GetColumnOrNull(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _byName.TryGetValue(name, out int i) ? _columns[i] : null;
    }

    /// <inheritdoc/>
    public IEnumerator<Column> GetEnumerator() => ((IEnumerable<Column>)_columns).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>"'Text' (Text), 'Tokens' (Vector&lt;Int32&gt;)", or "(none)".</summary>
    public override string ToString() =>
        _columns.Length == 0 ? "(none)" : string.Join(", ", _columns.Select(c => $"'{c.Name}' ({c.Type})"));

    /// <summary>A column: name, position, type and annotations (e.g. the tokenizer that produced a token id column).</summary>
    public readonly struct Column
    {
        internal Column(string name, int index, DataViewType type, Annotations annotations)
        {
            Name = name;
            Index = index;
            Type = type;
            _annotations = annotations;
        }

        private readonly Annotations? _annotations;

        /// <summary>Column name.</summary>
        public string Name { get; }

        /// <summary>Position in the schema.</summary>
        public int Index { get; }

        /// <summary>Column type.</summary>
        public DataViewType Type { get; }

        /// <summary>Extra information attached by the producer of the column. Never null.</summary>
        public Annotations Annotations => _annotations ?? Annotations.Empty;

        /// <inheritdoc/>
        public override string ToString() => $"'{Name}' ({Type})";
    }

    /// <summary>Named values attached to a column (ML.NET's annotations), e.g. <see cref="AnnotationNames.Tokenizer"/>.</summary>
    public sealed class Annotations
    {
        private readonly Dictionary<string, object> _values;

        /// <summary>Creates annotations from name/value pairs.</summary>
        public Annotations(IEnumerable<KeyValuePair<string, object>> values) =>
            _values = new Dictionary<string, object>(values, StringComparer.Ordinal);

        /// <summary>No annotations.</summary>
        public static Annotations Empty { get; } = new([]);

        /// <summary>Names present.</summary>
        public IEnumerable<string> Names => _values.Keys;

        /// <summary>Gets a value of type <typeparamref name="T"/>, or false when absent or of another type.</summary>
        public bool TryGetValue<T>(string name, out T value)
        {
            if (_values.TryGetValue(name, out var v) && v is T t)
            {
                value = t;
                return true;
            }
            value = default!;
            return false;
        }
    }

    /// <summary>Builds a schema column by column.</summary>
    public sealed class Builder
    {
        private readonly List<(string Name, DataViewType Type, Annotations Annotations)> _columns = [];

        /// <summary>Adds a column; a later column with the same name replaces the earlier one (as an output column hides its input in ML.NET).</summary>
        public Builder AddColumn(string name, DataViewType type, Annotations? annotations = null)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("Column name must be non-empty.", nameof(name));
            ArgumentNullException.ThrowIfNull(type);
            _columns.RemoveAll(c => c.Name == name);
            _columns.Add((name, type, annotations ?? Annotations.Empty));
            return this;
        }

        /// <summary>Adds copies of existing columns (names, types and annotations).</summary>
        public Builder AddColumns(IEnumerable<Column> columns)
        {
            foreach (var c in columns) AddColumn(c.Name, c.Type, c.Annotations);
            return this;
        }

        /// <summary>The schema.</summary>
        public DataViewSchema ToSchema() =>
            new(_columns.Select((c, i) => new Column(c.Name, i, c.Type, c.Annotations)).ToArray());
    }
}

/// <summary>Names of annotations our components attach to columns.</summary>
public static class AnnotationNames
{
    /// <summary>On a token id column: the <c>Microsoft.ML.Tokenizers.Tokenizer</c> (one of MLNetGpt.Tokenizers') that produced it.</summary>
    public const string Tokenizer = "Tokenizer";

    /// <summary>On a token id column: the name of the text column it was computed from (a <see cref="string"/>).</summary>
    public const string SourceColumn = "SourceColumn";
}
