// Measures allocation on the calling thread AND on every worker of a pool (process-wide counters are polluted by tests
// running in parallel): each worker reads its own GC.GetAllocatedBytesForCurrentThread inside a probe job.
// A window can catch a one-time runtime allocation that is not the code's (about 8 KB, seen once in ~10 runs: tiered
// compilation promotes methods ~100 ms after warm-up, whenever that falls), so Check measures up to three windows and
// fails only when every one allocated: an allocation per call shows up in all of them.
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

    /// <summary>Runs <paramref name="workload"/> in up to three windows; asserts that at least one allocated nothing.</summary>
    public static void AssertNoAllocation(WorkerPool pool, string what, Action workload)
    {
        string last = "";
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var probe = new AllocationProbe(pool);
            workload();
            last = probe.Allocations();
            if (last.Length == 0) return;
        }
        Assert.Fail($"bytes allocated by {what} in each of three windows; the last: {last}");
    }

    // "" when nothing was allocated since the probe was made, else who allocated how much
    private string Allocations()
    {
        long caller = GC.GetAllocatedBytesForCurrentThread() - _callerBefore;
        var after = Read(_pool);
        var parts = new List<string>();
        if (caller != 0) parts.Add($"calling thread {caller}");
        for (int w = 1; w < after.Length; w++)
            if (after[w] != _before[w]) parts.Add($"worker {w} {after[w] - _before[w]}");
        return string.Join(", ", parts);
    }
}
