// Matrix products for the GPU backend: cuBLAS on a CUDA device (as llm.c), an ILGPU kernel on the CPU accelerator, behind
// one row-major call so that every call site runs the same way in tests as on a GPU.
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace MLNetGpt.Tensors.Cuda;

/// <summary>
/// C = alpha·op(A)·op(B) + beta·C over row-major matrices (see <see cref="GemmArgs"/>), batched with strides.
/// </summary>
internal interface IGemm : IDisposable
{
    /// <summary>What runs the products ("cuBLAS 13.0 (TF32)", "ILGPU kernel").</summary>
    string Description { get; }

    void Run(in GemmArgs g, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, int batch);
}

/// <summary>The plain ILGPU kernel (one thread per element of C): the CPU accelerator's GEMM.</summary>
internal sealed class KernelGemm(Accelerator accelerator) : IGemm
{
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs> _kernel =
        accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(Kernels.Gemm);

    public string Description => "ILGPU kernel";

    public void Run(in GemmArgs g, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, int batch)
    {
        long n = (long)batch * g.M * g.N;
        if (n == 0) return;
        if (n > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(batch), n, "The kernel GEMM handles at most int.MaxValue outputs.");
        _kernel((int)n, a, b, c, g);
    }

    public void Dispose() { }
}

/// <summary>
/// cuBLAS through P/Invoke into libcublas (CUDA 13 or 12), on ILGPU's stream and context. Row-major C = op(A)·op(B) is
/// column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, so A and B swap places and keep their transpose flags.
/// </summary>
internal sealed unsafe class CublasGemm : IGemm
{
    /// <summary>The file names tried, in order (then the same in the folders of <see cref="SearchFolders"/>).</summary>
    public static readonly string[] LibraryNames = ["libcublas.so.13", "libcublas.so.12", "libcublas.so"];

    private const int CUBLAS_OP_N = 0, CUBLAS_OP_T = 1;
    private const int CUBLAS_DEFAULT_MATH = 0, CUBLAS_PEDANTIC_MATH = 2, CUBLAS_TF32_TENSOR_OP_MATH = 3;

    private readonly nint _library, _handle;
    private readonly delegate* unmanaged<nint, int> _destroy;
    private readonly delegate* unmanaged<nint, int, int, int, int, int, float*, nint, int, nint, int, float*, nint, int, int> _sgemm;
    private readonly delegate* unmanaged<nint, int, int, int, int, int, float*, nint, int, long, nint, int, long, float*, nint, int, long, int, int> _sgemmBatched;

    public CublasGemm(CudaAccelerator accelerator, bool tf32)
    {
        _library = Load(out string loaded);
        nint F(string name) => NativeLibrary.TryGetExport(_library, name, out var f)
            ? f : throw new GpuUnavailableException($"'{loaded}' has no function '{name}'; MLNetGpt needs cuBLAS from CUDA 12 or 13.");
        var create = (delegate* unmanaged<nint*, int>)F("cublasCreate_v2");
        var setStream = (delegate* unmanaged<nint, nint, int>)F("cublasSetStream_v2");
        var setMath = (delegate* unmanaged<nint, int, int>)F("cublasSetMathMode");
        var getVersion = (delegate* unmanaged<nint, int*, int>)F("cublasGetVersion_v2");
        _destroy = (delegate* unmanaged<nint, int>)F("cublasDestroy_v2");
        _sgemm = (delegate* unmanaged<nint, int, int, int, int, int, float*, nint, int, nint, int, float*, nint, int, int>)F("cublasSgemm_v2");
        _sgemmBatched = (delegate* unmanaged<nint, int, int, int, int, int, float*, nint, int, long, nint, int, long, float*, nint, int, long, int, int>)F("cublasSgemmStridedBatched");

        accelerator.Bind(); // cuBLAS attaches to the calling thread's current CUDA context: ILGPU's
        nint handle;
        Check(create(&handle), "cublasCreate_v2");
        _handle = handle;
        Check(setStream(_handle, ((CudaStream)accelerator.DefaultStream).StreamPtr), "cublasSetStream_v2");
        // TF32 tensor cores (10-bit mantissa inputs, float accumulation) as PyTorch's allow_tf32; pedantic: exact FP32 for parity.
        Check(setMath(_handle, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH), "cublasSetMathMode");
        int version;
        Check(getVersion(_handle, &version), "cublasGetVersion_v2");
        Description = $"cuBLAS {version / 10000}.{version / 100 % 100} from {loaded} ({(tf32 ? "TF32" : "FP32")})";
    }

    public string Description { get; }

    /// <summary>Folders searched after the loader's own path: CUDA toolkits and the pip wheels' (nvidia-cublas) folders.</summary>
    public static IEnumerable<string> SearchFolders()
    {
        if (Environment.GetEnvironmentVariable("MLNETGPT_CUBLAS") is { Length: > 0 } explicitPath) yield return explicitPath;
        if (Environment.GetEnvironmentVariable("CUDA_HOME") is { Length: > 0 } home) yield return Path.Combine(home, "lib64");
        yield return "/usr/local/cuda/lib64";
        yield return "/usr/local/cuda/targets/x86_64-linux/lib";
        yield return "/usr/lib/x86_64-linux-gnu";
        foreach (var root in new[] { "/usr/local/lib", "/usr/lib", "/opt/conda/lib" })
        {
            if (!Directory.Exists(root)) continue;
            foreach (var py in SafeDirectories(root, "python3*"))
                foreach (var site in new[] { "site-packages", "dist-packages" })
                    foreach (var sub in new[] { "nvidia/cu13/lib", "nvidia/cublas/lib", "nvidia/cu12/lib" })
                        yield return Path.Combine(py, site, sub);
        }
    }

    private static string[] SafeDirectories(string root, string pattern)
    {
        try { return Directory.GetDirectories(root, pattern); }
        catch (IOException) { return []; }
        catch (UnauthorizedAccessException) { return []; }
    }

    private static nint Load(out string loaded)
    {
        var tried = new List<string>();
        foreach (var name in LibraryNames)
        {
            tried.Add(name);
            if (NativeLibrary.TryLoad(name, out var h)) { loaded = name; return h; }
        }
        foreach (var folder in SearchFolders())
        {
            if (File.Exists(folder) && NativeLibrary.TryLoad(folder, out var direct)) { loaded = folder; return direct; }
            foreach (var name in LibraryNames)
            {
                var path = Path.Combine(folder, name);
                if (!File.Exists(path)) continue;
                tried.Add(path);
                if (NativeLibrary.TryLoad(path, out var h)) { loaded = path; return h; }
            }
        }
        throw new GpuUnavailableException(
            $"cuBLAS was not found: tried {string.Join(", ", tried)} (and the folders {string.Join(", ", SearchFolders().Take(4))}, " +
            "CUDA_HOME/lib64 and Python's nvidia/cu13, nvidia/cublas and nvidia/cu12 wheels). Install CUDA 12 or 13's cuBLAS " +
            "(the CUDA toolkit, or 'pip install nvidia-cublas'), or set MLNETGPT_CUBLAS to the library's path.");
    }

    private static void Check(int status, string what)
    {
        if (status != 0) throw new GpuUnavailableException($"{what} failed with cuBLAS status {status}.");
    }

    // A view's device address: its buffer's plus its offset (generic, so the interface calls do not box the view).
    private static nint Ptr<TView>(TView v) where TView : IArrayView, IContiguousArrayView => v.Buffer.NativePtr + (nint)v.IndexInBytes;

    public void Run(in GemmArgs g, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, int batch)
    {
        if (batch == 0 || g.M == 0 || g.N == 0) return;
        float alpha = g.Alpha, beta = g.Beta;
        int opA = g.TransA != 0 ? CUBLAS_OP_T : CUBLAS_OP_N, opB = g.TransB != 0 ? CUBLAS_OP_T : CUBLAS_OP_N;
        int status = batch == 1
            ? _sgemm(_handle, opB, opA, g.N, g.M, g.K, &alpha, Ptr(b), g.Ldb, Ptr(a), g.Lda, &beta, Ptr(c), g.Ldc)
            : _sgemmBatched(_handle, opB, opA, g.N, g.M, g.K, &alpha, Ptr(b), g.Ldb, g.StrideB, Ptr(a), g.Lda, g.StrideA, &beta, Ptr(c), g.Ldc, g.StrideC, batch);
        if (status != 0)
            throw new InvalidOperationException($"cuBLAS SGEMM failed with status {status} (m={g.M}, n={g.N}, k={g.K}, batch={batch}).");
    }

    public void Dispose()
    {
        if (_handle != 0) _destroy(_handle);
    }
}
