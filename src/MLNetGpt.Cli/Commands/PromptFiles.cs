// Reads a file of prompts into an ML.NET view: CSV through ML.NET's TextLoader, JSON Lines and plain lines streamed.
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetGpt.Cli.Commands;

/// <summary>Prompt files for <c>generate --input</c>: .csv (header row, quoting), .jsonl (one object per line) or .txt (one prompt per line).</summary>
public static class PromptFiles
{
    private static readonly string[] UsualNames = ["Prompt", "prompt", "Text", "text"];

    /// <summary>A lazy view of the prompts in <paramref name="path"/> and the name of its prompt column.</summary>
    /// <exception cref="CliException">Unknown extension, no prompt column, a JSON line without the prompt, ...; the message names the file and line.</exception>
    public static (IDataView Prompts, string Column) Load(MLContext ml, string path, string? column, string modelColumn) =>
        Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".csv" => Csv(ml, path, column, modelColumn),
            ".jsonl" or ".json" => (Lines(ml, modelColumn, JsonLines(path, column ?? JsonKey(path, modelColumn))), modelColumn),
            ".txt" => (Lines(ml, modelColumn, File.ReadLines(path, Encoding.UTF8)), modelColumn),
            var ext => throw new CliException($"Input file '{path}' has extension '{ext}'; expected .csv, .jsonl or .txt."),
        };

    private static (IDataView, string) Csv(MLContext ml, string path, string? column, string modelColumn)
    {
        string header = File.ReadLines(path).First();
        var names = SplitHeader(header);
        string chosen = column
            ?? (names.Contains(modelColumn) ? modelColumn : null)
            ?? UsualNames.FirstOrDefault(names.Contains)
            ?? (names.Count == 1 ? names[0] : throw new CliException(
                $"Could not find input column '{modelColumn}' in '{path}' (pass --column). Columns present: {string.Join(", ", names)}."));
        if (!names.Contains(chosen))
            throw new CliException($"Could not find input column '{chosen}' in '{path}'. Columns present: {string.Join(", ", names)}.");
        var loader = ml.Data.CreateTextLoader(new TextLoader.Options
        {
            HasHeader = true,
            Separators = [','],
            AllowQuoting = true,
            ReadMultilines = true,
            TrimWhitespace = false,
            Columns = names.Select((n, i) => new TextLoader.Column(n, DataKind.String, i)).ToArray(),
        });
        return (loader.Load(path), chosen);
    }

    // The header row, split on commas outside quotes (quotes removed, "" kept as one quote).
    private static List<string> SplitHeader(string line)
    {
        var names = new List<string>();
        var current = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c == '"' && quoted && i + 1 < line.Length && line[i + 1] == '"') { current.Append('"'); i++; }
            else if (c == '"') quoted = !quoted;
            else if (c == ',' && !quoted) { names.Add(current.ToString()); current.Clear(); }
            else current.Append(c);
        }
        names.Add(current.ToString().TrimEnd('\r'));
        return names;
    }

    // The prompt key of a JSON Lines file, from its first object: the model's column, a usual name, or its only string.
    private static string JsonKey(string path, string modelColumn)
    {
        string? first = File.ReadLines(path, Encoding.UTF8).FirstOrDefault(l => !string.IsNullOrWhiteSpace(l));
        var keys = new List<string>();
        try
        {
            using var doc = JsonDocument.Parse(first ?? "{}");
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
                keys.AddRange(doc.RootElement.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String).Select(p => p.Name));
        }
        catch (JsonException)
        {
            return "prompt"; // the line-by-line reader reports the line
        }
        if (keys.Contains(modelColumn)) return modelColumn;
        return UsualNames.FirstOrDefault(keys.Contains) ?? (keys.Count == 1 ? keys[0] : throw new CliException(
            $"Could not find the prompt key in '{path}' (pass --column). Text keys of its first line: {string.Join(", ", keys)}."));
    }

    private static IEnumerable<string> JsonLines(string path, string key)
    {
        int number = 0;
        foreach (var line in File.ReadLines(path, Encoding.UTF8))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string? prompt;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty(key, out var value))
                    throw new CliException($"{path}, line {number}: no \"{key}\" key (pass --column to name another).");
                prompt = value.ValueKind == JsonValueKind.String ? value.GetString()
                    : throw new CliException($"{path}, line {number}: \"{key}\" is {value.ValueKind}, expected a string.");
            }
            catch (JsonException e)
            {
                throw new CliException($"{path}, line {number}: not valid JSON: {e.Message}");
            }
            yield return prompt!;
        }
    }

    private static IDataView Lines(MLContext ml, string column, IEnumerable<string> prompts)
    {
        var definition = SchemaDefinition.Create(typeof(PromptLine));
        definition[0].ColumnName = column;
        return ml.Data.LoadFromEnumerable(prompts.Select(p => new PromptLine { Text = p }), definition);
    }

    /// <summary>One prompt (ML.NET maps its public property to a column).</summary>
    public sealed class PromptLine
    {
        /// <summary>The prompt.</summary>
        public string Text { get; set; } = "";
    }
}
