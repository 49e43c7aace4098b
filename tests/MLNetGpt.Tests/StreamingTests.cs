// Lazy streaming generation: 10,000 CSV prompts through ML.NET's loader and the fitted chain, in order, with bounded read-ahead and memory.
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetGpt.Tests;

[TestClass]
public sealed class StreamingTests
{
    private const int Rows = 10_000, Batch = 32, NewTokens = 2;

    // Prompts that need quoting in a CSV (a comma), an empty field, and only characters the tiny model's tokenizer knows.
    private static readonly string[] Texts = ["ROMEO:", "To be, or not", "", "MENENIUS", "First Citizen"];

    private static string PromptOf(int row) => Texts[row % Texts.Length];

    public sealed class CsvPrompt
    {
        [LoadColumn(0)]
        public int Id { get; set; }

        [LoadColumn(1)]
        public string Text { get; set; } = "";
    }

    private static ITransformer Model() =>
        TinyModels.WithGeneration(TinyModels.Generator.Options with { MaxNewTokens = NewTokens, GenerationBatchSize = Batch });

    [TestMethod]
    [DoNotParallelize] // the live-heap measurement must not see other test classes' allocations
    public void TenThousandCsvPromptsStreamInOrderWithBoundedMemoryAndSaveAsTextWritesEveryRow()
    {
        using var dir = new TempDirectory();
        string csv = Path.Combine(dir.Path, "prompts.csv");
        using (var writer = new StreamWriter(csv))
        {
            writer.Write("Id,Text\n");
            for (int i = 0; i < Rows; i++) writer.Write($"{i},\"{PromptOf(i)}\"\n");
        }
        var ml = new MLContext(seed: 0);
        var prompts = ml.Data.LoadFromTextFile<CsvPrompt>(csv, separatorChar: ',', hasHeader: true, allowQuoting: true);
        var output = Model().Transform(prompts);

        // The outputs are kept in a buffer allocated before the measurement, so keeping them does not count as growth.
        var generated = new char[Rows * NewTokens];
        int count = 0;
        long baseline = 0, peak = 0;
        using (var cursor = output.GetRowCursor(output.Schema))
        {
            var id = cursor.GetGetter<int>(output.Schema["Id"]);
            var text = cursor.GetGetter<ReadOnlyMemory<char>>(output.Schema["Text"]);
            var gen = cursor.GetGetter<ReadOnlyMemory<char>>(output.Schema["Generated"]);
            int idValue = 0;
            ReadOnlyMemory<char> textValue = default, genValue = default;
            while (cursor.MoveNext())
            {
                id(ref idValue);
                text(ref textValue);
                gen(ref genValue);
                Assert.AreEqual(count, idValue, "rows come out in input order");
                Assert.IsTrue(textValue.Span.SequenceEqual(PromptOf(count)), $"row {count}: the prompt passes through");
                Assert.AreEqual(NewTokens, genValue.Length, $"row {count}: {NewTokens} characters of a character-level model");
                genValue.Span.CopyTo(generated.AsSpan(count * NewTokens));
                count++;
                // The baseline once every buffer, loader and kernel is warm; then the live heap every 1,000 rows.
                if (count == 1000) baseline = GC.GetTotalMemory(forceFullCollection: true);
                else if (count % 1000 == 0) peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - baseline);
            }
        }
        Console.WriteLine($"live heap growth from row 1,000 to {Rows:N0}: at most {peak:N0} bytes");
        Assert.AreEqual(Rows, count);
        // Materializing the view would keep 9,000 more rows of prompt strings, id arrays and outputs (a few hundred bytes
        // each, MBs in all); streaming keeps one micro-batch, whatever the row count.
        Assert.IsTrue(peak < 1 << 20, $"live heap grew by {peak:N0} bytes");
        var texts = Enumerable.Range(0, Rows).Select(r => new string(generated, r * NewTokens, NewTokens)).ToArray();
        Assert.IsTrue(texts.Distinct().Count() > 100, "rows draw from their own random streams");

        // ML.NET's text saver writes every row (a second cursor regenerates the same rows: row r is seeded by r).
        string tsv = Path.Combine(dir.Path, "generated.tsv");
        using (var file = File.Create(tsv))
            ml.Data.SaveAsText(ml.Transforms.SelectColumns("Id", "Text", "Generated").Fit(output).Transform(output), file,
                separatorChar: '\t', headerRow: true, schema: false);
        var back = ml.Data.CreateTextLoader(new TextLoader.Options
        {
            Separators = ['\t'],
            HasHeader = true,
            AllowQuoting = true,
            ReadMultilines = true, // generated text may hold newlines, which the saver quotes
            Columns = [new("Id", DataKind.Int32, 0), new("Text", DataKind.String, 1), new("Generated", DataKind.String, 2)],
        }).Load(tsv);
        var saved = ml.Data.CreateEnumerable<SavedRow>(back, reuseRowObject: false).ToList();
        Assert.AreEqual(Rows, saved.Count);
        CollectionAssert.AreEqual(Enumerable.Range(0, Rows).ToArray(), saved.Select(r => r.Id).ToArray());
        CollectionAssert.AreEqual(texts, saved.Select(r => r.Generated).ToArray());
    }

    public sealed class SavedRow
    {
        public int Id { get; set; }

        public string Text { get; set; } = "";

        public string Generated { get; set; } = "";
    }

    [TestMethod]
    public void TheSourceIsReadAtMostOneMicroBatchAheadOfTheConsumer()
    {
        var ml = new MLContext(seed: 0);
        long pulled = 0;
        IEnumerable<PromptRow> Source()
        {
            for (int i = 0; i < Rows; i++)
            {
                Interlocked.Increment(ref pulled);
                yield return new PromptRow { Text = PromptOf(i) };
            }
        }
        var output = Model().Transform(ml.Data.LoadFromEnumerable(Source()));
        Assert.AreEqual(0, Interlocked.Read(ref pulled), "Transform reads no row");

        using var cursor = output.GetRowCursor([output.Schema["Generated"]]);
        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(output.Schema["Generated"]);
        ReadOnlyMemory<char> value = default;
        long consumed = 0, maxAhead = 0;
        while (cursor.MoveNext())
        {
            getter(ref value);
            consumed++;
            maxAhead = Math.Max(maxAhead, Interlocked.Read(ref pulled) - consumed);
        }
        Assert.AreEqual(Rows, consumed);
        Assert.AreEqual(Rows, Interlocked.Read(ref pulled));
        // One micro-batch is pulled to generate it together, and nothing more.
        Assert.AreEqual(Batch - 1, maxAhead);
    }

    [TestMethod]
    public void ReadingOnlyPassThroughColumnsDoesNotGenerate()
    {
        // A cancelled token makes any generation throw: reading the prompts alone must not start one.
        var ml = new MLContext(seed: 0);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var output = ml.TextGeneration.Generate(Model(), TinyModels.PromptView(ml, TinyModels.Prompts(500)), cancellationToken: cancelled.Token);
        Assert.AreEqual(500, output.GetColumn<string>("Text").Count());
        Assert.AreEqual(500, output.GetColumn<VBuffer<int>>("Tokens").Count());
        Assert.ThrowsExactly<OperationCanceledException>(() => output.GetColumn<string>("Generated").ToList());
    }

    [TestMethod]
    public void ACancelledTransformThrowsBetweenBatches()
    {
        var ml = new MLContext(seed: 0);
        using var cts = new CancellationTokenSource();
        var model = TinyModels.WithGeneration(TinyModels.Generator.Options with { MaxNewTokens = 3, GenerationBatchSize = 2 });
        var output = ml.TextGeneration.Generate(model, TinyModels.PromptView(ml, TinyModels.Prompts(10)), cancellationToken: cts.Token);
        using var cursor = output.GetRowCursor(output.Schema);
        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(output.Schema["Generated"]);
        ReadOnlyMemory<char> value = default;
        Assert.IsTrue(cursor.MoveNext());
        Assert.IsTrue(cursor.MoveNext());
        getter(ref value);
        Assert.AreEqual(3, value.Length);
        cts.Cancel();
        Assert.ThrowsExactly<OperationCanceledException>(() => cursor.MoveNext());
    }
}
