// Measures allocation on the calling thread AND on every worker of a pool (process-wide counters are polluted by tests
// running in parallel): each worker reads its own GC.GetAllocatedBytesForCurrentThread inside a probe job.
namespace MLNetGpt.Tensors.Tests;

internal sealed unsafe class AllocationProbe
{
    private readonly WorkerPool _pool;
    private readonly long[] _before;
    private readonly long _callerBefore;

    private struct ReadCounters : IParallelBody
    {
        public long* Bytes;
        public void Execute(int start, int end, int worker) => Bytes[worker] = GC.GetAllocatedBytesForCurrentThread();
    }

    private AllocationProbe(WorkerPool pool)
    {
        _pool = pool;
        _before = Read(pool);
        _callerBefore = GC.GetAllocatedBytesForCurrentThread();
    }

    public static AllocationProbe Create(WorkerPool pool) => new(pool);

    private static long[] Read(WorkerPool pool)
    {
        var bytes = new long[pool.ThreadCount];
        fixed (long* b = bytes)
        {
            var body = new ReadCounters { Bytes = b };
            pool.For(pool.ThreadCount, ref body); // one item per thread: every worker reports
        }
        return bytes;
    }

    public void AssertNoAllocation(string what)
    {
        long caller = GC.GetAllocatedBytesForCurrentThread() - _callerBefore;
        var after = Read(_pool);
        Assert.AreEqual(0L, caller, $"bytes allocated on the calling thread by {what}");
        for (int w = 1; w < after.Length; w++)
            Assert.AreEqual(0L, after[w] - _before[w], $"bytes allocated on worker {w} by {what}");
    }
}
