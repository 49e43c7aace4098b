// The worker pool: every item is visited exactly once, chunks are static and contiguous, errors surface, no allocation per call.
namespace MLNetGpt.Tensors.Tests;

[TestClass]
public sealed class WorkerPoolTests
{
    private unsafe struct MarkBody : IParallelBody
    {
        public int* Hits;
        public int* Owner;
        public void Execute(int start, int end, int worker)
        {
            for (int i = start; i < end; i++) { Interlocked.Increment(ref Hits[i]); Owner[i] = worker; }
        }
    }

    private struct ThrowBody : IParallelBody
    {
        public void Execute(int start, int end, int worker)
        {
            if (worker == 1) throw new InvalidOperationException("boom");
        }
    }

    [TestMethod]
    [DataRow(1, 0)] [DataRow(1, 5)] [DataRow(2, 1)] [DataRow(2, 7)] [DataRow(3, 2)] [DataRow(3, 1000)] [DataRow(4, 257)]
    public unsafe void EveryItemOnceInStaticContiguousChunks(int threads, int count)
    {
        using var pool = WorkerPool.Create(threads);
        var hits = new int[count + 1]; var owner = new int[count + 1];
        for (int rep = 0; rep < 20; rep++)
        {
            Array.Clear(hits);
            fixed (int* h = hits, o = owner)
            {
                var body = new MarkBody { Hits = h, Owner = o };
                pool.For(count, ref body);
            }
            for (int i = 0; i < count; i++) Assert.AreEqual(1, hits[i], $"item {i}");
            int parts = Math.Min(threads, count);
            for (int p = 0; p < parts; p++)
            {
                var (s, e) = WorkerPool.Partition(count, parts, p);
                for (int i = s; i < e; i++) Assert.AreEqual(p, owner[i], $"item {i} belongs to chunk {p}");
            }
        }
    }

    [TestMethod]
    public void ChunkErrorsAreRethrown()
    {
        using var pool = WorkerPool.Create(2);
        var body = new ThrowBody();
        var ex = Assert.Throws<AggregateException>(() => pool.For(10, ref body));
        Assert.IsInstanceOfType<InvalidOperationException>(ex.InnerException);
        var ok = new MarkBody();
        pool.For(0, ref ok); // still usable
    }

    [TestMethod]
    public unsafe void NoAllocationPerCall()
    {
        using var pool = WorkerPool.Create(2);
        var hits = new int[1000]; var owner = new int[1000];
        fixed (int* h = hits, o = owner)
        {
            var body = new MarkBody { Hits = h, Owner = o };
            for (int i = 0; i < 100; i++) { pool.For(1000, ref body); if (i % 50 == 0) Thread.Sleep(2); }
            var copy = body; // a lambda cannot capture the ref-like fixed pointers' scope; the body holds them
            AllocationProbe.AssertNoAllocation(pool, "2000 parallel calls", () =>
            {
                for (int i = 0; i < 2000; i++)
                {
                    pool.For(1000, ref copy);
                    if (i % 500 == 0) Thread.Sleep(2); // let the worker fall asleep and wake it again
                }
            });
        }
    }

    [TestMethod]
    public void BadThreadCountThrows()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => WorkerPool.Create(-1));
        Assert.AreEqual(Environment.ProcessorCount, WorkerPool.Create(0).ThreadCount);
        Assert.AreSame(WorkerPool.Shared(3), WorkerPool.Shared(3));
    }
}
