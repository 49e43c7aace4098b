// Lazy streaming generation: rows are pulled incrementally in micro-batches and memory stays bounded on 10,000 prompts.
using MLNetGpt.Pipelines;

namespace MLNetGpt.Pipelines.Tests;

[TestClass]
public sealed class StreamingTests
{
    [TestMethod]
    [DoNotParallelize] // the live-heap measurement must not see other test classes' allocations
    public void TenThousandPromptsStreamInMicroBatchesWithBoundedMemory()
    {
        const int rows = 10_000, batch = 32;
        var chain = TinyModels.WithOptions(new TextGenerationOptions { MaxNewTokens = 3, GenerationBatchSize = batch });
        var ml = new MLContext(0);
        long pulled = 0;
        IEnumerable<TextRow> Source()
        {
            for (int i = 0; i < rows; i++)
            {
                Interlocked.Increment(ref pulled);
                yield return new TextRow { Text = i % 2 == 0 ? "ROMEO:" : "KING" };
            }
        }
        var output = chain.Transform(ml.Data.LoadFromEnumerable(Source()));
        Assert.AreEqual(0, Interlocked.Read(ref pulled), "Transform must not read any row");

        using var cursor = output.GetRowCursor(output.Schema);
        var getter = cursor.GetGetter<string>(output.Schema["Generated"]);
        long consumed = 0, maxAhead = 0;
        GC.Collect();
        long baseline = GC.GetTotalMemory(forceFullCollection: true), peak = 0;
        string value = "";
        while (cursor.MoveNext())
        {
            getter(ref value);
            Assert.AreEqual(3, value.Length);
            consumed++;
            maxAhead = Math.Max(maxAhead, Interlocked.Read(ref pulled) - consumed);
            if (consumed % 2000 == 0) peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - baseline);
        }
        Console.WriteLine($"live heap growth peak: {peak} bytes; max rows read ahead: {maxAhead}");
        Assert.AreEqual(rows, consumed);
        Assert.AreEqual(rows, Interlocked.Read(ref pulled));
        // Never more than one micro-batch read ahead of the consumer.
        Assert.IsTrue(maxAhead < batch, $"read {maxAhead} rows ahead");
        // Live memory stays far below what holding 10,000 rows of outputs would need in the worst case; it does not grow with rows.
        Assert.IsTrue(peak < 4 << 20, $"live heap grew by {peak} bytes");
    }

    [TestMethod]
    public void ReadingOnlyPassThroughColumnsDoesNotGenerate()
    {
        var chain = TinyModels.WithOptions(new TextGenerationOptions { MaxNewTokens = 1000 });
        var ml = new MLContext(0);
        var output = chain.Transform(ml.Data.LoadFromEnumerable(Enumerable.Range(0, 500).Select(_ => new TextRow { Text = "ROMEO:" }).ToList()));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.AreEqual(500, output.GetColumn<string>("Text").Count());
        Assert.IsTrue(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}: generation ran although 'Generated' was not requested");
    }
}
