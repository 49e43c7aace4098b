// Measures allocation on the calling thread AND on every worker of a pool (process-wide counters are polluted by tests
// running in parallel): each worker reads its own GC.GetAllocatedBytesForCurrentThread inside a probe job.
// A window can catch a one-time runtime allocation that is not the code's (about 8 KB: tiered compilation promotes methods
// ~100 ms after warm-up, whenever that falls; on a loaded 2-core CI machine one such burst once spanned three back-to-back
// windows). So AssertNoAllocation measures up to eight windows, 200 ms apart so that the runtime's background work settles
// between them, and fails only when every one allocated: an allocation per call shows up in all of them.
// Linked into MLNetGpt.Models.Tests as well (no pool there: the calling thread only).
namespace MLNetGpt.Tensors.Tests;

internal sealed unsafe class AllocationProbe
{
    private const int Windows = 8;
    private readonly WorkerPool? _pool;
    private readonly long[] _before;
    private readonly long _callerBefore;

    private struct ReadCounters : IParallelBody
    {
        public long* Bytes;
        public void Execute(int start, int end, int worker) => Bytes[worker] = GC.GetAllocatedBytesForCurrentThread();
    }

    private AllocationProbe(WorkerPool? pool)
    {
        _pool = pool;
        _before = Read(pool);
        _callerBefore = GC.GetAllocatedBytesForCurrentThread();
    }

    private static long[] Read(WorkerPool? pool)
    {
        if (pool is null) return [];
        var bytes = new long[pool.ThreadCount];
        fixed (long* b = bytes)
        {
            var body = new ReadCounters { Bytes = b };
            pool.For(pool.ThreadCount, ref body); // one item per thread: every worker reports
        }
        return bytes;
    }

    /// <summary>
    /// Runs <paramref name="workload"/> in up to eight windows; asserts that at least one allocated nothing on the calling
    /// thread or on any of <paramref name="pool"/>'s workers (null: the calling thread only).
    /// </summary>
    public static void AssertNoAllocation(WorkerPool? pool, string what, Action workload)
    {
        var seen = new List<string>(Windows);
        for (int attempt = 0; attempt < Windows; attempt++)
        {
            if (attempt > 0) Thread.Sleep(200);
            var probe = new AllocationProbe(pool);
            workload();
            string allocations = probe.Allocations();
            if (allocations.Length == 0) return;
            seen.Add(allocations);
        }
        Assert.Fail($"bytes allocated by {what} in each of {Windows} windows: {string.Join("; ", seen)}");
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
