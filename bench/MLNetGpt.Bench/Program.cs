// Matmul benchmark: our CPU kernels vs OpenBLAS cblas_sgemm on the reference models' shapes, 1 and 2 threads, same run.
// Prints one JSON line per case. Run through bench/run-matmul, which removes OPENBLAS_CORETYPE (pinned to Haswell here).
using System.Diagnostics;
using System.Globalization;
using MLNetGpt.Bench;
using MLNetGpt.Tensors;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == "attention") return AttentionBench.Run();
if (args.Length == 0 || args[0] != "matmul")
{
    Console.Error.WriteLine("usage: MLNetGpt.Bench matmul [--quick] [--decode] [--kernel K] [--no-blas] | attention");
    return 2;
}
bool quick = args.Contains("--quick");
bool decode = args.Contains("--decode");
string? only = args.SkipWhile(a => a != "--kernel").Skip(1).FirstOrDefault();
bool noBlas = args.Contains("--no-blas");
if (Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") is { } pinned)
    Console.Error.WriteLine($"warning: OPENBLAS_CORETYPE={pinned} is set; run bench/run-matmul to measure OpenBLAS at its best.");
Console.Error.WriteLine($"OpenBLAS core: {OpenBlas.CoreName}; Vector512: {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}; cores: {Environment.ProcessorCount}");

(int Bt, int C, int Oc)[] shapes = decode
    ? [(1, 384, 1152), (4, 384, 1152), (16, 384, 1536), (32, 1536, 384), (1, 384, 65), (8, 128, 384)]
    : [(768, 128, 384), (768, 128, 128), (768, 128, 512), (768, 512, 128), (768, 128, 65),
       (16384, 384, 1152), (16384, 384, 1536), (16384, 1536, 384)];
string[] kernels = decode ? ["forward"] : ["forward", "backward_dinp", "backward_dweight"];
int[] threadCounts = [1, 2];

foreach (var (bt, c, oc) in shapes)
    foreach (int threads in threadCounts)
        foreach (string kernel in kernels)
        {
            if (only != null && kernel != only) continue;
            var run = MatMulCase.Create(bt, c, oc, threads);
            double flops = 2.0 * bt * c * oc;
            double ours = Measure(() => run.Ours(kernel), flops, quick);
            double blas = double.NaN;
            if (!noBlas)
            {
                Thread.Sleep(200); // let our idle workers go to sleep
                OpenBlas.SetNumThreads(threads);
                blas = Measure(() => run.Blas(kernel), flops, quick);
                Thread.Sleep(1000); // OpenBLAS workers spin for a while after a call (they slowed our 2-thread runs at 300 ms)
            }
            Console.WriteLine($"{{\"kernel\":\"{kernel}\",\"shape\":[{bt},{c},{oc}],\"threads\":{threads},\"gflops\":{ours:F1},\"openblas_gflops\":{blas:F1},\"ratio\":{ours / blas:F3}}}");
        }
return 0;

// Best of several timed batches (each ≥ 40 ms, or ≥ 3 calls), after a warm-up: GFLOP/s.
static double Measure(Action call, double flops, bool quick)
{
    // warm up (tiered JIT: the kernels run few, long calls) for at least 0.3 s
    long warm = Stopwatch.GetTimestamp();
    do call(); while (Stopwatch.GetElapsedTime(warm).TotalSeconds < 0.3);
    double best = double.MaxValue;
    int batches = quick ? 3 : 7;
    for (int b = 0; b < batches; b++)
    {
        int reps = 0;
        long start = Stopwatch.GetTimestamp();
        double elapsed;
        do { call(); reps++; elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds; } while (elapsed < 0.04 || reps < 3);
        best = Math.Min(best, elapsed / reps);
    }
    return flops / best / 1e9;
}
