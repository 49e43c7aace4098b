// The matmul engine: C[m,n] += Σ_k A(m,k)·B(k,n) as a Goto-style blocked GEMM, written once over the SIMD width (ISimd):
// an MR × 2-vector register tile (AVX-512 12×32, AVX2 6×16, NEON 12×8, SSE 6×8: MR·2 accumulators, two B vectors and
// a broadcast fill the register file), per k two B vectors and MR broadcasts feed 2·MR FMAs.
// A comes either as rows over k (inp, dout: read in place, or copied into a constant-stride row buffer when its rows are a
// multiple of 4 KB apart) or as rows over m (doutᵀ for dW: read in place or packed [k][MR]); B comes as rows over n (W for
// dinp, inp for dW: packed per block into [k][NR] panels of NR = 32 columns) or pre-packed panels (Wᵀ for forward, see
// PackedWeight). A tile narrower than a panel reads its columns of it.
//
// Determinism: every C element is an FMA chain over k in increasing order starting from C's old value, whichever tile,
// block, thread, BT or width computes it (k blocks are visited in order and partial sums live in C; edge tiles run the
// same kernel on a copy). So a row of a BT=37 product equals the BT=1 product of that row bitwise, thread counts do not
// matter, and every width with FMA gives the same bits (SSE without FMA multiplies then adds: its own bits).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MLNetGpt.Tensors;

/// <summary>How the GEMM reads its operands.</summary>
internal unsafe struct GemmOperands
{
    /// <summary>A(m,k) = A[m*Lda + k] when ARowsOverK, else A[k*Lda + m].</summary>
    public float* A;
    public int Lda;
    public bool ARowsOverK;
    /// <summary>B(k,n) = B[k*Ldb + n], or when BPrepacked, B is [N/NR panels][K][NR] (see <see cref="MatMulGemm.PackTransposed"/>).</summary>
    public float* B;
    public int Ldb;
    public bool BPrepacked;
    public float* C;
    public int Ldc;
    public int K;
    /// <summary>When true, C is first set to Bias (null: zero) instead of accumulated into (forward).</summary>
    public bool InitC;
    public float* Bias;
    /// <summary>When not null, C's final values are multiplied elementwise by Scale (laid out as C, stride Ldc) as they are
    /// stored: the gradient through an activation whose derivative the forward kept.</summary>
    public float* Scale;
}

internal static unsafe class MatMulGemm
{
    /// <summary>Panel width (columns of a packed B panel) and row-partition granule; tiles are at most this wide and tall.</summary>
    public const int MR = 12, NR = 32;
    public const int KC = 384, MC = 120, NC = 2048; // KC: the deepest k block; MC: a multiple of every tile height (12, 6)
    private const int KCPrepacked = 768; // the k block over a pre-packed B at widths below 512 (see Run)
    private const int AS = KCPrepacked + 16; // row stride of the A row buffer (padding keeps the rows off one cache set)

    /// <summary>Scratch floats one thread needs: A block, B block and an edge tile.</summary>
    public const int ScratchFloats = MC * AS + KC * NC + MR * NR + 64;

    /// <summary>Floats of a pre-packed B for N columns and K rows.</summary>
    public static long PackedLength(int n, int k) => (long)((n + NR - 1) / NR) * NR * k;

    /// <summary>
    /// Packs panels [p0,p1) of Bᵀ where w is row-major [N,K] (B(k,n) = w[n*ldw + k]) into dst[panel][k][NR], zero beyond N.
    /// </summary>
    public static void PackTransposed(SimdWidth width, float* dst, float* w, int ldw, int n, int k, int p0, int p1)
    {
        Vector512<float>* t = stackalloc Vector512<float>[16];
        bool transpose16 = width == SimdWidth.Vector512, transpose8 = width == SimdWidth.Vector256 && Avx.IsSupported;
        for (int p = p0; p < p1; p++)
        {
            float* d = dst + (long)p * k * NR;
            int nb = p * NR, nr = Math.Min(NR, n - nb);
            int kb = 0;
            if (transpose16 && nr == NR)
            {
                // full panel: 16×16 blocks transposed in AVX-512 registers
                for (; kb + 16 <= k; kb += 16)
                    for (int half = 0; half < 2; half++)
                    {
                        MatMulSmall.Transpose16(w + (long)(nb + 16 * half) * ldw + kb, ldw, t);
                        for (int i = 0; i < 16; i++) t[i].Store(d + (long)(kb + i) * NR + 16 * half);
                    }
            }
            if (transpose8 && nr == NR)
                for (; kb + 8 <= k; kb += 8)
                    for (int j = 0; j < NR; j += 8) SimdMath.Transpose8x8(w + (long)(nb + j) * ldw + kb, ldw, d + (long)kb * NR + j, NR);
            // other widths and partial panels: 4×4 blocks in 128-bit registers, then the odd rows and columns one by one
            for (; kb + 4 <= k; kb += 4)
            {
                int j = 0;
                for (; j + 4 <= nr; j += 4) SimdMath.Transpose4x4(w + (long)(nb + j) * ldw + kb, ldw, d + (long)kb * NR + j, NR);
                for (; j < NR; j++)
                    for (int kk = kb; kk < kb + 4; kk++) d[kk * NR + j] = j < nr ? w[(long)(nb + j) * ldw + kk] : 0f;
            }
            for (; kb < k; kb += 16)
            {
                int ke = Math.Min(kb + 16, k);
                for (int j = 0; j < NR; j++)
                {
                    if (j < nr)
                    {
                        float* s = w + (long)(nb + j) * ldw;
                        for (int kk = kb; kk < ke; kk++) d[kk * NR + j] = s[kk];
                    }
                    else
                        for (int kk = kb; kk < ke; kk++) d[kk * NR + j] = 0f;
                }
            }
        }
    }

    /// <summary>C[m,n] += Σ_k A(m,k)·B(k,n) for m in [m0,m1), n in [n0,n1). With pre-packed B, n0 must be a multiple of NR.</summary>
    public static void Run(SimdWidth width, in GemmOperands op, int m0, int m1, int n0, int n1, float* scratch)
    {
        if (m0 >= m1 || n0 >= n1 || op.K == 0) return;
        switch (width)
        {
            case SimdWidth.Vector512: Run<Simd512, Vector512<float>>(op, m0, m1, n0, n1, scratch); break;
            case SimdWidth.Vector256: Run<Simd256, Vector256<float>>(op, m0, m1, n0, n1, scratch); break;
            case SimdWidth.Vector128: Run<Simd128, Vector128<float>>(op, m0, m1, n0, n1, scratch); break;
            default: Scalar(op, m0, m1, n0, n1); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TOps, TVec>(in GemmOperands op, int m0, int m1, int n0, int n1, float* scratch)
        where TOps : ISimd<TVec> where TVec : struct
    {
        int k = op.K, tileRows = TOps.GemmRows, tileCols = 2 * TOps.Count;
        // B is packed in panels as wide as the tile, so a tile reads whole cache lines of B; pre-packed B (the forward's
        // PackedWeight) comes in 32-column panels, which a narrower tile reads in parts. The k block is as deep as the B
        // panel (in L1) allows: C is read and written once per block, which for a large output costs DRAM bandwidth.
        // Measured (1 thread, Zen 4): AVX2 dinp at (16384, 384, 1152) ran 0.69/0.80/0.92 × OpenBLAS with k blocks of
        // 128/256/384; AVX-512 keeps 256 (its 32-column panel rows are two full vectors). Over a pre-packed B (the forward)
        // nothing is packed per block, and a deeper block halves the sweeps over C: AVX2 forward at (16384, 1536, 384)
        // ran 91.9 / 100.2 GFLOP/s with k blocks of 384 / 768 (192 and 256: 78-84), the other shapes unchanged.
        int kcMax = TOps.Count >= 16 ? 256 : op.BPrepacked ? KCPrepacked : KC;
        float* aBuf = scratch, bBuf = scratch + MC * AS, edge = bBuf + KC * NC;
        int ncBlock = op.BPrepacked ? int.MaxValue : NC;
        // Aᵀ (dW's doutᵀ) is read in place when it is narrow and used by few panels: packing it cost more than the strided
        // reads (1 thread, Zen 4, AVX2: dW at (768, 128, 384) 0.89 → 0.94 × OpenBLAS, (768, 512, 128) 0.91 → 0.93), while
        // at lecture shapes (lda 1152-1536 or N 1536) the strided reads lost 5-10 %.
        bool strided = !op.ARowsOverK && op.Lda <= 512 && n1 - n0 <= 512;
        // A as rows over k (inp for the forward, dout for dinp) is read in place, each next tile's rows fetched into L2 during
        // the first column strip over them: copying it to the row buffer first read it cold with nothing to overlap (1 thread,
        // AVX2, Zen 4: a nanogpt-cpu step 45.9 → 45.0 ms, alternating runs; AVX-512's 12-row tiles, read as two halves of six
        // rows: dinp 1-3 % faster in the matmul benchmark, a step ~1.4 %). Not when its rows are a multiple of 4 KB apart (a tile's rows in one L1 set).
        bool rowsInPlace = op.ARowsOverK && (op.Lda & 1023) != 0;
        int layout = rowsInPlace ? LayoutRowsInPlace : op.ARowsOverK ? LayoutRows : strided ? LayoutStrided : LayoutPacked;
        for (int jc = n0; jc < n1; jc += Math.Min(ncBlock, n1 - jc))
        {
            int nc = Math.Min(ncBlock, n1 - jc);
            // k blocks of about equal depth, a multiple of 16 (512 = 256 + 256, not 384 + 128: a shallow block pays C's load
            // and store for few FMAs; AVX2 dinp at (768, 128, 512) in a training step: 95 → 98 GFLOP/s). Depths that are not
            // a multiple of 16 (16384 in 43 blocks of 382) ran 3 % slower.
            int kBlocks = (k + kcMax - 1) / kcMax, kcEven = Math.Min(kcMax, ((k + kBlocks - 1) / kBlocks + 15) & ~15);
            for (int pc = 0; pc < k; pc += kcEven)
            {
                int kc = Math.Min(kcEven, k - pc);
                float* packedB;
                int panelWidth = op.BPrepacked ? NR : tileCols;
                int panelStride; // floats from one panel to the next
                if (op.BPrepacked)
                {
                    packedB = op.B + (long)(jc / NR) * k * NR + (long)pc * NR;
                    panelStride = k * NR;
                }
                else
                {
                    PackPanels(bBuf, op.B + (long)pc * op.Ldb + jc, op.Ldb, kc, nc, panelWidth);
                    packedB = bBuf;
                    panelStride = kc * panelWidth;
                }
                for (int ic = m0; ic < m1; ic += MC)
                {
                    int mc = Math.Min(MC, m1 - ic);
                    // the forward's first k block starts its accumulators at the bias (or zero) instead of loading C: C is
                    // written once and never read (a separate pass that set C to the bias cost ~5 % of each forward)
                    bool init = op.InitC && pc == 0, last = pc + kc >= k;
                    if (rowsInPlace)
                    {
                        // the last, partial tile is copied (reading it in place would run past the last row of A)
                        if (mc % tileRows != 0) CopyRowsA(aBuf, op.A + (long)(ic + mc - mc % tileRows) * op.Lda + pc, op.Lda, kc, mc % tileRows);
                    }
                    else if (op.ARowsOverK) CopyRowsA(aBuf, op.A + (long)ic * op.Lda + pc, op.Lda, kc, mc);
                    else if (!strided) PackPanels(aBuf, op.A + (long)pc * op.Lda + ic, op.Lda, kc, mc, tileRows);
                    else if (mc % tileRows != 0)
                    {
                        // the last, partial tile is packed (reading it in place would run past the last row of A)
                        int full = mc - mc % tileRows;
                        PackPanels(aBuf, op.A + (long)pc * op.Lda + ic + full, op.Lda, kc, mc - full, tileRows);
                    }
                    for (int jr = 0; jr < nc; jr += panelWidth)
                    {
                        float* panel = packedB + (long)(jr / panelWidth) * panelStride;
                        for (int sub = 0; sub < panelWidth && jr + sub < nc; sub += tileCols)
                        {
                            int nr = Math.Min(tileCols, nc - jr - sub);
                            float* pb = panel + sub;
                            // A tile one vector wide at a 6-row width runs 12 rows: with 6 accumulators, each taking one FMA
                            // per k step, the FMA latency (4 cycles), not the FMA units, set its pace (OC = 65's last
                            // column: 0.89× OpenBLAS at AVX2). 12 accumulators, a B vector and a broadcast fit 16 registers;
                            // the row buffer holds rows up to a multiple of 12 (zeros past mc); rows in place are read as
                            // two halves of 6 (copying the block to the row buffer for this strip took a quarter of its time:
                            // AVX2 forward at (768, 128, 65) 87 → 92 GFLOP/s, at (768, 128, 8) 58 → 72).
                            int stripLayout = layout;
                            int rowStep = nr <= TOps.Count && tileRows == 6 && stripLayout is LayoutRows or LayoutRowsInPlace ? 12 : tileRows;
                            // The full tiles of this column strip run in one kernel call, which also fetches each next
                            // tile's C lines (see below): per tile, the driver's bookkeeping and a call had cost ~3 % of
                            // the tile's own time at K = 128.
                            int full = nr == tileCols || nr == TOps.Count ? mc / rowStep : 0;
                            // Aᵀ in place at a 6-row width: a rest of 2 or 4 rows runs as 4-row tiles (M = 128 = 120 + 6 + 2
                            // had run a 6-row tile on a copy for the last 2 rows: AVX2 dW at (768, 512, 128) 97.4 → 101.4 GFLOP/s)
                            int fours = 0;
                            if (stripLayout == LayoutStrided && rowStep == 6 && nr == tileCols && mc % 6 is 2 or 4)
                            {
                                fours = mc % 6 == 4 ? 1 : full > 0 ? 2 : 0;
                                if (mc % 6 == 2 && fours > 0) full--;
                            }
                            if (full > 0)
                            {
                                int col = jc + jr + sub;
                                long at = (long)ic * op.Ldc + col;
                                float* pa = stripLayout switch
                                {
                                    LayoutStrided => op.A + (long)pc * op.Lda + ic,
                                    LayoutRowsInPlace => op.A + (long)ic * op.Lda + pc,
                                    _ => aBuf,
                                };
                                nint aTile = stripLayout switch
                                {
                                    LayoutRows => (nint)rowStep * AS, LayoutStrided => rowStep, LayoutRowsInPlace => (nint)rowStep * op.Lda, _ => (nint)rowStep * kc,
                                };
                                // after the strip: the partial tile below it, else the top of the next column strip
                                float* after = full * rowStep < mc ? op.C + at + (long)full * rowStep * op.Ldc
                                    : sub + tileCols < panelWidth || jr + panelWidth < nc ? op.C + (long)ic * op.Ldc + col + tileCols : null;
                                Kernel<TOps, TVec>(nr == TOps.Count, rowStep, stripLayout, full, kc, pa, aTile, op.Lda, pb, panelWidth, op.C + at, op.Ldc,
                                    init, op.Bias == null ? null : op.Bias + col, last && op.Scale != null ? op.Scale + at : null, after,
                                    stripLayout == LayoutRowsInPlace && jr == 0 && sub == 0);
                            }
                            if (fours > 0)
                            {
                                int col = jc + jr + sub, ir = full * rowStep;
                                long at = (long)(ic + ir) * op.Ldc + col;
                                float* after = sub + tileCols < panelWidth || jr + panelWidth < nc ? op.C + (long)ic * op.Ldc + col + tileCols : null;
                                Kernel<TOps, TVec>(false, 4, LayoutStrided, fours, kc, op.A + (long)pc * op.Lda + ic + ir, 4, op.Lda, pb, panelWidth, op.C + at, op.Ldc,
                                    init, op.Bias == null ? null : op.Bias + col, last && op.Scale != null ? op.Scale + at : null, after);
                            }
                            // the rest are partial tiles (fewer rows, or columns past N): the same kernel on a copy (one vector
                            // wide when that covers it: OC = 65's last column); padding rows and columns hold whatever the
                            // scratch held, each element being independent, and are discarded
                            for (int ir = full * rowStep + 4 * fours; ir < mc; ir += rowStep)
                            {
                                int mr = Math.Min(rowStep, mc - ir);
                                int tileLayout = stripLayout == LayoutStrided && mr < tileRows ? LayoutPacked
                                    : stripLayout == LayoutRowsInPlace && mr < rowStep ? LayoutRows : stripLayout;
                                // rows in place: a partial 6-row tile's rows were copied to the row buffer with the block; a
                                // partial 12-row one's (the narrow strip) are copied now, past them
                                bool narrow12 = rowStep == 12 && tileRows == 6;
                                if (rowsInPlace && narrow12 && mr < 12) CopyRowsA(aBuf + 12 * AS, op.A + (long)(ic + ir) * op.Lda + pc, op.Lda, kc, mr);
                                float* pa = tileLayout switch
                                {
                                    LayoutRows => aBuf + (!rowsInPlace ? (long)ir * AS : narrow12 ? 12 * AS : 0),
                                    LayoutRowsInPlace => op.A + (long)(ic + ir) * op.Lda + pc,
                                    LayoutStrided => op.A + (long)pc * op.Lda + ic + ir,
                                    _ => strided ? aBuf : aBuf + (long)ir * kc,
                                };
                                int col = jc + jr + sub;
                                long at = (long)(ic + ir) * op.Ldc + col;
                                float* ct = op.C + at, scale = last && op.Scale != null ? op.Scale + at : null;
                                if (Sse.IsSupported && (ir + rowStep < mc || sub + tileCols < panelWidth || jr + panelWidth < nc))
                                {
                                    float* next = ir + rowStep < mc ? ct + (long)rowStep * op.Ldc : op.C + (long)ic * op.Ldc + col + tileCols;
                                    PrefetchTile(next, op.Ldc, rowStep, tileCols, scale == null ? 0 : op.Scale - op.C);
                                }
                                for (int r = 0; r < mr; r++)
                                    for (int q = 0; q < nr; q++)
                                        edge[r * NR + q] = !init ? ct[(long)r * op.Ldc + q] : op.Bias == null ? 0f : op.Bias[col + q];
                                Kernel<TOps, TVec>(nr <= TOps.Count, rowStep, tileLayout, 1, kc, pa, 0, op.Lda, pb, panelWidth, edge, NR, false, null, null, null);
                                for (int r = 0; r < mr; r++)
                                    for (int q = 0; q < nr; q++)
                                        ct[(long)r * op.Ldc + q] = scale == null ? edge[r * NR + q] : edge[r * NR + q] * scale[(long)r * op.Ldc + q];
                            }
                        }
                    }
                }
            }
        }
    }

    // Tile heights are the widths' GemmRows: 12 (AVX-512, NEON) or 6 (AVX2, SSE); a narrow tile (one vector of columns,
    // e.g. the edge of OC = 65) halves the wasted FMAs. The per-element arithmetic is the same FMA chain in every variant.
    // The A layout is a type argument so that the broadcasts' offsets are constants folded into the addressing: with
    // runtime strides the JIT recomputed five row offsets per k step and the AVX2 loop was front-end bound.
    private const int LayoutRows = 0, LayoutPacked = 1, LayoutStrided = 2, LayoutRowsInPlace = 3;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel<TOps, TVec>(bool narrow, int rows, int layout, int tiles, int kc, float* pa, nint aTile, int lda, float* pb, int ldb,
        float* c, int ldc, bool init, float* bias, float* scale, float* after, bool fetchA = false) where TOps : ISimd<TVec> where TVec : struct
    {
        var t = new Strip(tiles, aTile, after, fetchA);
        if (layout == LayoutRows) Kernel<TOps, TVec, ARows>(narrow, rows, t, kc, pa, 0, pb, ldb, c, ldc, init, bias, scale);
        else if (layout == LayoutPacked) Kernel<TOps, TVec, APacked>(narrow, TOps.GemmRows, t, kc, pa, 0, pb, ldb, c, ldc, init, bias, scale);
        else if (layout == LayoutRowsInPlace) Kernel<TOps, TVec, ARowsInPlace>(narrow, rows, t, kc, pa, lda, pb, ldb, c, ldc, init, bias, scale);
        else Kernel<TOps, TVec, AStrided>(narrow, rows == 4 ? 4 : TOps.GemmRows, t, kc, pa, lda, pb, ldb, c, ldc, init, bias, scale);
    }

    /// <summary>A column strip of tiles: how many, floats from one tile's A to the next one's, and where the C lines after
    /// the last tile are (null: none to fetch).</summary>
    private readonly struct Strip(int tiles, nint aTile, float* after, bool fetchA)
    {
        public readonly int Tiles = tiles;
        public readonly nint ATile = aTile;
        public readonly float* After = after;
        /// <summary>Fetch each next tile's A rows (read in place, the first strip over them) into L2.</summary>
        public readonly bool FetchA = fetchA;
    }

    // rows: the tile height; besides the width's GemmRows, 12 for a narrow tile at a 6-row width (rows over k, in the row
    // buffer or in place) and 4 for two-vector tiles over Aᵀ in place at a 6-row width
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel<TOps, TVec, TA>(bool narrow, int rows, in Strip s, int kc, float* pa, int lda, float* pb, int ldb, float* c, int ldc,
        bool init, float* bias, float* scale) where TOps : ISimd<TVec> where TVec : struct where TA : struct, IALayout
    {
        if (TOps.GemmRows == 12)
        {
            if (narrow) Tiles<TOps, TVec, Count12, Count1, TA>(s, kc, pa, lda, pb, ldb, c, ldc, init, bias, scale);
            else Tiles<TOps, TVec, Count12, Count2, TA>(s, kc, pa, lda, pb, ldb, c, ldc, init, bias, scale);
        }
        else if (rows == 4 && typeof(TA) == typeof(AStrided)) Tiles<TOps, TVec, Count4, Count2, TA>(s, kc, pa, lda, pb, ldb, c, ldc, init, bias, scale);
        else if (!narrow) Tiles<TOps, TVec, Count6, Count2, TA>(s, kc, pa, lda, pb, ldb, c, ldc, init, bias, scale);
        else if (rows == 12) Tiles<TOps, TVec, Count12, Count1, TA>(s, kc, pa, lda, pb, ldb, c, ldc, init, bias, scale);
        else Tiles<TOps, TVec, Count6, Count1, TA>(s, kc, pa, lda, pb, ldb, c, ldc, init, bias, scale);
    }

    // The tiles of a strip, one below the other: C, scale and A advance by a tile each; while a tile runs, the next one's C
    // (and scale) lines are fetched.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tiles<TOps, TVec, TRows, TVecs, TA>(in Strip s, int kc, float* pa, int lda, float* pb, int ldb, float* c, int ldc,
        bool init, float* bias, float* scale) where TOps : ISimd<TVec> where TVec : struct where TRows : struct, IStaticCount
        where TVecs : struct, IStaticCount where TA : struct, IALayout
    {
        nint cTile = (nint)TRows.Value * ldc, aTile = s.ATile;
        long scaleOffset = scale == null ? 0 : scale - c;
        for (int t = 0; t < s.Tiles; t++, pa += aTile, c += cTile)
        {
            float* next = t + 1 < s.Tiles ? c + cTile : s.After;
            if (Sse.IsSupported && next != null) PrefetchTile(next, ldc, TRows.Value, TVecs.Value * TOps.Count, scaleOffset);
            if (Sse.IsSupported && s.FetchA && t + 1 < s.Tiles)
                for (int r = 0; r < TRows.Value; r++)
                    for (int q = 0; q < kc; q += 16) Sse.Prefetch1(pa + aTile + (long)r * lda + q);
            Tile<TOps, TVec, TRows, TVecs, TA>(kc, pa, lda, pb, ldb, c, ldc, init, bias, scale == null ? null : c + scaleOffset);
        }
    }

    // C's lines for the next tile (below this one, or the top of the next column strip) are fetched while this one runs: a
    // tile of K = 128 takes ~200 ns, a store to a line that is not in cache waits on memory. In a training step the outputs
    // are cold (a step's activations exceed L2): AVX2 forward at (768, 128, 384) ran 85 GFLOP/s in place against 107 in
    // isolation, 98 with this. Into L2, not L1: a tile's rows of C are ldc apart, and at ldc = 512 or 1024 floats its
    // lines and the next tile's share one or two of L1's 64 sets, evicting each other and the B panel (AVX2 dinp at
    // (768, 1024, 128): 91.6 → 97.0 GFLOP/s, (768, 512, 128) 102.8 → 105.2; a nanogpt-cpu step 0.7 % faster).
    // scaleOffset (when not 0): floats from C to the scale laid out as C, fetched alike.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchTile(float* next, int ldc, int rows, int cols, long scaleOffset)
    {
        for (int r = 0; r < rows; r++)
        {
            float* p = next + (long)r * ldc;
            Sse.Prefetch1(p);
            Sse.Prefetch1(p + cols - 1);
            if (scaleOffset == 0) continue;
            Sse.Prefetch1(p + scaleOffset);
            Sse.Prefetch1(p + scaleOffset + cols - 1);
        }
    }

    /// <summary>Where a tile of TRows rows finds A(r,p): pa[p·KStep + r·RowStride].</summary>
    private interface IALayout
    {
        /// <summary>Floats from A(r,p) to A(r+1,p).</summary>
        static abstract nint RowStride(int lda);
        /// <summary>Floats from A(r,p) to A(r,p+1) for a tile of <paramref name="rows"/> rows (lda: A's own stride).</summary>
        static abstract nint KStep(int rows, int lda);
    }
    /// <summary>Rows over k in the row buffer: A(r,p) = pa[r·AS + p].</summary>
    private struct ARows : IALayout { public static nint RowStride(int lda) => AS; public static nint KStep(int rows, int lda) => 1; }
    /// <summary>Rows over k in place: A(r,p) = pa[r·lda + p].</summary>
    private struct ARowsInPlace : IALayout { public static nint RowStride(int lda) => lda; public static nint KStep(int rows, int lda) => 1; }
    /// <summary>Packed [k][TRows]: A(r,p) = pa[p·TRows + r].</summary>
    private struct APacked : IALayout { public static nint RowStride(int lda) => 1; public static nint KStep(int rows, int lda) => rows; }
    /// <summary>Aᵀ in place: A(r,p) = pa[p·lda + r].</summary>
    private struct AStrided : IALayout { public static nint RowStride(int lda) => 1; public static nint KStep(int rows, int lda) => lda; }

    // C[TRows × TVecs·Count] += Σ_p A(r,p)·B(p,·) with A as TA lays it out and B's row p at pb + p·ldb; when init, the
    // accumulators start at the bias row (null: zero) in every row instead of at C's old values; when scale is not null,
    // the sums are multiplied by it (laid out as C) as they are stored.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TOps, TVec, TRows, TVecs, TA>(int kc, float* pa, int lda, float* pb, int ldb, float* c, int ldc, bool init, float* bias, float* scale)
        where TOps : ISimd<TVec> where TVec : struct where TRows : struct, IStaticCount where TVecs : struct, IStaticCount
        where TA : struct, IALayout
    {
        int rows = TRows.Value, v = TOps.Count;
        nint aR = TA.RowStride(lda), aK = TA.KStep(TRows.Value, lda), bStep = ldb;
        nint a2 = 2 * aR, a3 = 3 * aR, a4 = 4 * aR, a5 = 5 * aR; // hoisted: a runtime stride (rows in place) stays in registers
        // rows in place, 12 of them: rows 6-11 from their own base with the same five offsets (eleven would not fit in
        // registers; AVX-512 and NEON tiles, and the one-vector strip at 6-row widths)
        bool split = typeof(TA) == typeof(ARowsInPlace) && rows > 6;
        float* pa6 = pa + 6 * aR;
        bool two = TVecs.Value == 2;
        TVec r00 = default, r01 = default, r10 = default, r11 = default, r20 = default, r21 = default, r30 = default, r31 = default;
        TVec r40 = default, r41 = default, r50 = default, r51 = default, r60 = default, r61 = default, r70 = default, r71 = default;
        TVec r80 = default, r81 = default, r90 = default, r91 = default, rA0 = default, rA1 = default, rB0 = default, rB1 = default;
        if (init)
        {
            TVec i0 = bias == null ? TOps.Zero : TOps.Load(bias), i1 = !two || bias == null ? TOps.Zero : TOps.Load(bias + v);
            r00 = i0; r01 = i1; r10 = i0; r11 = i1; r20 = i0; r21 = i1; r30 = i0; r31 = i1;
            if (rows > 4) { r40 = i0; r41 = i1; r50 = i0; r51 = i1; }
            if (rows > 6) { r60 = i0; r61 = i1; r70 = i0; r71 = i1; r80 = i0; r81 = i1; r90 = i0; r91 = i1; rA0 = i0; rA1 = i1; rB0 = i0; rB1 = i1; }
        }
        else
        {
            r00 = TOps.Load(c); if (two) r01 = TOps.Load(c + v);
            r10 = TOps.Load(c + ldc); if (two) r11 = TOps.Load(c + ldc + v);
            r20 = TOps.Load(c + 2 * ldc); if (two) r21 = TOps.Load(c + 2 * ldc + v);
            r30 = TOps.Load(c + 3 * ldc); if (two) r31 = TOps.Load(c + 3 * ldc + v);
            if (rows > 4)
            {
                r40 = TOps.Load(c + 4 * ldc); if (two) r41 = TOps.Load(c + 4 * ldc + v);
                r50 = TOps.Load(c + 5 * ldc); if (two) r51 = TOps.Load(c + 5 * ldc + v);
            }
            if (rows > 6)
            {
                r60 = TOps.Load(c + 6 * ldc); if (two) r61 = TOps.Load(c + 6 * ldc + v);
                r70 = TOps.Load(c + 7 * ldc); if (two) r71 = TOps.Load(c + 7 * ldc + v);
                r80 = TOps.Load(c + 8 * ldc); if (two) r81 = TOps.Load(c + 8 * ldc + v);
                r90 = TOps.Load(c + 9 * ldc); if (two) r91 = TOps.Load(c + 9 * ldc + v);
                rA0 = TOps.Load(c + 10 * ldc); if (two) rA1 = TOps.Load(c + 10 * ldc + v);
                rB0 = TOps.Load(c + 11 * ldc); if (two) rB1 = TOps.Load(c + 11 * ldc + v);
            }
        }
        for (float* aEnd = pa + kc * aK; pa < aEnd; pa += aK, pb += bStep)
        {
            var b0 = TOps.Load(pb);
            var b1 = two ? TOps.Load(pb + v) : b0;
            var x = TOps.Broadcast(pa[0]); r00 = TOps.MultiplyAdd(x, b0, r00); if (two) r01 = TOps.MultiplyAdd(x, b1, r01);
            x = TOps.Broadcast(pa[aR]); r10 = TOps.MultiplyAdd(x, b0, r10); if (two) r11 = TOps.MultiplyAdd(x, b1, r11);
            x = TOps.Broadcast(pa[a2]); r20 = TOps.MultiplyAdd(x, b0, r20); if (two) r21 = TOps.MultiplyAdd(x, b1, r21);
            x = TOps.Broadcast(pa[a3]); r30 = TOps.MultiplyAdd(x, b0, r30); if (two) r31 = TOps.MultiplyAdd(x, b1, r31);
            if (rows > 4)
            {
                x = TOps.Broadcast(pa[a4]); r40 = TOps.MultiplyAdd(x, b0, r40); if (two) r41 = TOps.MultiplyAdd(x, b1, r41);
                x = TOps.Broadcast(pa[a5]); r50 = TOps.MultiplyAdd(x, b0, r50); if (two) r51 = TOps.MultiplyAdd(x, b1, r51);
            }
            if (split)
            {
                x = TOps.Broadcast(pa6[0]); r60 = TOps.MultiplyAdd(x, b0, r60); if (two) r61 = TOps.MultiplyAdd(x, b1, r61);
                x = TOps.Broadcast(pa6[aR]); r70 = TOps.MultiplyAdd(x, b0, r70); if (two) r71 = TOps.MultiplyAdd(x, b1, r71);
                x = TOps.Broadcast(pa6[a2]); r80 = TOps.MultiplyAdd(x, b0, r80); if (two) r81 = TOps.MultiplyAdd(x, b1, r81);
                x = TOps.Broadcast(pa6[a3]); r90 = TOps.MultiplyAdd(x, b0, r90); if (two) r91 = TOps.MultiplyAdd(x, b1, r91);
                x = TOps.Broadcast(pa6[a4]); rA0 = TOps.MultiplyAdd(x, b0, rA0); if (two) rA1 = TOps.MultiplyAdd(x, b1, rA1);
                x = TOps.Broadcast(pa6[a5]); rB0 = TOps.MultiplyAdd(x, b0, rB0); if (two) rB1 = TOps.MultiplyAdd(x, b1, rB1);
                pa6 += aK;
            }
            else if (rows > 6)
            {
                x = TOps.Broadcast(pa[6 * aR]); r60 = TOps.MultiplyAdd(x, b0, r60); if (two) r61 = TOps.MultiplyAdd(x, b1, r61);
                x = TOps.Broadcast(pa[7 * aR]); r70 = TOps.MultiplyAdd(x, b0, r70); if (two) r71 = TOps.MultiplyAdd(x, b1, r71);
                x = TOps.Broadcast(pa[8 * aR]); r80 = TOps.MultiplyAdd(x, b0, r80); if (two) r81 = TOps.MultiplyAdd(x, b1, r81);
                x = TOps.Broadcast(pa[9 * aR]); r90 = TOps.MultiplyAdd(x, b0, r90); if (two) r91 = TOps.MultiplyAdd(x, b1, r91);
                x = TOps.Broadcast(pa[10 * aR]); rA0 = TOps.MultiplyAdd(x, b0, rA0); if (two) rA1 = TOps.MultiplyAdd(x, b1, rA1);
                x = TOps.Broadcast(pa[11 * aR]); rB0 = TOps.MultiplyAdd(x, b0, rB0); if (two) rB1 = TOps.MultiplyAdd(x, b1, rB1);
            }
        }
        if (scale != null)
        {
            float* s = scale;
            r00 = TOps.Multiply(r00, TOps.Load(s)); if (two) r01 = TOps.Multiply(r01, TOps.Load(s + v)); s += ldc;
            r10 = TOps.Multiply(r10, TOps.Load(s)); if (two) r11 = TOps.Multiply(r11, TOps.Load(s + v)); s += ldc;
            r20 = TOps.Multiply(r20, TOps.Load(s)); if (two) r21 = TOps.Multiply(r21, TOps.Load(s + v)); s += ldc;
            r30 = TOps.Multiply(r30, TOps.Load(s)); if (two) r31 = TOps.Multiply(r31, TOps.Load(s + v)); s += ldc;
            if (rows > 4)
            {
                r40 = TOps.Multiply(r40, TOps.Load(s)); if (two) r41 = TOps.Multiply(r41, TOps.Load(s + v)); s += ldc;
                r50 = TOps.Multiply(r50, TOps.Load(s)); if (two) r51 = TOps.Multiply(r51, TOps.Load(s + v)); s += ldc;
            }
            if (rows > 6)
            {
                r60 = TOps.Multiply(r60, TOps.Load(s)); if (two) r61 = TOps.Multiply(r61, TOps.Load(s + v)); s += ldc;
                r70 = TOps.Multiply(r70, TOps.Load(s)); if (two) r71 = TOps.Multiply(r71, TOps.Load(s + v)); s += ldc;
                r80 = TOps.Multiply(r80, TOps.Load(s)); if (two) r81 = TOps.Multiply(r81, TOps.Load(s + v)); s += ldc;
                r90 = TOps.Multiply(r90, TOps.Load(s)); if (two) r91 = TOps.Multiply(r91, TOps.Load(s + v)); s += ldc;
                rA0 = TOps.Multiply(rA0, TOps.Load(s)); if (two) rA1 = TOps.Multiply(rA1, TOps.Load(s + v)); s += ldc;
                rB0 = TOps.Multiply(rB0, TOps.Load(s)); if (two) rB1 = TOps.Multiply(rB1, TOps.Load(s + v));
            }
        }
        TOps.Store(r00, c); if (two) TOps.Store(r01, c + v);
        TOps.Store(r10, c + ldc); if (two) TOps.Store(r11, c + ldc + v);
        TOps.Store(r20, c + 2 * ldc); if (two) TOps.Store(r21, c + 2 * ldc + v);
        TOps.Store(r30, c + 3 * ldc); if (two) TOps.Store(r31, c + 3 * ldc + v);
        if (rows > 4)
        {
            TOps.Store(r40, c + 4 * ldc); if (two) TOps.Store(r41, c + 4 * ldc + v);
            TOps.Store(r50, c + 5 * ldc); if (two) TOps.Store(r51, c + 5 * ldc + v);
        }
        if (rows > 6)
        {
            TOps.Store(r60, c + 6 * ldc); if (two) TOps.Store(r61, c + 6 * ldc + v);
            TOps.Store(r70, c + 7 * ldc); if (two) TOps.Store(r71, c + 7 * ldc + v);
            TOps.Store(r80, c + 8 * ldc); if (two) TOps.Store(r81, c + 8 * ldc + v);
            TOps.Store(r90, c + 9 * ldc); if (two) TOps.Store(r91, c + 9 * ldc + v);
            TOps.Store(rA0, c + 10 * ldc); if (two) TOps.Store(rA1, c + 10 * ldc + v);
            TOps.Store(rB0, c + 11 * ldc); if (two) TOps.Store(rB1, c + 11 * ldc + v);
        }
    }

    // aBuf[r][AS]: rows of A over k, rows beyond mc zero (up to the next multiple of MR, enough for any tile height).
    private static void CopyRowsA(float* dst, float* a, int lda, int kc, int mc)
    {
        int rows = (mc + MR - 1) / MR * MR;
        for (int r = 0; r < rows; r++)
        {
            var d = new Span<float>(dst + (long)r * AS, kc);
            if (r < mc) new ReadOnlySpan<float>(a + (long)r * lda, kc).CopyTo(d);
            else d.Clear();
        }
    }

    // dst[panel][k][width]: width consecutive values of row k of a k-major source (B's row k; for dW, Aᵀ's row k, i.e.
    // A[k, m..]), zero beyond n. Row k is read once, front to back, and dealt out to the panels (panel by panel, each row
    // was revisited once per panel: 5 % of a step). Packs B into panels as wide as the tile, and Aᵀ into tiles as tall.
    private static void PackPanels(float* dst, float* src, int ld, int kc, int n, int width)
    {
        int panels = (n + width - 1) / width, full = n / width;
        long panelStride = (long)kc * width;
        for (int p = 0; p < kc; p++)
        {
            float* s = src + (long)p * ld, d = dst + (long)p * width;
            for (int t = 0; t < full; t++) Copy(d + t * panelStride, s + t * width, width);
            if (full < panels)
            {
                int nr = n - full * width;
                float* dt = d + full * panelStride, st = s + full * width;
                for (int q = 0; q < width; q++) dt[q] = q < nr ? st[q] : 0f;
            }
        }
    }

    // A short copy of 6, 8, 12, 16 or 32 floats with 256- or 128-bit moves (a memmove call per row would cost as much as
    // the copy).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(float* dst, float* src, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(src + i), dst + i);
        for (; i + 4 <= n; i += 4) Vector128.Store(Vector128.Load(src + i), dst + i);
        for (; i < n; i++) dst[i] = src[i];
    }

    // Without vectors: the same chain per element (fused exactly where the vector widths are).
    private static void Scalar(in GemmOperands op, int m0, int m1, int n0, int n1)
    {
        int k = op.K;
        for (int m = m0; m < m1; m++)
        {
            float* crow = op.C + (long)m * op.Ldc;
            for (int n = n0; n < n1; n++)
            {
                float acc = op.InitC ? (op.Bias == null ? 0f : op.Bias[n]) : crow[n];
                for (int p = 0; p < k; p++) acc = Simd128.MultiplyAdd(AAt(op, m, p), BAt(op, p, n), acc);
                crow[n] = op.Scale == null ? acc : acc * op.Scale[(long)m * op.Ldc + n];
            }
        }
    }

    private static float AAt(in GemmOperands op, int m, int k) => op.ARowsOverK ? op.A[(long)m * op.Lda + k] : op.A[(long)k * op.Lda + m];

    private static float BAt(in GemmOperands op, int k, int n) =>
        op.BPrepacked ? op.B[(long)(n / NR) * op.K * NR + (long)k * NR + n % NR] : op.B[(long)k * op.Ldb + n];
}
