// Maps the host spans that IComputeBackend passes to device memory: a span inside an attached host array becomes a view of
// that array's device mirror (no copy); any other span is staged, copied in before the kernels and, for outputs, back after.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;

namespace MLNetGpt.Tensors.Cuda;

/// <summary>
/// Device mirrors of attached host arrays, found by address, and growable staging buffers for everything else.
/// The host arrays need not be pinned: a span is located by its byte offset from each attached array's first element,
/// computed from two managed references within one call, which the GC moves together. Mirrors are held through weak
/// references, so an arena that is dropped without <see cref="Detach"/> frees its device memory at the next attach.
/// Not thread-safe: one call at a time, as the backend.
/// </summary>
internal sealed class DeviceMemory : IDisposable
{
    private readonly Accelerator _accelerator;
    private readonly List<Mirror> _mirrors = [];
    private readonly List<MemoryBuffer1D<float, Stride1D.Dense>?> _stage = [];
    private readonly List<MemoryBuffer1D<int, Stride1D.Dense>?> _intStage = [];
    private int _stageUsed, _intStageUsed;
    private long _transferred;

    private sealed class Mirror(float[] host, MemoryBuffer1D<float, Stride1D.Dense> device)
    {
        public readonly WeakReference<float[]> Host = new(host);
        public readonly MemoryBuffer1D<float, Stride1D.Dense> Device = device;
    }

    public DeviceMemory(Accelerator accelerator) => _accelerator = accelerator;

    /// <summary>Bytes of device memory held: mirrors, staging and scratch buffers (for memory reports).</summary>
    public long AllocatedBytes
    {
        get
        {
            long n = 0;
            foreach (var m in _mirrors) n += m.Device.LengthInBytes;
            foreach (var b in _stage) n += b?.LengthInBytes ?? 0;
            foreach (var b in _intStage) n += b?.LengthInBytes ?? 0;
            return n;
        }
    }

    /// <summary>Bytes copied between host and device so far, either way (tests check what a decoding step moves).</summary>
    public long TransferredBytes => _transferred;

    /// <summary>Counts a copy made outside this class (the backend's own reads).</summary>
    public void CountTransfer(long bytes) => _transferred += bytes;

    /// <summary>Number of attached arrays still alive (tests check that detach and collection free them).</summary>
    public int MirrorCount
    {
        get
        {
            Prune();
            return _mirrors.Count;
        }
    }

    public void Attach(float[] host)
    {
        ArgumentNullException.ThrowIfNull(host);
        Prune();
        foreach (var m in _mirrors)
            if (m.Host.TryGetTarget(out var h) && ReferenceEquals(h, host)) return;
        if (host.Length == 0) return;
        var device = _accelerator.Allocate1D<float>(host.Length);
        device.View.AsContiguous().CopyFromCPU(new ReadOnlySpan<float>(host));
        _transferred += (long)host.Length * sizeof(float);
        _mirrors.Add(new Mirror(host, device));
    }

    public void Detach(float[] host)
    {
        ArgumentNullException.ThrowIfNull(host);
        for (int i = 0; i < _mirrors.Count; i++)
        {
            if (_mirrors[i].Host.TryGetTarget(out var h) && ReferenceEquals(h, host))
            {
                _accelerator.Synchronize();
                _mirrors[i].Device.Dispose();
                _mirrors.RemoveAt(i);
                return;
            }
        }
    }

    private void Prune()
    {
        for (int i = _mirrors.Count - 1; i >= 0; i--)
        {
            if (_mirrors[i].Host.TryGetTarget(out _)) continue;
            _accelerator.Synchronize();
            _mirrors[i].Device.Dispose();
            _mirrors.RemoveAt(i);
        }
    }

    /// <summary>The device view of <paramref name="span"/> when it lies inside an attached array.</summary>
    public bool TryFind(ReadOnlySpan<float> span, out ArrayView<float> view)
    {
        if (!span.IsEmpty)
        {
            ref float start = ref MemoryMarshal.GetReference(span);
            for (int i = 0; i < _mirrors.Count; i++)
            {
                if (!_mirrors[i].Host.TryGetTarget(out var host)) continue;
                nint bytes = Unsafe.ByteOffset(ref MemoryMarshal.GetArrayDataReference(host), ref start);
                if (bytes < 0 || bytes % sizeof(float) != 0) continue;
                long offset = bytes / sizeof(float);
                if (offset + span.Length > host.Length) continue;
                view = _mirrors[i].Device.View.AsContiguous().SubView(offset, span.Length);
                return true;
            }
        }
        view = default;
        return false;
    }

    /// <summary>Starts a backend call: staging buffers are handed out again from the first.</summary>
    public void Begin()
    {
        _stageUsed = 0;
        _intStageUsed = 0;
    }

    /// <summary>A device view of an input: the mirror, or a staging buffer filled from the host.</summary>
    public ArrayView<float> In(ReadOnlySpan<float> span)
    {
        if (span.IsEmpty) return Placeholder();
        if (TryFind(span, out var view)) return view;
        view = Stage(span.Length);
        view.CopyFromCPU(span);
        _transferred += (long)span.Length * sizeof(float);
        return view;
    }

    /// <summary>
    /// A device view of an output: the mirror, or a staging buffer (filled from the host first when the kernel adds into it)
    /// that <see cref="Outputs.Download"/> copies back.
    /// </summary>
    public ArrayView<float> Out(Span<float> span, ref Outputs outputs, bool accumulate)
    {
        if (span.IsEmpty) return Placeholder();
        if (TryFind(span, out var view)) return view;
        view = Stage(span.Length);
        if (accumulate)
        {
            view.CopyFromCPU((ReadOnlySpan<float>)span);
            _transferred += (long)span.Length * sizeof(float);
        }
        outputs.Add(span, view, this);
        return view;
    }

    /// <summary>Integer inputs (token ids, targets, positions) are always staged: they are small and live on the host.</summary>
    public ArrayView<int> In(ReadOnlySpan<int> span)
    {
        if (span.IsEmpty) return IntStage(1);
        var view = IntStage(span.Length);
        view.CopyFromCPU(span);
        _transferred += (long)span.Length * sizeof(int);
        return view;
    }

    /// <summary>A one-element stand-in for an absent (empty) optional buffer; kernels are told not to read it.</summary>
    private ArrayView<float> Placeholder() => Stage(1);

    /// <summary>A device-only scratch buffer of at least <paramref name="length"/> floats for this call (contents undefined).</summary>
    public ArrayView<float> Scratch(long length) => Stage(length);

    private ArrayView<float> Stage(long length)
    {
        int slot = _stageUsed++;
        if (slot == _stage.Count) _stage.Add(null);
        var buffer = _stage[slot];
        if (buffer is null || buffer.Length < length)
        {
            if (buffer is not null) { _accelerator.Synchronize(); buffer.Dispose(); } // earlier kernels may still read it
            buffer = _accelerator.Allocate1D<float>(Math.Max(length, (buffer?.Length ?? 0) * 2));
            _stage[slot] = buffer;
        }
        return buffer.View.AsContiguous().SubView(0, length);
    }

    private ArrayView<int> IntStage(long length)
    {
        int slot = _intStageUsed++;
        if (slot == _intStage.Count) _intStage.Add(null);
        var buffer = _intStage[slot];
        if (buffer is null || buffer.Length < length)
        {
            if (buffer is not null) { _accelerator.Synchronize(); buffer.Dispose(); } // earlier kernels may still read it
            buffer = _accelerator.Allocate1D<int>(Math.Max(length, (buffer?.Length ?? 0) * 2));
            _intStage[slot] = buffer;
        }
        return buffer.View.AsContiguous().SubView(0, length);
    }

    /// <summary>Copies <paramref name="span"/> into its mirror (no-op outside attached arrays).</summary>
    public void CopyToDevice(ReadOnlySpan<float> span)
    {
        if (!TryFind(span, out var view)) return;
        view.CopyFromCPU(span);
        _transferred += (long)span.Length * sizeof(float);
    }

    /// <summary>Copies the mirror into <paramref name="span"/> (no-op outside attached arrays).</summary>
    public void CopyToHost(Span<float> span)
    {
        if (!TryFind(span, out var view)) return;
        view.CopyToCPU(span);
        _transferred += (long)span.Length * sizeof(float);
    }

    public void Dispose()
    {
        foreach (var m in _mirrors) m.Device.Dispose();
        _mirrors.Clear();
        foreach (var b in _stage) b?.Dispose();
        foreach (var b in _intStage) b?.Dispose();
        _stage.Clear();
        _intStage.Clear();
    }

    /// <summary>The staged outputs of one call (at most three), copied back to the host by <see cref="Download"/>.</summary>
    public ref struct Outputs
    {
        private Span<float> _h0, _h1, _h2;
        private ArrayView<float> _d0, _d1, _d2;
        private int _count;
        private DeviceMemory? _memory;

        public void Add(Span<float> host, ArrayView<float> device, DeviceMemory memory)
        {
            _memory = memory;
            switch (_count++)
            {
                case 0: _h0 = host; _d0 = device; break;
                case 1: _h1 = host; _d1 = device; break;
                case 2: _h2 = host; _d2 = device; break;
                default: throw new InvalidOperationException("A backend call stages at most three outputs.");
            }
        }

        /// <summary>Waits for the kernels (the copies run on the same stream) and copies each staged output back.</summary>
        public readonly void Download()
        {
            if (_count > 0) _d0.CopyToCPU(_h0);
            if (_count > 1) _d1.CopyToCPU(_h1);
            if (_count > 2) _d2.CopyToCPU(_h2);
            _memory?.CountTransfer(((long)_h0.Length + _h1.Length + _h2.Length) * sizeof(float));
        }
    }
}
