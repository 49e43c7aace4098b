// Writers of data views as CSV and JSON Lines, streaming one row at a time (generated text goes out as it is made).
using System.Globalization;
using System.Text.Json;
using CsvHelper;

namespace MLNetGpt.Pipelines;

internal static class DataWriters
{
    private static string Format(object? value) => value switch
    {
        null => "",
        string s => s,
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        int i => i.ToString(CultureInfo.InvariantCulture),
        int[] a => string.Join(' ', a),
        float[] a => string.Join(' ', a.Select(x => x.ToString("R", CultureInfo.InvariantCulture))),
        _ => value.ToString() ?? "",
    };

    public static void Csv(IDataView data, Stream stream, bool includeHeader)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(stream);
        using var csv = CsvWriter.Create(stream, CsvWriterOptions.Default with { NewLine = "\n" }, leaveOpen: true);
        var columns = data.Schema.ToArray();
        if (includeHeader)
        {
            csv.WriteHeader(columns.Select(c => c.Name).ToArray());
        }
        using var cursor = data.GetRowCursor(columns);
        var readers = columns.Select(c => BoxedValues.ReadBoxed(cursor, c)).ToArray();
        while (cursor.MoveNext())
        {
            csv.WriteRecord(readers.Select(r => Format(r())).ToArray());
            csv.Flush();
        }
    }

    public static void JsonLines(IDataView data, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(stream);
        var columns = data.Schema.ToArray();
        using var cursor = data.GetRowCursor(columns);
        var readers = columns.Select(c => BoxedValues.ReadBoxed(cursor, c)).ToArray();
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        while (cursor.MoveNext())
        {
            json.WriteStartObject();
            for (int i = 0; i < columns.Length; i++)
            {
                json.WritePropertyName(columns[i].Name);
                switch (readers[i]())
                {
                    case string s: json.WriteStringValue(s); break;
                    case int v: json.WriteNumberValue(v); break;
                    case float v: json.WriteNumberValue(v); break;
                    case int[] a: json.WriteStartArray(); foreach (var v in a) json.WriteNumberValue(v); json.WriteEndArray(); break;
                    case float[] a: json.WriteStartArray(); foreach (var v in a) json.WriteNumberValue(v); json.WriteEndArray(); break;
                    default: json.WriteNullValue(); break;
                }
            }
            json.WriteEndObject();
            json.Flush();
            json.Reset(); // one JSON document per line: the writer allows a single root value otherwise
            stream.WriteByte((byte)'\n');
        }
    }
}
