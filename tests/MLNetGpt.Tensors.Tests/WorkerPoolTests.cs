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

    private sealed class BodyHolder { public SharedBody Body; }

    private static BodyHolder? s_holder;
    private static int s_cleared;

    // Chunk 0 (the calling thread) overwrites the caller's instance of the body, as a compacting collection would when it
    // moves the object holding it and reuses the space; chunk 1 waits for that, then reads its fields.
    private unsafe struct SharedBody : IParallelBody
    {
        public int* Hits;
        public void Execute(int start, int end, int worker)
        {
            if (worker == 0) { s_holder!.Body.Hits = null; Volatile.Write(ref s_cleared, 1); }
            else { var spin = new SpinWait(); while (Volatile.Read(ref s_cleared) == 0) spin.SpinOnce(); }
            for (int i = start; i < end; i++) Interlocked.Increment(ref Hits[i]);
        }
    }

    [TestMethod]
    public unsafe void WorkersDoNotReadTheCallersInstanceOfTheBody()
    {
        // A ref into the GC heap (a class field, a lambda's closure) is a valid argument, and a collection may move it while
        // workers run: they must work on a copy that cannot move (seen once in CI: a NullReferenceException in a worker).
        using var pool = WorkerPool.Create(2);
        var hits = new int[256];
        fixed (int* h = hits)
        {
            s_holder = new BodyHolder { Body = new SharedBody { Hits = h } };
            s_cleared = 0;
            pool.For(256, ref s_holder.Body);
        }
        CollectionAssert.AreEqual(Enumerable.Repeat(1, 256).ToArray(), hits);
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
