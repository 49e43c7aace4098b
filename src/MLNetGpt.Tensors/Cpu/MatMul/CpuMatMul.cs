// Multi-threaded matmul driver for CpuBackend over MatMulGemm and MatMulPacked: partitions output tiles over the worker pool
// (rows in MR groups when there are enough, else columns in NR groups; never a shared destination). Every kernel runs at
// the width CpuIsa picks.
// forward: out = b + inp·Wᵀ (Wᵀ packed once per call, in parallel); dinp += dout·W; dW += doutᵀ·inp; db += column sums of dout.
using System.Runtime.Intrinsics;

namespace MLNetGpt.Tensors;

internal static unsafe class CpuMatMul
{
    private const int MR = MatMulGemm.MR, NR = MatMulGemm.NR;



    /// <summary>out[BT,OC] = bias + inp[BT,C]·W[OC,C]ᵀ (bias may be null: zero).</summary>
    public static void Forward(WorkerPool pool, Scratch scratch, SimdWidth width, float* output, float* input, float* weight, float* bias, int bt, int c, int oc)
    {
        if (bt == 0) return;
        if (bt <= MatMulSmall.MaxRows && width == SimdWidth.Vector512)
        {
            // a few rows: no packing; columns in groups of 16 over the threads (AVX-512 only: its in-register 16×16
            // transposes have no counterpart at other widths, which pack W and take the packed tile below)
            var small = new SmallBody { O = output, X = input, W = weight, Bias = bias, M = bt, N = oc, K = c, Zeros = scratch.Zeros(c) };
            pool.For((oc + 15) / 16, ref small, ForwardWork(bt, c, oc));
            return;
        }
        float* packed = scratch.Shared(checked((int)MatMulGemm.PackedLength(oc, c)));
        Pack(pool, width, packed, weight, c, oc);
        ForwardPacked(pool, scratch, width, output, input, packed, bias, bt, c, oc);
    }

    // Work of a forward product for the serial-or-parallel decision: its multiply-adds, but at least 16 per weight, because
    // a product of a few rows streams its weights from L3 or memory (a 1.8 MB lecture-model weight takes ~60 µs on one
    // core and half that on two, while nanogpt-cpu's 0.2 MB weights stay in cache and run best on the calling thread).
    private static long ForwardWork(int bt, int c, int oc) => Math.Max((long)bt * c * oc, 16L * c * oc);

    /// <summary>packed = W[OC,C] in the <see cref="PackedWeight"/> layout (panels over the threads).</summary>
    public static void Pack(WorkerPool pool, SimdWidth width, float* packed, float* weight, int c, int oc)
    {
        var pack = new PackBody { Dst = packed, W = weight, N = oc, K = c, Width = width };
        pool.For((oc + NR - 1) / NR, ref pack, (long)oc * c);
    }

    /// <summary>out[BT,OC] = bias + inp[BT,C]·Wᵀ with W pre-packed (see <see cref="PackedWeight"/>).</summary>
    public static void ForwardPacked(WorkerPool pool, Scratch scratch, SimdWidth width, float* output, float* input, float* packed, float* bias, int bt, int c, int oc)
    {
        if (bt == 0) return;
        if (bt > MatMulPacked.RowBlock && width != SimdWidth.Vector512)
        {
            // Many rows at a narrower width: the GEMM's MR × 2-vector tile (6×16 for AVX2) keeps more accumulators busy per
            // weight load than the packed tile's 4 rows, and reads the same pre-packed panels (the same bits).
            scratch.EnsurePerWorker(MatMulGemm.ScratchFloats);
            var gemm = new GemmBody
            {
                Op = new GemmOperands { A = input, Lda = c, ARowsOverK = true, B = packed, BPrepacked = true, C = output, Ldc = oc, K = c, InitC = true, Bias = bias },
                M = bt, N = oc, Scratch = scratch, Width = width,
            };
            Run(pool, ref gemm);
            return;
        }
        // work items: row blocks × panels; one row block when BT is small, so that each panel is read by one thread only
        int panels = (oc + NR - 1) / NR, rowBlocks = bt <= MatMulPacked.RowBlock ? 1 : (bt + MatMulPacked.RowBlock - 1) / MatMulPacked.RowBlock;
        var rows = new PackedBody { O = output, X = input, W = packed, Bias = bias, M = bt, N = oc, K = c, Panels = panels, Zeros = scratch.Zeros(c), Width = width };
        pool.For(rowBlocks * panels, ref rows, ForwardWork(bt, c, oc));
    }

    /// <summary>
    /// Both backward products (dinput may be null: skipped; dbias may be null). With <paramref name="assign"/>, dinput is
    /// written instead of added into, times <paramref name="dinputScale"/> when that is not null.
    /// </summary>
    public static void Backward(WorkerPool pool, Scratch scratch, SimdWidth width, float* dinput, float* dweight, float* dbias, float* doutput,
        float* input, float* weight, int bt, int c, int oc, bool assign = false, float* dinputScale = null)
    {
        if (dinput != null) InputGradient(pool, scratch, width, dinput, doutput, weight, bt, c, oc, assign, dinputScale);
        WeightGradient(pool, scratch, width, dweight, dbias, doutput, input, bt, c, oc);
    }

    /// <summary>dinp[BT,C] += dout[BT,OC]·W[OC,C]; with assign, dinp = (dout·W) ⊙ scale (null: ⊙ 1).</summary>
    public static void InputGradient(WorkerPool pool, Scratch scratch, SimdWidth width, float* dinput, float* doutput, float* weight, int bt, int c, int oc,
        bool assign = false, float* scale = null)
    {
        if (bt == 0) return;
        scratch.EnsurePerWorker(MatMulGemm.ScratchFloats);
        var body = new GemmBody
        {
            Op = new GemmOperands { A = doutput, Lda = oc, ARowsOverK = true, B = weight, Ldb = c, C = dinput, Ldc = c, K = oc, InitC = assign, Scale = assign ? scale : null },
            M = bt, N = c, Scratch = scratch, Width = width,
        };
        Run(pool, ref body);
    }

    /// <summary>dW[OC,C] += dout[BT,OC]ᵀ·inp[BT,C]; db[OC] += column sums of dout (when dbias is not null).</summary>
    public static void WeightGradient(WorkerPool pool, Scratch scratch, SimdWidth width, float* dweight, float* dbias, float* doutput, float* input, int bt, int c, int oc)
    {
        if (bt == 0) return;
        scratch.EnsurePerWorker(MatMulGemm.ScratchFloats);
        var body = new GemmBody
        {
            Op = new GemmOperands { A = doutput, Lda = oc, ARowsOverK = false, B = input, Ldb = c, C = dweight, Ldc = c, K = bt },
            M = oc, N = c, Scratch = scratch, Width = width,
        };
        Run(pool, ref body);
        if (dbias != null)
        {
            var b = new BiasBody { Dbias = dbias, Dout = doutput, Rows = bt, Cols = oc, Width = width };
            pool.For((oc + 15) / 16, ref b, (long)bt * oc);
        }
    }

    private static void Run(WorkerPool pool, ref GemmBody body)
    {
        int rowGroups = (body.M + MR - 1) / MR, colGroups = (body.N + NR - 1) / NR;
        body.SplitRows = SplitRows(body.M, body.N, pool.ThreadCount);
        pool.For(body.SplitRows ? rowGroups : colGroups, ref body, (long)body.M * body.N * body.Op.K);
    }

    /// <summary>
    /// Whether an M×N product is split over the threads by rows (MR groups) or by columns (NR groups): by columns when that
    /// leaves the busiest thread at least 5 % less of the output. dW at (768, 512, 128) is 11 row groups, which two threads
    /// share as 6 + 5, but 16 column groups as 8 + 8 (and each thread then packs only its half of B); a product of many rows
    /// stays split by rows (each thread then streams only its part of A).
    /// </summary>
    internal static bool SplitRows(int m, int n, int threads)
    {
        int rowGroups = (m + MR - 1) / MR, colGroups = (n + NR - 1) / NR;
        long byRows = (long)Math.Min(m, (rowGroups + threads - 1) / threads * MR) * n;
        long byCols = (long)Math.Min(n, (colGroups + threads - 1) / threads * NR) * m;
        return byCols * 20 > byRows * 19;
    }

    private struct GemmBody : IParallelBody
    {
        public GemmOperands Op;
        public int M, N;
        public bool SplitRows;
        public Scratch Scratch;
        public SimdWidth Width;

        public readonly void Execute(int start, int end, int worker)
        {
            int m0 = 0, m1 = M, n0 = 0, n1 = N;
            if (SplitRows) { m0 = start * MR; m1 = Math.Min(end * MR, M); }
            else { n0 = start * NR; n1 = Math.Min(end * NR, N); }
            MatMulGemm.Run(Width, Op, m0, m1, n0, n1, Scratch.Worker(worker));
        }
    }

    private struct SmallBody : IParallelBody
    {
        public float* O, X, W, Bias, Zeros;
        public int M, N, K;

        public readonly void Execute(int start, int end, int worker) =>
            MatMulSmall.Run(O, N, X, K, W, K, Bias, M, start * 16, Math.Min(end * 16, N), K, Zeros);
    }

    private struct PackedBody : IParallelBody
    {
        public float* O, X, W, Bias, Zeros;
        public int M, N, K, Panels;
        public SimdWidth Width;

        // items are (row block, panel) with panels fastest; a contiguous range is cut into runs within one row block
        public readonly void Execute(int start, int end, int worker)
        {
            const int rb = MatMulPacked.RowBlock;
            for (int item = start; item < end;)
            {
                int block = item / Panels, p0 = item % Panels, p1 = Math.Min(Panels, p0 + (end - item));
                int m0 = M <= rb ? 0 : block * rb, m = M <= rb ? M : Math.Min(rb, M - m0);
                MatMulPacked.Run(Width, O + (long)m0 * N, N, X + (long)m0 * K, K, W, Bias, m, N, K, p0, p1, Zeros);
                item += p1 - p0;
            }
        }
    }

    private struct PackBody : IParallelBody
    {
        public float* Dst, W;
        public int N, K;
        public SimdWidth Width;

        public readonly void Execute(int start, int end, int worker) => MatMulGemm.PackTransposed(Width, Dst, W, K, N, K, start, end);
    }

    // db[o] += Σ_rows dout[row, o], rows in order (deterministic, and the same bits at every width), 16 columns per item,
    // as 1, 2 or 4 vectors. (Scalar column sums, left for the widths below 512 bits, read dout column by column: 4 % of
    // an AVX2 training step.)
    private struct BiasBody : IParallelBody
    {
        public float* Dbias, Dout;
        public int Rows, Cols;
        public SimdWidth Width;

        public readonly void Execute(int start, int end, int worker)
        {
            int c0 = start * 16, c1 = Math.Min(end * 16, Cols);
            int col = Width switch
            {
                SimdWidth.Vector512 => Run<Simd512, Vector512<float>>(c0, c1),
                SimdWidth.Vector256 => Run<Simd256, Vector256<float>>(c0, c1),
                SimdWidth.Vector128 => Run<Simd128, Vector128<float>>(c0, c1),
                _ => c0,
            };
            for (; col < c1; col++)
            {
                float acc = Dbias[col];
                for (int r = 0; r < Rows; r++) acc += Dout[(long)r * Cols + col];
                Dbias[col] = acc;
            }
        }

        private readonly int Run<TOps, TVec>(int col, int c1) where TOps : ISimd<TVec> where TVec : struct
        {
            int v = TOps.Count, rows = Rows;
            long ld = Cols;
            float* db = Dbias, dout = Dout;
            for (; col + 16 <= c1; col += 16)
            {
                float* d = dout + col;
                TVec a0 = TOps.Load(db + col), a1 = default, a2 = default, a3 = default;
                if (v < 16) a1 = TOps.Load(db + col + v);
                if (v < 8) { a2 = TOps.Load(db + col + 2 * v); a3 = TOps.Load(db + col + 3 * v); }
                for (int r = 0; r < rows; r++, d += ld)
                {
                    a0 = TOps.Add(a0, TOps.Load(d));
                    if (v < 16) a1 = TOps.Add(a1, TOps.Load(d + v));
                    if (v < 8) { a2 = TOps.Add(a2, TOps.Load(d + 2 * v)); a3 = TOps.Add(a3, TOps.Load(d + 3 * v)); }
                }
                TOps.Store(a0, db + col);
                if (v < 16) TOps.Store(a1, db + col + v);
                if (v < 8) { TOps.Store(a2, db + col + 2 * v); TOps.Store(a3, db + col + 3 * v); }
            }
            return col;
        }
    }
}
