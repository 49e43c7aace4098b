// P/Invoke to Debian's OpenBLAS (libopenblas0-pthread) for the same-run comparison; bench project only.
using System.Runtime.InteropServices;

namespace MLNetGpt.Bench;

internal static unsafe partial class OpenBlas
{
    public const int RowMajor = 101, NoTrans = 111, Trans = 112;
    private const string Lib = "libopenblas.so.0";

    [LibraryImport(Lib, EntryPoint = "cblas_sgemm")]
    public static partial void Sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    [LibraryImport(Lib, EntryPoint = "openblas_set_num_threads")]
    public static partial void SetNumThreads(int threads);

    [LibraryImport(Lib, EntryPoint = "openblas_get_corename")]
    private static partial nint GetCoreName();

    public static string CoreName => Marshal.PtrToStringAnsi(GetCoreName()) ?? "?";
}
