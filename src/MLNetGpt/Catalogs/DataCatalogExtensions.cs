// mlContext.Data.LoadCorpusFromTextFile (a whole text file, byte-exact, as one row) and TrainTestSplitContiguous (nanoGPT's 90/10).
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetGpt.Data;
using MLNetGpt.Internals;

namespace MLNetGpt;

/// <summary>Corpus loading and the contiguous split on <c>mlContext.Data</c>.</summary>
public static class DataCatalogExtensions
{
    /// <summary>The default text column name of a corpus view: "Text".</summary>
    public const string DefaultTextColumnName = "Text";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// A one-row view holding the whole text file, exactly: blank lines, quotes, separators and a byte-order mark are kept
    /// (ML.NET's <c>LoadFromTextFile</c> reads records, which is right for tables and wrong for a corpus). The file is read
    /// when a cursor moves.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist (checked now).</exception>
    /// <exception cref="InvalidDataException">The file is not valid UTF-8 (when read; the message names the byte offset).</exception>
    public static IDataView LoadCorpusFromTextFile(this DataOperationsCatalog catalog, string path, string columnName = DefaultTextColumnName)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(columnName);
        if (!File.Exists(path)) throw new FileNotFoundException($"Corpus file '{path}' does not exist.", path);
        return new TextRowsDataView(columnName, () => [ReadCorpus(path)], 1);
    }

    /// <summary>The text of a corpus file, decoded strictly (invalid UTF-8 is an error naming the byte, never U+FFFD).</summary>
    internal static string ReadCorpus(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"Corpus file '{path}' is not valid UTF-8 at byte {e.Index} (0x{(e.BytesUnknown is { Length: > 0 } b ? b[0] : 0):X2}).", e);
        }
    }

    /// <summary>
    /// Contiguous split for language modelling (nanoGPT's 90/10). A one-row view (a corpus) is cut inside its text column
    /// <paramref name="textColumnName"/> at character ⌊length × (1 − <paramref name="testFraction"/>)⌋ (one further when that
    /// would split a surrogate pair): the train set is the
    /// text before, the test set the text after, each a one-row view of that column. Any other view splits by rows: the
    /// first ⌊rows × (1 − testFraction)⌋ rows train, the rest test. ML.NET's own TrainTestSplit is random.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="testFraction"/> is outside [0, 1].</exception>
    public static DataOperationsCatalog.TrainTestData TrainTestSplitContiguous(this DataOperationsCatalog catalog, IDataView data,
        double testFraction = 0.1, string textColumnName = DefaultTextColumnName)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(data);
        if (!(testFraction >= 0 && testFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "The test fraction must be in [0, 1].");
        long rows = data.GetRowCount() ?? CountRows(data);
        if (rows == 1 && data.Schema.GetColumnOrNull(textColumnName) is { Type: TextDataViewType } column)
        {
            string Text()
            {
                using var cursor = data.GetRowCursor([column]);
                var getter = cursor.GetGetter<ReadOnlyMemory<char>>(column);
                ReadOnlyMemory<char> value = default;
                if (cursor.MoveNext()) getter(ref value);
                return value.ToString();
            }
            // never between the halves of a surrogate pair: both sides stay valid text
            int Cut(string text)
            {
                int cut = (int)Math.Floor(text.Length * (1 - testFraction));
                return cut > 0 && cut < text.Length && char.IsLowSurrogate(text[cut]) && char.IsHighSurrogate(text[cut - 1]) ? cut + 1 : cut;
            }
            var train = new TextRowsDataView(textColumnName, () => { var t = Text(); return [t[..Cut(t)]]; }, 1);
            var test = new TextRowsDataView(textColumnName, () => { var t = Text(); return [t[Cut(t)..]]; }, 1);
            return MLNetAccess.TrainTestData(train, test);
        }
        long cut = (long)Math.Floor(rows * (1 - testFraction));
        // ML.NET's TakeRows and SkipRows need a positive count: no train rows is every row skipped, and skipping none is the view.
        return cut > 0
            ? MLNetAccess.TrainTestData(catalog.TakeRows(data, cut), catalog.SkipRows(data, cut))
            : MLNetAccess.TrainTestData(catalog.SkipRows(data, long.MaxValue), data);
    }

    private static long CountRows(IDataView data)
    {
        using var cursor = data.GetRowCursor([]);
        long n = 0;
        while (cursor.MoveNext()) n++;
        return n;
    }
}
