// MLContext.Data: load text, POCOs, CSV and JSONL into data views, split them, and write them back out.
namespace MLNetGpt.Pipelines;

/// <summary>Loading, splitting and saving data (ML.NET's <c>mlContext.Data</c>).</summary>
public sealed class DataOperationsCatalog
{
    private readonly MLContext _context;

    internal DataOperationsCatalog(MLContext context) => _context = context;

    /// <summary>The default text column name of <see cref="LoadFromTextFile"/> and <see cref="LoadText"/>: "Text".</summary>
    public const string DefaultTextColumnName = "Text";

    /// <summary>
    /// A view of a text file: by default one row holding the whole text (what a language model trains on), or with
    /// <paramref name="oneRowPerLine"/> one row per line (prompts). The file is read when a cursor moves, not now.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public IDataView LoadFromTextFile(string path, string columnName = DefaultTextColumnName, bool oneRowPerLine = false) =>
        TextLoaders.TextFile(path, columnName, oneRowPerLine);

    /// <summary>A one-row view holding <paramref name="text"/>.</summary>
    public IDataView LoadText(string text, string columnName = DefaultTextColumnName)
    {
        ArgumentNullException.ThrowIfNull(text);
        var schema = new DataViewSchema.Builder().AddColumn(columnName, TextDataViewType.Instance).ToSchema();
        return new RowSourceDataView(schema, () => [[text]], 1);
    }

    /// <summary>
    /// A view of in-memory objects: one column per public property of type string, int, float, int[] or float[]
    /// (named by <see cref="ColumnNameAttribute"/> or the property name). The enumerable is enumerated per cursor.
    /// </summary>
    public IDataView LoadFromEnumerable<TRow>(IEnumerable<TRow> data) where TRow : class
    {
        ArgumentNullException.ThrowIfNull(data);
        var schema = PocoMapping<TRow>.Schema();
        long? count = data is ICollection<TRow> c ? c.Count : data is IReadOnlyCollection<TRow> rc ? rc.Count : null;
        return new RowSourceDataView(schema, () => data.Select(PocoMapping<TRow>.ToRow), count);
    }

    /// <summary>Reads a view back into objects, lazily; every writable property of <typeparamref name="TRow"/> needs a matching column.</summary>
    public IEnumerable<TRow> CreateEnumerable<TRow>(IDataView data, bool reuseRowObject = false) where TRow : class, new()
    {
        ArgumentNullException.ThrowIfNull(data);
        var columns = PocoMapping<TRow>.Properties.Where(p => p.Property.CanWrite).Select(p => SchemaErrors.RequireColumn(data.Schema, p.Column)).ToArray();
        return Enumerate();

        IEnumerable<TRow> Enumerate()
        {
            using var cursor = data.GetRowCursor(columns);
            TRow? shared = reuseRowObject ? new TRow() : null;
            var read = PocoMapping<TRow>.Reader(cursor, () => shared ?? new TRow());
            while (cursor.MoveNext()) yield return read();
        }
    }

    /// <summary>
    /// A view of a CSV file (RFC 4180 quoting, via CsvHelper). With a header row the columns are named by it, otherwise
    /// Column0, Column1, .... Every column is text. Streamed: the file is read as cursors move.
    /// </summary>
    public IDataView LoadFromCsvFile(string path, bool hasHeader = true, char separator = ',') =>
        TextLoaders.Csv(path, hasHeader, separator);

    /// <summary>
    /// A view of a JSON Lines file (one JSON object per line). The file is scanned once for the schema: the union of the
    /// objects' keys; strings are text, numbers Int32 when every value is integral else Single, arrays of numbers vectors
    /// (likewise). Rows may omit keys (empty text, zero, empty vector) but not change a string into a number. Rows are then
    /// streamed as cursors move. Errors name the file and line.
    /// </summary>
    public IDataView LoadFromJsonLinesFile(string path) => TextLoaders.JsonLines(path);

    /// <summary>Writes the view's scalar columns as CSV with a header, streaming row by row (vectors as space-separated numbers).</summary>
    public void SaveAsCsv(IDataView data, Stream stream, bool includeHeader = true) => DataWriters.Csv(data, stream, includeHeader);

    /// <summary>Writes the view as JSON Lines, one object per row (vectors as arrays), streaming row by row.</summary>
    public void SaveAsJsonLines(IDataView data, Stream stream) => DataWriters.JsonLines(data, stream);

    /// <summary>
    /// Random split as in ML.NET: each row goes to the test set with probability <paramref name="testFraction"/>,
    /// decided by a hash of (seed, row position), so it is deterministic and streams. The seed is
    /// <paramref name="seed"/> if given, else derived from the context seed.
    /// </summary>
    public TrainTestData TrainTestSplit(IDataView data, double testFraction = 0.1, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckFraction(testFraction);
        int s = seed ?? _context.DeriveSeed(-1, 1);
        ulong threshold = (ulong)(testFraction * ulong.MaxValue);
        bool IsTest(long position) => SeedMath.Mix((ulong)s ^ SeedMath.Mix((ulong)position)) < threshold;
        return new TrainTestData(new FilterDataView(data, p => !IsTest(p)), new FilterDataView(data, IsTest));
    }

    /// <summary>
    /// Contiguous split for language modelling (nanoGPT's 90/10). For a single-row text view (a whole corpus) the text is
    /// cut at character <c>floor(length × (1 − testFraction))</c>: train is the text before, test the text after. For
    /// other views the first <c>floor(rows × (1 − testFraction))</c> rows are train and the rest test (rows are counted if needed).
    /// </summary>
    public TrainTestData TrainTestSplitContiguous(IDataView data, double testFraction = 0.1, string textColumnName = DefaultTextColumnName)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckFraction(testFraction);
        long rows = data.GetRowCount() ?? CountRows(data);
        if (rows == 1 && data.Schema.GetColumnOrNull(textColumnName) is { Type: TextDataViewType } column)
            return Splits.SplitSingleText(data, column, testFraction);
        long cut = (long)Math.Floor(rows * (1 - testFraction));
        return new TrainTestData(new FilterDataView(data, p => p < cut, cut), new FilterDataView(data, p => p >= cut, rows - cut));
    }

    private static void CheckFraction(double testFraction)
    {
        if (!(testFraction >= 0 && testFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "The test fraction must be in [0, 1].");
    }

    private static long CountRows(IDataView data)
    {
        using var cursor = data.GetRowCursor([]);
        long n = 0;
        while (cursor.MoveNext()) n++;
        return n;
    }

    /// <summary>The two halves of a split (ML.NET's TrainTestData).</summary>
    public sealed record TrainTestData(IDataView TrainSet, IDataView TestSet);
}
