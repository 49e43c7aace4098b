// The GPU backend: IComputeBackend on an NVIDIA GPU through ILGPU (kernels written in C#, JIT-compiled to PTX by the driver)
// and cuBLAS (matrix products, TF32 tensor cores), as llm.c's CUDA trainer beside its CPU one. The same kernels run on
// ILGPU's CPU accelerator, where a plain ILGPU GEMM stands in for cuBLAS: that is how CI tests every kernel without a GPU.
// Memory: see IComputeBackend's device-memory members and DeviceMemory. Every method validates shapes with the checks every
// backend shares (KernelChecks), slices each span to the elements the operation touches, maps it to the device, and launches.
// Size legend: B batch, T time, C channels, OC output channels, NH heads, hs head size, V vocab, N element count.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace MLNetGpt.Tensors.Cuda;

/// <summary>
/// <see cref="IComputeBackend"/> on a CUDA GPU (<see cref="Create"/>) or on ILGPU's CPU accelerator
/// (<see cref="CreateOnCpuAccelerator"/>, for tests). Arrays given to <see cref="Attach"/> live on the device between
/// calls; other spans are copied in and out on each call. Use one instance from one thread at a time; dispose it to free
/// the device memory.
/// </summary>
public sealed class CudaBackend : IComputeBackend, IDisposable
{
    /// <summary>The driver library names tried, in order.</summary>
    public static readonly string[] DriverLibraryNames = OperatingSystem.IsWindows() ? ["nvcuda.dll"] : ["libcuda.so.1", "libcuda.so"];

    private const int RowsPerChunk = 64; // column sums: rows per partial sum
    private const int SumOfSquaresGroups = 256;

    [ThreadStatic] private static Accelerator? t_bound;

    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly DeviceMemory _memory;
    private readonly IGemm _gemm;
    private readonly int _group; // threads per group of the row kernels (a power of two)
    private readonly MemoryBuffer1D<double, Stride1D.Dense> _partials;
    private readonly double[] _hostPartials = new double[SumOfSquaresGroups];
    private long[] _sortKeys = [];
    private int[] _uniqueTokens = [], _bucketStarts = [], _bucketRows = [];

    private readonly Action<Index1D, ArrayView<float>, float> _fill, _scale;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>> _copy, _relu;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> _residual, _residualBackward, _reluBackward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, float> _gelu;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, float> _geluBackward, _geluWithDerivative;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>> _multiply;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, DropoutArgs> _dropout, _dropoutBackward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWArgs> _adamw;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWArgs> _adamwScaled;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<double>, int, float> _clipScale;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int> _encoder;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, int> _encoderWpe;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int> _encoderWte;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int> _addBias;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, int> _columnPartial;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int> _columnFinal;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float> _lnForward;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> _lnBackwardInput;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> _lnBackwardParams;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> _permuteQkv;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, int> _splitHeads, _mergeHeads;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> _mergeQkvGradients;
    private readonly Action<KernelConfig, ArrayView<float>, int, float> _attSoftmax;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, float> _attSoftmaxBackward;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int> _attCached;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int> _storeKeysValues;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int> _ceForward;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int> _ceBackward;
    private readonly Action<KernelConfig, ArrayView<double>, ArrayView<float>, int> _sumOfSquares;

    private CudaBackend(Context context, Accelerator accelerator, Func<Accelerator, IGemm> gemm, string name)
    {
        _context = context;
        _accelerator = accelerator;
        Name = name;
        Bind();
        try
        {
            _memory = new DeviceMemory(accelerator);
            _gemm = gemm(accelerator);
            int g = 1;
            while (g * 2 <= Math.Min(Kernels.MaxGroup, accelerator.MaxNumThreadsPerGroup)) g *= 2;
            _group = g;
            _partials = accelerator.Allocate1D<double>(SumOfSquaresGroups);

            var a = accelerator;
            _fill = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, float>(Kernels.Fill);
            _scale = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, float>(Kernels.Scale);
            _copy = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(Kernels.Copy);
            _relu = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(Kernels.Relu);
            _residual = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(Kernels.Residual);
            _residualBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(Kernels.ResidualBackward);
            _reluBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(Kernels.ReluBackward);
            _gelu = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, float>(Kernels.Gelu);
            _geluBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>(Kernels.GeluBackward);
            _geluWithDerivative = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>(Kernels.GeluWithDerivative);
            _multiply = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(Kernels.Multiply);
            _dropout = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, DropoutArgs>(Kernels.DropoutForward);
            _dropoutBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, DropoutArgs>(Kernels.DropoutBackward);
            _adamw = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWArgs>(Kernels.AdamW);
            _adamwScaled = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWArgs>(Kernels.AdamWScaled);
            _clipScale = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<double>, int, float>(Kernels.ClipScale);
            _encoder = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int>(Kernels.EncoderForward);
            _encoderWpe = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>(Kernels.EncoderBackwardWpe);
            _encoderWte = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int>(Kernels.EncoderBackwardWte);
            _addBias = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(Kernels.AddBias);
            _columnPartial = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>(Kernels.ColumnSumPartial);
            _columnFinal = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(Kernels.ColumnSumFinal);
            _lnForward = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float>(Kernels.LayerNormForward);
            _lnBackwardInput = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(Kernels.LayerNormBackwardInput);
            _lnBackwardParams = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(Kernels.LayerNormBackwardParamsPartial);
            _permuteQkv = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(Kernels.PermuteQkv);
            _splitHeads = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>(Kernels.SplitHeads);
            _mergeHeads = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>(Kernels.MergeHeads);
            _mergeQkvGradients = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(Kernels.MergeQkvGradients);
            _attSoftmax = a.LoadStreamKernel<ArrayView<float>, int, float>(Kernels.AttentionSoftmax);
            _attSoftmaxBackward = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, float>(Kernels.AttentionSoftmaxBackward);
            _attCached = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int>(Kernels.AttentionCached);
            _storeKeysValues = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int>(Kernels.StoreKeysValues);
            _ceForward = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int>(Kernels.SoftmaxCrossEntropyForward);
            _ceBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int>(Kernels.SoftmaxCrossEntropyBackward);
            _sumOfSquares = a.LoadStreamKernel<ArrayView<double>, ArrayView<float>, int>(Kernels.SumOfSquaresPartial);
        }
        catch
        {
            _gemm?.Dispose();
            _memory?.Dispose();
            accelerator.Dispose();
            context.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The backend on CUDA device <paramref name="deviceId"/>. <paramref name="tf32"/> (default true) lets cuBLAS use TF32
    /// tensor cores for the matrix products, as PyTorch's <c>allow_tf32</c>; false keeps them in exact FP32.
    /// </summary>
    /// <exception cref="GpuUnavailableException">
    /// No NVIDIA driver (libcuda), no CUDA device with that id, or no cuBLAS (CUDA 12 or 13); the message names what was searched.
    /// </exception>
    public static CudaBackend Create(int deviceId = 0, bool tf32 = true)
    {
        if (deviceId < 0) throw new ArgumentOutOfRangeException(nameof(deviceId), deviceId, "CUDA device ids start at 0.");
        EnsureDriver();
        // Math functions (exp, tanh, log) in the kernels: ILGPU compiles them from NVIDIA's libdevice when it finds a CUDA
        // toolkit (accurate to an ulp or two, and fast); otherwise from ILGPU.Algorithms' own software versions (about 1e-6
        // relative, slower). Try libdevice first and fall back to building without it if anything about it fails;
        // MLNETGPT_LIBDEVICE=0 skips it.
        if (Environment.GetEnvironmentVariable("MLNETGPT_LIBDEVICE") != "0")
        {
            try
            {
                return CreateCuda(deviceId, tf32, libDevice: true);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // fall through: the same without libdevice, which reports its own errors (a missing device fails again there)
            }
        }
        return CreateCuda(deviceId, tf32, libDevice: false);
    }

    /// <summary>
    /// True when the kernels were built with ILGPU's LibDevice option (math functions from the CUDA toolkit's libdevice);
    /// false on the CPU accelerator and where that failed (ILGPU.Algorithms' software math then).
    /// </summary>
    public bool UsesLibDevice { get; private init; }

    private static CudaBackend CreateCuda(int deviceId, bool tf32, bool libDevice)
    {
        Context context;
        try
        {
            context = Context.Create(b =>
            {
                b.Cuda().EnableAlgorithms().Optimize(OptimizationLevel.O2);
                if (libDevice) b.LibDevice(); // throws when no CUDA toolkit is found: then the fallback runs
            });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new GpuUnavailableException($"The CUDA driver was found but could not be initialised: {e.Message}", e);
        }
        var devices = new List<CudaDevice>();
        foreach (var d in context.GetCudaDevices()) devices.Add(d);
        if (deviceId >= devices.Count)
        {
            context.Dispose();
            throw new GpuUnavailableException(devices.Count == 0
                ? "The NVIDIA driver is installed but reports no CUDA device."
                : $"CUDA device {deviceId} does not exist: this machine has {devices.Count} ({DeviceList(devices)}).");
        }
        Accelerator accelerator;
        try
        {
            accelerator = devices[deviceId].CreateAccelerator(context);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            context.Dispose();
            throw new GpuUnavailableException($"CUDA device {deviceId} ({devices[deviceId].Name}) could not be opened: {e.Message}", e);
        }
        return new CudaBackend(context, accelerator, acc => new CublasGemm((CudaAccelerator)acc, tf32), $"cuda:{deviceId}") { UsesLibDevice = libDevice };
    }

    /// <summary>
    /// The backend on ILGPU's CPU accelerator: the same kernels, run as .NET code on the CPU, with an ILGPU GEMM in place of
    /// cuBLAS and "device" memory that is separate host memory. For tests (slow: it emulates GPU thread groups).
    /// </summary>
    public static CudaBackend CreateOnCpuAccelerator()
    {
        // 2 threads a warp, 4 warps a group: 8-thread groups, enough for the group reductions to take several rounds; one
        // multiprocessor, because every emulated thread is an OS thread and each launch wakes them all (small tests are
        // dominated by launches, not arithmetic).
        var device = new CPUDevice(2, 4, 1);
        var context = Context.Create(b => b.CPU(device).EnableAlgorithms());
        var accelerator = context.GetCPUDevice(0).CreateAccelerator(context);
        return new CudaBackend(context, accelerator, acc => new KernelGemm(acc), "cuda-cpu-accelerator");
    }

    private static string DeviceList(IReadOnlyList<CudaDevice> devices)
    {
        var names = new List<string>();
        for (int i = 0; i < devices.Count; i++) names.Add($"cuda:{i} {devices[i].Name}");
        return string.Join(", ", names);
    }

    /// <summary>Throws <see cref="GpuUnavailableException"/> naming the libraries searched when the NVIDIA driver library is absent.</summary>
    public static void EnsureDriver()
    {
        foreach (var name in DriverLibraryNames)
        {
            if (NativeLibrary.TryLoad(name, out var h))
            {
                NativeLibrary.Free(h);
                InstallDriverResolver();
                return;
            }
        }
        throw new GpuUnavailableException(
            $"No NVIDIA driver: the CUDA driver library ({string.Join(" or ", DriverLibraryNames)}) was not found on the library path. " +
            "Install the NVIDIA driver (and CUDA 12 or 13's cuBLAS), or run on the CPU (device 'cpu').");
    }

    private static int s_resolverInstalled;

    // ILGPU imports the driver as "cuda", which the loader finds only as the unversioned libcuda.so; drivers and container
    // runtimes often provide only libcuda.so.1 (what PyTorch loads). When the loader's own probing fails, hand it that.
    private static void InstallDriverResolver()
    {
        if (OperatingSystem.IsWindows() || Interlocked.Exchange(ref s_resolverInstalled, 1) == 1) return;
        var ilgpu = typeof(Context).Assembly;
        System.Runtime.Loader.AssemblyLoadContext.Default.ResolvingUnmanagedDll += (assembly, name) =>
            assembly == ilgpu && name is "cuda" or "nvcuda" or "libcuda" or "libcuda.so" && NativeLibrary.TryLoad("libcuda.so.1", out var h)
                ? h : 0;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int ThreadCount => 1;

    /// <summary>The accelerator's name (the GPU's, or "CPUAccelerator").</summary>
    public string DeviceName => _accelerator.Name;

    /// <summary>The accelerator's memory in bytes.</summary>
    public long DeviceMemoryBytes => _accelerator.MemorySize;

    /// <summary>Device memory this backend holds now: attached arrays, staging and scratch buffers.</summary>
    public long AllocatedBytes => _memory.AllocatedBytes + _partials.LengthInBytes;

    /// <summary>What runs the matrix products (cuBLAS version and math mode, or the ILGPU kernel).</summary>
    public string MatMulEngine => _gemm.Description;

    /// <summary>
    /// Bytes copied between host and device by this backend so far, either way: staged spans, attached arrays' uploads and
    /// downloads, and its own reads.
    /// </summary>
    public long TransferredBytes => _memory.TransferredBytes;

    /// <summary>Number of attached host arrays still alive (those dropped without Detach are freed at the next Attach).</summary>
    public int AttachedCount => _memory.MirrorCount;

    /// <summary>Waits until every kernel launched so far has finished (for timing).</summary>
    public void Synchronize()
    {
        Bind();
        _accelerator.Synchronize();
    }

    /// <summary>Frees the device memory and the accelerator.</summary>
    public void Dispose()
    {
        Bind();
        _accelerator.Synchronize();
        _gemm.Dispose();
        _memory.Dispose();
        _partials.Dispose();
        if (t_bound == _accelerator) t_bound = null;
        _accelerator.Dispose();
        _context.Dispose();
    }

    // ILGPU binds an accelerator (its CUDA context) to the thread that created it; another thread must bind it before use.
    private void Bind()
    {
        if (t_bound == _accelerator) return;
        _accelerator.Bind();
        t_bound = _accelerator;
    }

    private void Begin()
    {
        Bind();
        _memory.Begin();
    }

    private KernelConfig Rows(int rows) => new(rows, _group);

    // ---- device memory ----

    /// <inheritdoc/>
    public void Attach(float[] hostArray)
    {
        Bind();
        _memory.Attach(hostArray);
    }

    /// <inheritdoc/>
    public void Detach(float[] hostArray)
    {
        Bind();
        _memory.Detach(hostArray);
    }

    /// <inheritdoc/>
    public void CopyToDevice(ReadOnlySpan<float> hostRange)
    {
        Bind();
        _memory.CopyToDevice(hostRange);
    }

    /// <inheritdoc/>
    public void CopyToHost(Span<float> hostRange)
    {
        Bind();
        _memory.CopyToHost(hostRange);
    }

    /// <inheritdoc/>
    public void Fill(Span<float> x, float value)
    {
        Begin();
        if (_memory.TryFind(x, out var view)) _fill(x.Length, view, value);
        else if (value == 0f) x.Clear();
        else x.Fill(value);
    }

    // ---- matmul ----

    private void Gemm(int m, int n, int k, ArrayView<float> a, int lda, bool transA, ArrayView<float> b, int ldb, bool transB,
        ArrayView<float> c, int ldc, float beta, int batch = 1, long strideA = 0, long strideB = 0, long strideC = 0)
    {
        var g = new GemmArgs
        {
            M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc, TransA = transA ? 1 : 0, TransB = transB ? 1 : 0,
            StrideA = strideA, StrideB = strideB, StrideC = strideC, Alpha = 1f, Beta = beta,
        };
        _gemm.Run(g, a, b, c, batch);
    }

    /// <inheritdoc/>
    public void MatMulForward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int bt, int c, int oc)
    {
        KernelChecks.CheckMatMulForward(output.Length, input.Length, weight.Length, bias.Length, bt, c, oc);
        Forward(output, input, weight, bias, bt, c, oc);
    }

    private void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int bt, int c, int oc)
    {
        if (bt == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var x = _memory.In(input[..(bt * c)]);
        var w = _memory.In(weight[..(oc * c)]);
        var o = _memory.Out(output[..(bt * oc)], ref outs, accumulate: false);
        Gemm(bt, oc, c, x, c, false, w, c, true, o, oc, 0f);           // out = inp · Wᵀ
        if (!bias.IsEmpty) _addBias(bt * oc, o, _memory.In(bias[..oc]), oc);
        outs.Download();
    }

    /// <summary>
    /// The "packed" weight on this backend is the weight itself, copied (the products read it in place, as cuBLAS wants),
    /// so <see cref="MatMulForwardPacked"/> runs exactly <see cref="MatMulForward"/>'s code and gives the same bits.
    /// </summary>
    public void PackMatMulWeight(Span<float> packed, ReadOnlySpan<float> weight, int c, int oc)
    {
        KernelChecks.CheckPackMatMulWeight(packed.Length, weight.Length, c, oc);
        Begin();
        var outs = new DeviceMemory.Outputs();
        int n = oc * c;
        var w = _memory.In(weight[..n]);
        var p = _memory.Out(packed[..n], ref outs, accumulate: false);
        _copy(n, p, w);
        outs.Download();
    }

    /// <inheritdoc/>
    public void MatMulForwardPacked(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> packedWeight, ReadOnlySpan<float> bias, int bt, int c, int oc)
    {
        KernelChecks.CheckMatMulForwardPacked(output.Length, input.Length, packedWeight.Length, bias.Length, bt, c, oc);
        Forward(output, input, packedWeight, bias, bt, c, oc);
    }

    /// <inheritdoc/>
    public void MatMulBackward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput,
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int bt, int c, int oc) =>
        Backward(dinput, [], dweight, dbias, doutput, input, weight, bt, c, oc, assign: false);

    /// <inheritdoc/>
    public void MatMulBackwardAssign(Span<float> dinput, ReadOnlySpan<float> dinputScale, Span<float> dweight, Span<float> dbias,
        ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int bt, int c, int oc) =>
        Backward(dinput, dinputScale, dweight, dbias, doutput, input, weight, bt, c, oc, assign: true);

    // dinp (+)= dout · W (⊙ dinputScale when assigned), dW += doutᵀ · inp, db += column sums of dout.
    private void Backward(Span<float> dinput, ReadOnlySpan<float> dinputScale, Span<float> dweight, Span<float> dbias,
        ReadOnlySpan<float> doutput, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int bt, int c, int oc, bool assign)
    {
        KernelChecks.CheckMatMulBackward(dinput.Length, dweight.Length, dbias.Length, doutput.Length, input.Length, weight.Length, bt, c, oc);
        KernelChecks.CheckMatMulBackwardAssign(dinput.Length, dinputScale.Length, bt, c);
        if (bt == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var d = _memory.In(doutput[..(bt * oc)]);
        var x = _memory.In(input[..(bt * c)]);
        if (!dinput.IsEmpty)
        {
            var w = _memory.In(weight[..(oc * c)]);
            var di = _memory.Out(dinput[..(bt * c)], ref outs, accumulate: !assign);
            Gemm(bt, c, oc, d, oc, false, w, c, false, di, c, assign ? 0f : 1f); // dinp (+)= dout · W
            if (!dinputScale.IsEmpty) _multiply(bt * c, di, _memory.In(dinputScale[..(bt * c)])); // ⊙ the kept derivative
        }
        var dw = _memory.Out(dweight[..(oc * c)], ref outs, accumulate: true);
        Gemm(oc, c, bt, d, oc, true, x, c, false, dw, c, 1f);          // dW += doutᵀ · inp
        if (!dbias.IsEmpty) ColumnSum(_memory.Out(dbias[..oc], ref outs, accumulate: true), d, bt, oc);
        outs.Download();
    }

    /// <summary>dst[cols] += Σ_rows x[rows, cols], through fixed row chunks (deterministic, parallel over chunks and columns).</summary>
    private void ColumnSum(ArrayView<float> dst, ArrayView<float> x, int rows, int cols)
    {
        int chunks = (rows + RowsPerChunk - 1) / RowsPerChunk;
        var partial = _memory.Scratch((long)chunks * cols);
        _columnPartial(chunks * cols, partial, x, rows, cols, RowsPerChunk);
        _columnFinal(cols, dst, partial, chunks, cols);
    }

    // ---- embeddings ----

    /// <inheritdoc/>
    public void EncoderForward(Span<float> output, ReadOnlySpan<int> tokens, ReadOnlySpan<float> wte, ReadOnlySpan<float> wpe, int b, int t, int c)
    {
        KernelChecks.CheckEncoder(output.Length, tokens, wte.Length, wpe.Length, b, t, c);
        int n = b * t * c;
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var tok = _memory.In(tokens[..(b * t)]);
        var te = _memory.In(wte);
        var pe = _memory.In(wpe[..(t * c)]);
        var o = _memory.Out(output[..n], ref outs, accumulate: false);
        _encoder(n, o, tok, te, pe, t, c);
        outs.Download();
    }

    /// <inheritdoc/>
    public void EncoderBackward(Span<float> dwte, Span<float> dwpe, ReadOnlySpan<float> doutput, ReadOnlySpan<int> tokens, int b, int t, int c)
    {
        KernelChecks.CheckEncoder(doutput.Length, tokens, dwte.Length, dwpe.Length, b, t, c, "doutput", "dwte", "dwpe");
        int rows = b * t;
        if (rows == 0) return;
        Begin();
        // Bucket the rows by token on the host (the ids are host data anyway): key = token·2³² + row sorts by token, then row.
        if (_sortKeys.Length < rows)
        {
            _sortKeys = new long[rows];
            _uniqueTokens = new int[rows];
            _bucketStarts = new int[rows + 1];
            _bucketRows = new int[rows];
        }
        var keys = _sortKeys.AsSpan(0, rows);
        for (int i = 0; i < rows; i++) keys[i] = ((long)tokens[i] << 32) | (uint)i;
        keys.Sort();
        int unique = 0;
        for (int i = 0; i < rows; i++)
        {
            int token = (int)(keys[i] >> 32);
            if (i == 0 || token != _uniqueTokens[unique - 1]) { _uniqueTokens[unique] = token; _bucketStarts[unique] = i; unique++; }
            _bucketRows[i] = (int)(keys[i] & 0xFFFF_FFFF);
        }
        _bucketStarts[unique] = rows;

        var outs = new DeviceMemory.Outputs();
        var d = _memory.In(doutput[..(rows * c)]);
        var te = _memory.Out(dwte, ref outs, accumulate: true);
        var pe = _memory.Out(dwpe[..(t * c)], ref outs, accumulate: true);
        _encoderWpe(t * c, pe, d, b, t, c);
        _encoderWte(unique * c, te, d, _memory.In(_uniqueTokens.AsSpan(0, unique)), _memory.In(_bucketStarts.AsSpan(0, unique + 1)),
            _memory.In(_bucketRows.AsSpan(0, rows)), c);
        outs.Download();
    }

    // ---- LayerNorm ----

    /// <inheritdoc/>
    public void LayerNormForward(Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int n, int c)
    {
        KernelChecks.CheckLayerNorm(output.Length, mean.Length, rstd.Length, input.Length, weight.Length, bias.Length, n, c);
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var x = _memory.In(input[..(n * c)]);
        var w = _memory.In(weight[..c]);
        var bb = _memory.In(bias.IsEmpty ? bias : bias[..c]);
        var o = _memory.Out(output[..(n * c)], ref outs, accumulate: false);
        var m = _memory.Out(mean[..n], ref outs, accumulate: false);
        var r = _memory.Out(rstd[..n], ref outs, accumulate: false);
        _lnForward(Rows(n), o, m, r, x, w, bb, bias.IsEmpty ? 0 : 1, c, KernelConstants.LayerNormEpsilon);
        outs.Download();
    }

    /// <inheritdoc/>
    public void LayerNormBackward(Span<float> dinput, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> doutput,
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int n, int c)
    {
        KernelChecks.CheckLayerNormBackward(dinput.Length, dweight.Length, dbias.Length, doutput.Length, input.Length, weight.Length, mean.Length, rstd.Length, n, c);
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var d = _memory.In(doutput[..(n * c)]);
        var x = _memory.In(input[..(n * c)]);
        var w = _memory.In(weight[..c]);
        var m = _memory.In(mean[..n]);
        var r = _memory.In(rstd[..n]);
        var di = _memory.Out(dinput[..(n * c)], ref outs, accumulate: true);
        var dw = _memory.Out(dweight[..c], ref outs, accumulate: true);
        _lnBackwardInput(Rows(n), di, d, x, w, m, r, c);
        int chunks = (n + RowsPerChunk - 1) / RowsPerChunk;
        var partialW = _memory.Scratch((long)chunks * c);
        var partialB = _memory.Scratch((long)chunks * c);
        _lnBackwardParams(chunks * c, partialW, partialB, d, x, m, r, n, c, RowsPerChunk);
        _columnFinal(c, dw, partialW, chunks, c);
        if (!dbias.IsEmpty) _columnFinal(c, _memory.Out(dbias[..c], ref outs, accumulate: true), partialB, chunks, c);
        outs.Download();
    }

    // ---- attention: llm.c's cuBLAS formulation (heads split out, batched products, softmax kernels) ----

    /// <inheritdoc/>
    public void AttentionForward(Span<float> output, Span<float> att, ReadOnlySpan<float> qkv, int b, int t, int c, int nh)
    {
        int hs = KernelChecks.CheckAttention(output.Length, att.Length, qkv.Length, b, t, c, nh);
        int n = b * t * c;
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var qkvView = _memory.In(qkv[..(3 * n)]);
        var o = _memory.Out(output[..n], ref outs, accumulate: false);
        var a = _memory.Out(att[..(b * nh * t * t)], ref outs, accumulate: false);
        var q = _memory.Scratch(n);
        var k = _memory.Scratch(n);
        var v = _memory.Scratch(n);
        var y = _memory.Scratch(n);
        _permuteQkv(n, q, k, v, qkvView, t, c, nh);
        long headStride = (long)t * hs, attStride = (long)t * t;
        Gemm(t, t, hs, q, hs, false, k, hs, true, a, t, 0f, b * nh, headStride, headStride, attStride);      // att = q·kᵀ
        _attSoftmax(Rows(b * nh * t), a, t, 1f / MathF.Sqrt(hs));                                           // causal softmax
        Gemm(t, hs, t, a, t, false, v, hs, false, y, hs, 0f, b * nh, attStride, headStride, headStride);      // y = att·v
        _mergeHeads(n, o, y, t, c, nh);
        outs.Download();
    }

    /// <inheritdoc/>
    public void AttentionBackward(Span<float> dqkv, ReadOnlySpan<float> doutput, ReadOnlySpan<float> qkv, ReadOnlySpan<float> att,
        int b, int t, int c, int nh)
    {
        int hs = KernelChecks.CheckAttention(doutput.Length, att.Length, qkv.Length, b, t, c, nh, "doutput");
        Shapes.Require(dqkv.Length, (long)b * t * 3 * c, $"[{b},{t},{3 * c}]");
        int n = b * t * c;
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var qkvView = _memory.In(qkv[..(3 * n)]);
        var dout = _memory.In(doutput[..n]);
        var a = _memory.In(att[..(b * nh * t * t)]);
        var dqkvView = _memory.Out(dqkv[..(3 * n)], ref outs, accumulate: true);
        var q = _memory.Scratch(n);
        var k = _memory.Scratch(n);
        var v = _memory.Scratch(n);
        var dy = _memory.Scratch(n);
        var dq = _memory.Scratch(n);
        var dk = _memory.Scratch(n);
        var dv = _memory.Scratch(n);
        var datt = _memory.Scratch((long)b * nh * t * t);
        _permuteQkv(n, q, k, v, qkvView, t, c, nh);
        _splitHeads(n, dy, dout, t, c, nh);
        int batch = b * nh;
        long headStride = (long)t * hs, attStride = (long)t * t;
        Gemm(t, t, hs, dy, hs, false, v, hs, true, datt, t, 0f, batch, headStride, headStride, attStride);   // datt = dy·vᵀ
        Gemm(t, hs, t, a, t, true, dy, hs, false, dv, hs, 0f, batch, attStride, headStride, headStride);     // dv = attᵀ·dy
        _attSoftmaxBackward(Rows(batch * t), datt, a, t, 1f / MathF.Sqrt(hs));                             // dpre (scaled)
        Gemm(t, hs, t, datt, t, false, k, hs, false, dq, hs, 0f, batch, attStride, headStride, headStride);  // dq = dpre·k
        Gemm(t, hs, t, datt, t, true, q, hs, false, dk, hs, 0f, batch, attStride, headStride, headStride);   // dk = dpreᵀ·q
        _mergeQkvGradients(n, dqkvView, dq, dk, dv, t, c, nh);
        outs.Download();
    }

    /// <inheritdoc/>
    public void AttentionForwardCached(Span<float> output, ReadOnlySpan<float> q, ReadOnlySpan<float> kCache, ReadOnlySpan<float> vCache,
        ReadOnlySpan<int> pos, int b, int tn, int maxT, int c, int nh)
    {
        KernelChecks.CheckCached(output.Length, q.Length, kCache.Length, vCache.Length, pos, b, tn, maxT, c, nh);
        int n = b * tn * c;
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var qv = _memory.In(q[..n]);
        var kv = _memory.In(kCache[..(b * maxT * c)]);
        var vv = _memory.In(vCache[..(b * maxT * c)]);
        var p = _memory.In(pos[..b]);
        var o = _memory.Out(output[..n], ref outs, accumulate: false);
        var scores = _memory.Scratch((long)b * tn * nh * maxT);
        _attCached(Rows(b * tn * nh), o, qv, kv, vv, p, scores, tn, maxT, c, nh);
        outs.Download();
    }

    /// <inheritdoc/>
    public void StoreKeysValues(Span<float> q, Span<float> kCache, Span<float> vCache, ReadOnlySpan<float> qkv,
        ReadOnlySpan<int> rows, ReadOnlySpan<int> positions, int n, int maxT, int c)
    {
        KernelChecks.CheckStoreKeysValues(q.Length, kCache.Length, vCache.Length, qkv.Length, rows, positions, n, maxT, c);
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var src = _memory.In(qkv[..(n * 3 * c)]);
        var r = _memory.In(rows[..n]);
        var p = _memory.In(positions[..n]);
        var qv = _memory.Out(q[..(n * c)], ref outs, accumulate: false);
        var kv = _memory.Out(kCache, ref outs, accumulate: true); // written in part: a staged cache keeps the rest
        var vv = _memory.Out(vCache, ref outs, accumulate: true);
        _storeKeysValues(n * c, qv, kv, vv, src, r, p, maxT, c);
        outs.Download();
    }

    /// <inheritdoc/>
    public void Copy(Span<float> destination, ReadOnlySpan<float> source)
    {
        KernelChecks.CheckCopy(destination.Length, source.Length);
        if (source.IsEmpty) return;
        Begin();
        if (!_memory.TryFind(source, out _) && !_memory.TryFind(destination, out _))
        {
            source.CopyTo(destination); // both on the host
            return;
        }
        var outs = new DeviceMemory.Outputs();
        var s = _memory.In(source);
        var d = _memory.Out(destination, ref outs, accumulate: false);
        _copy(source.Length, d, s);
        outs.Download();
    }

    // ---- elementwise ----

    private void Unary(Action<Index1D, ArrayView<float>, ArrayView<float>> kernel, Span<float> output, ReadOnlySpan<float> input, int n, bool accumulate)
    {
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var x = _memory.In(input[..n]);
        var o = _memory.Out(output[..n], ref outs, accumulate);
        kernel(n, o, x);
        outs.Download();
    }

    /// <inheritdoc/>
    public void GeluForward(Span<float> output, ReadOnlySpan<float> input, int n)
    {
        KernelChecks.CheckElementwise(n, output.Length, input.Length);
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var x = _memory.In(input[..n]);
        var o = _memory.Out(output[..n], ref outs, accumulate: false);
        _gelu(n, o, x, KernelConstants.GeluScale);
        outs.Download();
    }

    /// <inheritdoc/>
    public void GeluForward(Span<float> output, Span<float> derivative, ReadOnlySpan<float> input, int n)
    {
        KernelChecks.CheckElementwise(n, output.Length, derivative.Length, input.Length);
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var x = _memory.In(input[..n]);
        var o = _memory.Out(output[..n], ref outs, accumulate: false);
        var g = _memory.Out(derivative[..n], ref outs, accumulate: false);
        _geluWithDerivative(n, o, g, x, KernelConstants.GeluScale);
        outs.Download();
    }

    /// <inheritdoc/>
    public void GeluBackward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, int n)
    {
        KernelChecks.CheckElementwise(n, dinput.Length, input.Length, doutput.Length);
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var x = _memory.In(input[..n]);
        var d = _memory.In(doutput[..n]);
        var di = _memory.Out(dinput[..n], ref outs, accumulate: true);
        _geluBackward(n, di, x, d, KernelConstants.GeluScale);
        outs.Download();
    }

    /// <inheritdoc/>
    public void ReluForward(Span<float> output, ReadOnlySpan<float> input, int n)
    {
        KernelChecks.CheckElementwise(n, output.Length, input.Length);
        Unary(_relu, output, input, n, accumulate: false);
    }

    /// <inheritdoc/>
    public void ReluBackward(Span<float> dinput, ReadOnlySpan<float> input, ReadOnlySpan<float> doutput, int n)
    {
        KernelChecks.CheckElementwise(n, dinput.Length, input.Length, doutput.Length);
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var x = _memory.In(input[..n]);
        var d = _memory.In(doutput[..n]);
        var di = _memory.Out(dinput[..n], ref outs, accumulate: true);
        _reluBackward(n, di, x, d);
        outs.Download();
    }

    /// <inheritdoc/>
    public void ResidualForward(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int n)
    {
        KernelChecks.CheckElementwise(n, output.Length, a.Length, b.Length);
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var av = _memory.In(a[..n]);
        var bv = _memory.In(b[..n]);
        var o = _memory.Out(output[..n], ref outs, accumulate: false);
        _residual(n, o, av, bv);
        outs.Download();
    }

    /// <inheritdoc/>
    public void ResidualBackward(Span<float> da, Span<float> db, ReadOnlySpan<float> doutput, int n)
    {
        KernelChecks.CheckElementwise(n, da.Length, db.Length, doutput.Length);
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var d = _memory.In(doutput[..n]);
        var dav = _memory.Out(da[..n], ref outs, accumulate: true);
        var dbv = _memory.Out(db[..n], ref outs, accumulate: true);
        _residualBackward(n, dav, dbv, d);
        outs.Download();
    }

    /// <inheritdoc/>
    public void DropoutForward(Span<float> output, ReadOnlySpan<float> input, float p, ulong seed, int n)
    {
        KernelChecks.CheckElementwise(n, output.Length, input.Length);
        KernelChecks.CheckDropout(p);
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var x = _memory.In(input[..n]);
        var o = _memory.Out(output[..n], ref outs, accumulate: false);
        // p = 0: Keep is always true and the scale is 1, so this copies, as the reference does.
        _dropout(n, o, x, new DropoutArgs { P = p, KeepScale = 1f / (1f - p), Seed = seed });
        outs.Download();
    }

    /// <inheritdoc/>
    public void DropoutBackward(Span<float> dinput, ReadOnlySpan<float> doutput, float p, ulong seed, int n)
    {
        KernelChecks.CheckElementwise(n, dinput.Length, doutput.Length);
        KernelChecks.CheckDropout(p);
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var d = _memory.In(doutput[..n]);
        var di = _memory.Out(dinput[..n], ref outs, accumulate: true);
        _dropoutBackward(n, di, d, new DropoutArgs { P = p, KeepScale = 1f / (1f - p), Seed = seed });
        outs.Download();
    }

    // ---- loss ----

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyForward(Span<float> losses, Span<float> probs, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int bt, int v)
    {
        KernelChecks.CheckSoftmax(losses.Length, probs.Length, logits.Length, targets, bt, v);
        if (bt == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var x = _memory.In(logits[..(bt * v)]);
        var tg = _memory.In(targets[..bt]);
        var p = _memory.Out(probs[..(bt * v)], ref outs, accumulate: false);
        var l = _memory.Out(losses[..bt], ref outs, accumulate: false);
        _ceForward(Rows(bt), l, p, x, tg, v);
        outs.Download();
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(Span<float> dlogits, ReadOnlySpan<float> dlosses, ReadOnlySpan<float> probs, ReadOnlySpan<int> targets, int bt, int v)
    {
        KernelChecks.CheckSoftmax(dlosses.Length, dlogits.Length, probs.Length, targets, bt, v, "dlosses", "dlogits", "probs");
        if (bt == 0) return;
        bool inPlace = Unsafe.AreSame(ref MemoryMarshal.GetReference(dlogits), ref MemoryMarshal.GetReference(probs));
        Begin();
        var outs = new DeviceMemory.Outputs();
        var p = _memory.In(probs[..(bt * v)]);
        var dl = _memory.In(dlosses[..bt]);
        var tg = _memory.In(targets[..bt]);
        var d = _memory.Out(dlogits[..(bt * v)], ref outs, accumulate: !inPlace);
        _ceBackward(bt * v, d, dl, p, tg, v, inPlace ? 1 : 0);
        outs.Download();
    }

    // ---- optimizer ----

    /// <inheritdoc/>
    public void AdamW(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v,
        float learningRate, float beta1, float beta2, float eps, float weightDecay, int step, float gradientScale = 1f) =>
        AdamW(parameters, gradients, m, v, AdamWArguments(learningRate, beta1, beta2, eps, weightDecay, step, gradientScale), []);

    /// <inheritdoc/>
    public void AdamW(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v,
        float learningRate, float beta1, float beta2, float eps, float weightDecay, int step, ReadOnlySpan<float> gradientScale)
    {
        if (gradientScale.IsEmpty) throw new ArgumentException("gradientScale needs one element.", nameof(gradientScale));
        AdamW(parameters, gradients, m, v, AdamWArguments(learningRate, beta1, beta2, eps, weightDecay, step, 1f), gradientScale[..1]);
    }

    // Both overloads: the factor from the arguments, or (scale not empty) from scale[0] where it lives.
    private void AdamW(Span<float> parameters, ReadOnlySpan<float> gradients, Span<float> m, Span<float> v, AdamWArgs args, ReadOnlySpan<float> scale)
    {
        int n = parameters.Length;
        KernelChecks.CheckElementwise(n, gradients.Length, m.Length, v.Length);
        if (n == 0) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var g = _memory.In(gradients[..n]);
        var s = scale.IsEmpty ? default : _memory.In(scale);
        var pv = _memory.Out(parameters, ref outs, accumulate: true);
        var mv = _memory.Out(m[..n], ref outs, accumulate: true);
        var vv = _memory.Out(v[..n], ref outs, accumulate: true);
        if (scale.IsEmpty) _adamw(n, pv, g, mv, vv, args);
        else _adamwScaled(n, pv, g, mv, vv, s, args);
        outs.Download();
    }

    private static AdamWArgs AdamWArguments(float learningRate, float beta1, float beta2, float eps, float weightDecay, int step, float gradientScale)
    {
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), step, "AdamW step counts from 1.");
        return new()
        {
            LearningRate = learningRate, Beta1 = beta1, Beta2 = beta2, Eps = eps, WeightDecay = weightDecay,
            C1 = 1f - MathF.Pow(beta1, step), C2 = 1f - MathF.Pow(beta2, step), GradientScale = gradientScale,
        };
    }

    /// <inheritdoc/>
    public void ClipScale(Span<float> scale, ReadOnlySpan<float> x, float maxNorm)
    {
        if (scale.IsEmpty) throw new ArgumentException("scale needs one element.", nameof(scale));
        Begin();
        var outs = new DeviceMemory.Outputs();
        var sv = _memory.Out(scale[..1], ref outs, accumulate: false);
        if (x.IsEmpty) _fill(1, sv, 1f); // a zero norm: no clipping
        else _clipScale(1, sv, _partials.View.AsContiguous(), SumOfSquaresPartials(x), maxNorm);
        outs.Download();
    }

    // The partial sums of Σ x² (x not empty) into _partials, at most SumOfSquaresGroups of them; returns how many.
    private int SumOfSquaresPartials(ReadOnlySpan<float> x)
    {
        var xv = _memory.In(x);
        int groups = (int)Math.Min(SumOfSquaresGroups, (x.Length + _group - 1) / _group);
        _sumOfSquares(new KernelConfig(groups, _group), _partials.View.AsContiguous(), xv, x.Length);
        return groups;
    }

    /// <inheritdoc/>
    public double SumOfSquares(ReadOnlySpan<float> x)
    {
        if (x.IsEmpty) return 0;
        Begin();
        int groups = SumOfSquaresPartials(x);
        _partials.View.AsContiguous().SubView(0, groups).CopyToCPU(_hostPartials.AsSpan(0, groups));
        _memory.CountTransfer(groups * sizeof(double));
        double sum = 0;
        for (int i = 0; i < groups; i++) sum += _hostPartials[i];
        return sum;
    }

    /// <inheritdoc/>
    public void Scale(Span<float> x, float scale)
    {
        if (x.IsEmpty) return;
        Begin();
        var outs = new DeviceMemory.Outputs();
        var xv = _memory.Out(x, ref outs, accumulate: true);
        _scale(x.Length, xv, scale);
        outs.Download();
    }
}
