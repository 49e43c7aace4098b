// Pinned, 64-byte-aligned float scratch that only grows: per-worker regions plus one shared region.
// Kernels size it on the calling thread before a parallel job, so after warm-up nothing is allocated.
namespace MLNetGpt.Tensors;

internal sealed unsafe class Scratch
{
    private float[] _perWorker = [];
    private float* _perWorkerBase;
    private int _stride;
    private float[] _shared = [];
    private float* _sharedBase;
    private double[] _doubles = [];
    private float[] _zeros = [];

    public Scratch(int threads) => Threads = threads;

    public int Threads { get; }

    /// <summary>Makes sure every worker has at least <paramref name="floats"/> floats; returns nothing, use <see cref="Worker"/>.</summary>
    public void EnsurePerWorker(int floats)
    {
        int stride = (floats + 15) & ~15;
        if (stride <= _stride) return;
        _perWorker = GC.AllocateUninitializedArray<float>(stride * Threads + 16, pinned: true);
        _perWorkerBase = Align(_perWorker);
        _stride = stride;
    }

    /// <summary>Worker <paramref name="worker"/>'s region (valid after <see cref="EnsurePerWorker"/>).</summary>
    public float* Worker(int worker) => _perWorkerBase + (long)worker * _stride;

    /// <summary>A shared region of at least <paramref name="floats"/> floats.</summary>
    public float* Shared(int floats)
    {
        if (_shared.Length < floats + 16)
        {
            _shared = GC.AllocateUninitializedArray<float>(floats + 16, pinned: true);
            _sharedBase = Align(_shared);
        }
        return _sharedBase;
    }

    /// <summary>At least <paramref name="count"/> zeros (pinned, never written).</summary>
    public float* Zeros(int count)
    {
        if (_zeros.Length < count) _zeros = GC.AllocateArray<float>(count, pinned: true);
        fixed (float* p = _zeros) return p;
    }

    /// <summary>A shared region of at least <paramref name="count"/> doubles (pinned).</summary>
    public double* SharedDoubles(int count)
    {
        if (_doubles.Length < count) _doubles = GC.AllocateUninitializedArray<double>(count, pinned: true);
        fixed (double* p = _doubles) return p;
    }

    private static float* Align(float[] array)
    {
        fixed (float* p = array) // pinned array: the address is stable
        {
            nint addr = (nint)p;
            return (float*)((addr + 63) & ~(nint)63);
        }
    }
}
