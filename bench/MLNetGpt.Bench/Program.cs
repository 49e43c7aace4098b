// Matmul benchmark: our CPU kernels vs OpenBLAS cblas_sgemm on the reference models' shapes, 1 and 2 threads, same run
// (at one thread the two sides' timed batches alternate; each side's best batch counts).
// Prints one JSON line per case. Run through bench/run-matmul, which removes OPENBLAS_CORETYPE (pinned to Haswell here).
using System.Diagnostics;
using System.Globalization;
using MLNetGpt.Bench;
using MLNetGpt.Tensors;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == "attention") return AttentionBench.Run(args.Length > 1 ? args[1] : null);
if (args.Length > 0 && args[0] == "elementwise") return ElementwiseBench.Run();
if (args.Length == 0 || args[0] != "matmul")
{
    Console.Error.WriteLine("usage: MLNetGpt.Bench matmul [--quick] [--cold] [--decode] [--kernel K] [--no-blas] [--isa-name NAME] [--shape BT,C,OC] [--threads 1,2] | attention [B,T,C,NH] | elementwise");
    return 2;
}
bool quick = args.Contains("--quick");
bool decode = args.Contains("--decode");
string? only = args.SkipWhile(a => a != "--kernel").Skip(1).FirstOrDefault();
bool noBlas = args.Contains("--no-blas");
// --cold: every timed call starts with the operands evicted from cache, as in a training step (whose activations exceed L2)
byte[]? evict = args.Contains("--cold") ? new byte[64 << 20] : null;
if (Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") is { } pinned && !args.Contains("--isa-name"))
    Console.Error.WriteLine($"warning: OPENBLAS_CORETYPE={pinned} is set; run bench/run-matmul to measure OpenBLAS at its best.");
string isaName = args.SkipWhile(a => a != "--isa-name").Skip(1).FirstOrDefault() ?? "native";
double peak1 = FmaPeak.Measure(1), peak2 = FmaPeak.Measure(Math.Min(2, Environment.ProcessorCount));
Console.WriteLine($"{{\"isa\":\"{isaName}\",\"ours\":\"{CpuIsa.Describe()}\",\"openblas_core\":\"{OpenBlas.CoreName}\",\"cpu\":\"{FmaPeak.CpuName}\",\"fma_peak_gflops_1t\":{peak1:F1},\"fma_peak_gflops_2t\":{peak2:F1}}}");

(int Bt, int C, int Oc)[] shapes = decode
    ? [(1, 384, 1152), (4, 384, 1152), (16, 384, 1536), (32, 1536, 384), (1, 384, 65), (8, 128, 384)]
    : [(768, 128, 384), (768, 128, 128), (768, 128, 512), (768, 512, 128), (768, 128, 65),
       (16384, 384, 1152), (16384, 384, 1536), (16384, 1536, 384)];
if (args.SkipWhile(a => a != "--shape").Skip(1).FirstOrDefault() is { } shapeArg)
{
    var parts = shapeArg.Split(',').Select(int.Parse).ToArray();
    shapes = [(parts[0], parts[1], parts[2])];
}
string[] kernels = decode ? ["forward"] : ["forward", "backward_dinp", "backward_dweight"];
int[] threadCounts = args.SkipWhile(a => a != "--threads").Skip(1).FirstOrDefault() is { } tArg ? tArg.Split(',').Select(int.Parse).ToArray() : [1, 2];

foreach (var (bt, c, oc) in shapes)
    foreach (int threads in threadCounts)
        foreach (string kernel in kernels)
        {
            if (only != null && kernel != only) continue;
            var run = MatMulCase.Create(bt, c, oc, threads);
            double flops = 2.0 * bt * c * oc;
            double ours, blas = double.NaN;
            if (threads == 1 && !noBlas && evict is null)
            {
                // one thread: our batches and OpenBLAS's alternate, so that a slow spell of this shared machine (another
                // VM's load lasts seconds) falls on both sides alike instead of on whichever ran then
                OpenBlas.SetNumThreads(1);
                (ours, blas) = MeasureAlternating(() => run.Ours(kernel), () => run.Blas(kernel), flops, quick);
            }
            else
            {
                // two threads (or --cold): one side after the other, each given an idle machine: idle workers of
                // either side spin for a while after a call
                ours = Measure(() => run.Ours(kernel), flops, quick, evict);
                if (!noBlas)
                {
                    Thread.Sleep(200); // let our idle workers go to sleep
                    OpenBlas.SetNumThreads(threads);
                    blas = Measure(() => run.Blas(kernel), flops, quick, evict);
                    Thread.Sleep(1000); // OpenBLAS workers spin for a while after a call (they slowed our 2-thread runs at 300 ms)
                }
            }
            double peak = threads == 1 ? peak1 : peak2;
            Console.WriteLine($"{{\"kernel\":\"{kernel}\",\"shape\":[{bt},{c},{oc}],\"threads\":{threads},\"gflops\":{ours:F1},\"openblas_gflops\":{blas:F1},\"ratio\":{ours / blas:F3},\"of_peak\":{ours / peak:F3}}}");
        }
return 0;

// Best of several timed batches (each ≥ 40 ms, or ≥ 3 calls), after a warm-up: GFLOP/s. With evict, the best of 15 single
// calls, each after writing evict (larger than L3).
static double Measure(Action call, double flops, bool quick, byte[]? evict = null)
{
    Warm(call);
    double best = double.MaxValue;
    if (evict is not null)
    {
        for (int i = 0; i < 15; i++)
        {
            evict.AsSpan().Fill((byte)i);
            long s = Stopwatch.GetTimestamp();
            call();
            best = Math.Min(best, Stopwatch.GetElapsedTime(s).TotalSeconds);
        }
        return flops / best / 1e9;
    }
    int batches = quick ? 3 : 7;
    for (int b = 0; b < batches; b++) best = Math.Min(best, Batch(call));
    return flops / best / 1e9;
}

// Both sides warmed up, then their batches alternately; the best of each: GFLOP/s.
static (double A, double B) MeasureAlternating(Action a, Action b, double flops, bool quick)
{
    Warm(a);
    Warm(b);
    double bestA = double.MaxValue, bestB = double.MaxValue;
    int batches = quick ? 3 : 7;
    for (int i = 0; i < batches; i++)
    {
        bestA = Math.Min(bestA, Batch(a));
        bestB = Math.Min(bestB, Batch(b));
    }
    return (flops / bestA / 1e9, flops / bestB / 1e9);
}

// Warm-up (tiered JIT: the kernels run few, long calls): at least 0.3 s of calls.
static void Warm(Action call)
{
    long start = Stopwatch.GetTimestamp();
    do call(); while (Stopwatch.GetElapsedTime(start).TotalSeconds < 0.3);
}

// Seconds per call over a batch of at least 40 ms and 3 calls.
static double Batch(Action call)
{
    int reps = 0;
    long start = Stopwatch.GetTimestamp();
    double elapsed;
    do { call(); reps++; elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds; } while (elapsed < 0.04 || reps < 3);
    return elapsed / reps;
}
