// Multi-threaded matmul driver for CpuBackend: partitions output tiles over the worker pool (never a shared destination).
// forward: out = inp·Wᵀ + b (MatMulDot); dinp += dout·W as dout·(Wᵀ)ᵀ with Wᵀ transposed once into shared scratch (MatMulDot);
// dW += doutᵀ·inp (MatMulGemm); db += column sums of dout.
using System.Runtime.Intrinsics;

namespace MLNetGpt.Tensors;

internal static unsafe class CpuMatMul
{
    public static void Forward(WorkerPool pool, float* output, float* input, float* weight, float* bias, int bt, int c, int oc)
    {
        var body = new DotBody { O = output, X = input, W = weight, Bias = bias, Accumulate = false, M = bt, N = oc, K = c };
        RunDot(pool, ref body);
    }

    public static void Backward(WorkerPool pool, Scratch scratch, float* dinput, float* dweight, float* dbias, float* doutput,
        float* input, float* weight, int bt, int c, int oc)
    {
        if (bt == 0) return;
        if (dinput != null)
        {
            float* wt = scratch.Shared(oc * c);
            var tr = new TransposeBody { Src = weight, Dst = wt, Rows = oc, Cols = c };
            pool.For((c + 15) / 16, ref tr);
            var body = new DotBody { O = dinput, X = doutput, W = wt, Bias = null, Accumulate = true, M = bt, N = c, K = oc };
            RunDot(pool, ref body);
        }
        scratch.EnsurePerWorker(MatMulGemm.ScratchFloats);
        var g = new GemmBody { C = dweight, A = doutput, B = input, M = oc, N = c, K = bt, Scratch = scratch, Dbias = dbias };
        g.SplitRows = (oc + MatMulGemm.MR - 1) / MatMulGemm.MR >= 2 * pool.ThreadCount || c < 2 * MatMulGemm.NR;
        pool.For(g.SplitRows ? (oc + MatMulGemm.MR - 1) / MatMulGemm.MR : (c + MatMulGemm.NR - 1) / MatMulGemm.NR, ref g);
        if (dbias != null)
        {
            var b = new BiasBody { Dbias = dbias, Dout = doutput, Rows = bt, Cols = oc };
            pool.For((oc + 15) / 16, ref b);
        }
    }

    private static void RunDot(WorkerPool pool, ref DotBody body)
    {
        if (body.M == 0) return;
        // rows in groups of 4 when there are enough of them, otherwise columns in groups of 8 (decoding: BT is tiny)
        body.SplitRows = body.M >= 8 * pool.ThreadCount || body.N < 16 * pool.ThreadCount;
        pool.For(body.SplitRows ? (body.M + 3) / 4 : (body.N + 7) / 8, ref body);
    }

    private struct DotBody : IParallelBody
    {
        public float* O, X, W, Bias;
        public bool Accumulate, SplitRows;
        public int M, N, K;

        public readonly void Execute(int start, int end, int worker)
        {
            if (SplitRows)
                MatMulDot.Run(O, N, X, K, W, K, Bias, Accumulate, start * 4, Math.Min(end * 4, M), 0, N, K);
            else
                MatMulDot.Run(O, N, X, K, W, K, Bias, Accumulate, 0, M, start * 8, Math.Min(end * 8, N), K);
        }
    }

    private struct GemmBody : IParallelBody
    {
        public float* C, A, B, Dbias;
        public int M, N, K;
        public bool SplitRows;
        public Scratch Scratch;

        public readonly void Execute(int start, int end, int worker)
        {
            float* s = Scratch.Worker(worker);
            if (SplitRows)
                MatMulGemm.Run(C, N, A, M, B, N, start * MatMulGemm.MR, Math.Min(end * MatMulGemm.MR, M), 0, N, K, s);
            else
                MatMulGemm.Run(C, N, A, M, B, N, 0, M, start * MatMulGemm.NR, Math.Min(end * MatMulGemm.NR, N), K, s);
        }
    }

    // dst[c, r] = src[r, c] for a block of 16 columns of src per item.
    private struct TransposeBody : IParallelBody
    {
        public float* Src, Dst;
        public int Rows, Cols;

        public readonly void Execute(int start, int end, int worker)
        {
            int c0 = start * 16, c1 = Math.Min(end * 16, Cols);
            for (int rb = 0; rb < Rows; rb += 16)
            {
                int r1 = Math.Min(rb + 16, Rows);
                for (int cb = c0; cb < c1; cb += 16)
                {
                    int ce = Math.Min(cb + 16, c1);
                    for (int r = rb; r < r1; r++)
                    {
                        float* s = Src + (long)r * Cols;
                        for (int col = cb; col < ce; col++) Dst[(long)col * Rows + r] = s[col];
                    }
                }
            }
        }
    }

    // db[o] += Σ_rows dout[row, o], rows in order (deterministic), 16 columns per item.
    private struct BiasBody : IParallelBody
    {
        public float* Dbias, Dout;
        public int Rows, Cols;

        public readonly void Execute(int start, int end, int worker)
        {
            int c0 = start * 16, c1 = Math.Min(end * 16, Cols);
            int col = c0;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; col + 16 <= c1; col += 16)
                {
                    var acc = Vector512.Load(Dbias + col);
                    for (int r = 0; r < Rows; r++) acc += Vector512.Load(Dout + (long)r * Cols + col);
                    acc.Store(Dbias + col);
                }
            }
            for (; col < c1; col++)
            {
                float acc = Dbias[col];
                for (int r = 0; r < Rows; r++) acc += Dout[(long)r * Cols + col];
                Dbias[col] = acc;
            }
        }
    }
}
