// Loaders of text files, CSV (CsvHelper) and JSON Lines into lazy, streamed data views.
using System.Globalization;
using System.Text.Json;
using CsvHelper;

namespace MLNetGpt.Pipelines;

internal static class TextLoaders
{
    private static void CheckFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Data file '{path}' does not exist.", path);
    }

    public static IDataView TextFile(string path, string columnName, bool oneRowPerLine)
    {
        CheckFile(path);
        var schema = new DataViewSchema.Builder().AddColumn(columnName, TextDataViewType.Instance).ToSchema();
        return oneRowPerLine
            ? new RowSourceDataView(schema, () => File.ReadLines(path).Select(l => new object?[] { l }))
            : new RowSourceDataView(schema, () => [[File.ReadAllText(path)]], 1);
    }

    private static CsvReaderOptions CsvOptions(bool hasHeader, char separator) => CsvReaderOptions.Default with
    {
        HasHeader = hasHeader,
        Separator = separator,
        TrackLineNumbers = true,
        SkipEmptyLines = true,
    };

    public static IDataView Csv(string path, bool hasHeader, char separator)
    {
        CheckFile(path);
        string[] names;
        using (var csv = CsvReader.FromFile(path, CsvOptions(hasHeader, separator)))
        {
            if (hasHeader)
            {
                names = csv.Headers.ToArray();
                if (names.Length == 0) throw new InvalidDataException($"CSV file '{path}' is empty; expected a header row.");
            }
            else
            {
                if (!csv.Read()) throw new InvalidDataException($"CSV file '{path}' is empty; expected at least one row.");
                names = Enumerable.Range(0, csv.FieldCount).Select(i => $"Column{i}").ToArray();
            }
        }
        var duplicate = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new InvalidDataException($"CSV file '{path}' line 1: column '{duplicate.Key}' appears more than once in the header.");
        var builder = new DataViewSchema.Builder();
        foreach (var n in names) builder.AddColumn(n, TextDataViewType.Instance);
        return new RowSourceDataView(builder.ToSchema(), () => CsvRows(path, hasHeader, separator, names.Length));
    }

    private static IEnumerable<object?[]> CsvRows(string path, bool hasHeader, char separator, int columns)
    {
        using var csv = CsvReader.FromFile(path, CsvOptions(hasHeader, separator));
        while (Read(csv, path))
        {
            int n = csv.FieldCount;
            if (n != columns)
                throw new InvalidDataException($"CSV file '{path}' line {csv.LineNumber}: {n} fields, expected {columns}.");
            var row = new object?[columns];
            for (int i = 0; i < columns; i++) row[i] = csv.GetString(i);
            yield return row;
        }
    }

    private static bool Read(CsvReader csv, string path)
    {
        try
        {
            return csv.Read();
        }
        catch (CsvFormatException e)
        {
            throw new InvalidDataException($"CSV file '{path}': {e.Message}", e);
        }
    }

    public static IDataView JsonLines(string path)
    {
        CheckFile(path);
        // One pass over the file fixes the schema: the union of keys in order of first appearance, with Int32 widened to
        // Single (and Vector<Int32> to Vector<Single>) when any row has a fractional number there.
        var types = new List<(string Name, DataViewType Type)>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = ParseLine(path, lineNumber, line);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                var type = TypeOf(path, lineNumber, p);
                int i = types.FindIndex(t => t.Name == p.Name);
                if (i < 0) types.Add((p.Name, type));
                else types[i] = (p.Name, Widen(types[i].Type, type) ?? throw new InvalidDataException(
                    $"JSON Lines file '{path}' line {lineNumber}: property '{p.Name}' is {type} here but {types[i].Type} on an earlier line."));
            }
        }
        if (types.Count == 0) throw new InvalidDataException($"JSON Lines file '{path}' has no object with properties.");
        var builder = new DataViewSchema.Builder();
        foreach (var (name, type) in types) builder.AddColumn(name, type);
        var schema = builder.ToSchema();
        return new RowSourceDataView(schema, () => JsonRows(path, schema));
    }

    private static DataViewType? Widen(DataViewType a, DataViewType b)
    {
        if (a == b) return a;
        var single = NumberDataViewType.Single;
        var int32 = NumberDataViewType.Int32;
        if ((a == int32 && b == single) || (a == single && b == int32)) return single;
        if (a is VectorDataViewType && b is VectorDataViewType) return new VectorDataViewType(single);
        return null;
    }

    private static JsonDocument ParseLine(string path, int lineNumber, string line)
    {
        try
        {
            var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                doc.Dispose();
                throw new InvalidDataException($"JSON Lines file '{path}' line {lineNumber}: expected a JSON object.");
            }
            return doc;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"JSON Lines file '{path}' line {lineNumber}, column {e.BytePositionInLine + 1}: {e.Message}", e);
        }
    }

    private static DataViewType TypeOf(string path, int line, JsonProperty p) => p.Value.ValueKind switch
    {
        JsonValueKind.String => TextDataViewType.Instance,
        JsonValueKind.Number => p.Value.TryGetInt32(out _) ? NumberDataViewType.Int32 : NumberDataViewType.Single,
        JsonValueKind.Array => p.Value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out _))
            ? new VectorDataViewType(NumberDataViewType.Int32)
            : new VectorDataViewType(NumberDataViewType.Single),
        _ => throw new InvalidDataException($"JSON Lines file '{path}' line {line}: property '{p.Name}' is {p.Value.ValueKind}; expected a string, number or array of numbers."),
    };

    private static IEnumerable<object?[]> JsonRows(string path, DataViewSchema schema)
    {
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = ParseLine(path, lineNumber, line);
            var row = new object?[schema.Count];
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (schema.GetColumnOrNull(p.Name) is not { } column) continue;
                try
                {
                    row[column.Index] = column.Type switch
                    {
                        TextDataViewType => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : throw new FormatException(),
                        VectorDataViewType v when v.ItemType == NumberDataViewType.Int32 => p.Value.EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                        VectorDataViewType => p.Value.EnumerateArray().Select(e => e.GetSingle()).ToArray(),
                        _ when column.Type == NumberDataViewType.Int32 => p.Value.GetInt32(),
                        _ => p.Value.GetSingle(),
                    };
                }
                catch (Exception e) when (e is FormatException or InvalidOperationException)
                {
                    throw new InvalidDataException($"JSON Lines file '{path}' line {lineNumber}: property '{p.Name}' does not fit column type {column.Type} (from the first line).", e);
                }
            }
            yield return row;
        }
    }
}
