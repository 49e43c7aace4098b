// The fast matmul against the reference at awkward sizes, and its determinism contract: an output element does not
// depend on BT, on its place in a tile, or on the thread count.
using static MLNetGpt.Tensors.Tests.TestUtil;

namespace MLNetGpt.Tensors.Tests;

[TestClass]
public sealed class MatMulTests
{
    private static readonly ReferenceBackend R = ReferenceBackend.Instance;
    private static readonly int[] Awkward = [1, 3, 7, 15, 16, 17, 63, 64, 65, 127, 257];

    public static IEnumerable<object[]> Shapes()
    {
        foreach (int s in Awkward)
        {
            yield return [s, 37, 19];
            yield return [5, s, 23];
            yield return [9, 33, s];
        }
        yield return [0, 16, 16];
        yield return [70, 257, 129];
        yield return [130, 64, 65];
        yield return [3, 1536, 40];
        // dW reads doutᵀ in place when OC and C are at most 512 and packs it otherwise: both sides of each bound
        yield return [45, 70, 531];
        yield return [45, 530, 70];
        yield return [45, 70, 512];
        // the forward over a pre-packed weight below 512 bits takes k blocks of 768: three blocks, the last partial
        yield return [37, 1600, 45];
        // at 6-row widths a last strip one vector wide runs 12-row tiles over rows of A read in place (full, partial
        // columns, partial rows), and dW's Aᵀ in place ends in 4-row tiles when OC % 6 is 2 or 4
        yield return [37, 70, 24];
        yield return [26, 40, 56];
        yield return [50, 24, 134];
    }

    [TestMethod]
    [DynamicData(nameof(Shapes))]
    public void MatchesReference(int bt, int c, int oc)
    {
        foreach (int threads in new[] { 1, 2 })
        {
            var be = CpuBackend.Create(threads);
            var inp = Random(bt * c, 1); var w = Random(oc * c, 2); var b = Random(oc, 3);
            var expected = new float[bt * oc]; var actual = new float[bt * oc];
            R.MatMulForward(expected, inp, w, b, bt, c, oc);
            be.MatMulForward(actual, inp, w, b, bt, c, oc);
            double tol = 1e-6 * Math.Sqrt(c) * 4;
            AssertClose(expected, actual, tol, $"out {bt}x{c}x{oc} t{threads}");

            var dout = Random(bt * oc, 4);
            var di0 = Random(bt * c, 5); var dw0 = Random(oc * c, 6); var db0 = Random(oc, 7);
            var (die, dwe, dbe) = ((float[])di0.Clone(), (float[])dw0.Clone(), (float[])db0.Clone());
            var (dia, dwa, dba) = ((float[])di0.Clone(), (float[])dw0.Clone(), (float[])db0.Clone());
            R.MatMulBackward(die, dwe, dbe, dout, inp, w, bt, c, oc);
            be.MatMulBackward(dia, dwa, dba, dout, inp, w, bt, c, oc);
            AssertClose(die, dia, 1e-6 * Math.Sqrt(oc) * 4, "dinp");
            AssertClose(dwe, dwa, 1e-6 * Math.Sqrt(bt + 1) * 4, "dweight");
            AssertClose(dbe, dba, 1e-6 * Math.Sqrt(bt + 1) * 4, "dbias");
            // assigned input gradient, plain and times a kept activation derivative: dinput starts as NaN (never read)
            foreach (var scale in new[] { Array.Empty<float>(), Random(bt * c, 8) })
            {
                var dis = Enumerable.Repeat(float.NaN, bt * c).ToArray(); var dir = new float[bt * c];
                var (dws, dbs) = ((float[])dw0.Clone(), (float[])db0.Clone());
                var (dwr, dbr) = ((float[])dw0.Clone(), (float[])db0.Clone());
                R.MatMulBackwardAssign(dir, scale, dwr, dbr, dout, inp, w, bt, c, oc);
                be.MatMulBackwardAssign(dis, scale, dws, dbs, dout, inp, w, bt, c, oc);
                AssertClose(dir, dis, 1e-6 * Math.Sqrt(oc) * 4, $"dinp assigned (scaled: {scale.Length > 0})");
                AssertClose(dwe, dws, 1e-6 * Math.Sqrt(bt + 1) * 4, "dweight with dinp assigned");
                AssertClose(dbe, dbs, 1e-6 * Math.Sqrt(bt + 1) * 4, "dbias with dinp assigned");
            }
            // without bias and input gradient
            be.MatMulForward(actual, inp, w, [], bt, c, oc);
            R.MatMulForward(expected, inp, w, [], bt, c, oc);
            AssertClose(expected, actual, tol, "out without bias");
            var dw2 = (float[])dw0.Clone(); var dw3 = (float[])dw0.Clone();
            be.MatMulBackward([], dw2, [], dout, inp, w, bt, c, oc);
            R.MatMulBackward([], dw3, [], dout, inp, w, bt, c, oc);
            AssertClose(dw3, dw2, 1e-6 * Math.Sqrt(bt + 1) * 4, "dweight alone");
        }
    }

    [TestMethod]
    [DataRow(16)] [DataRow(17)] [DataRow(65)] [DataRow(384)] [DataRow(5)]
    public void RowsDoNotDependOnBatchSizeOrThreads(int c)
    {
        const int bt = 37, oc = 67;
        var inp = Random(bt * c, 1); var w = Random(oc * c, 2); var b = Random(oc, 3);
        var full = new float[bt * oc];
        CpuBackend.Create(1).MatMulForward(full, inp, w, b, bt, c, oc);
        foreach (int threads in new[] { 1, 2, 3 })
        {
            var be = CpuBackend.Create(threads);
            var again = new float[bt * oc];
            be.MatMulForward(again, inp, w, b, bt, c, oc);
            AssertBitwise(full, again, $"BT={bt} with {threads} threads");
            var one = new float[oc];
            for (int row = 0; row < bt; row++)
            {
                be.MatMulForward(one, inp.AsSpan(row * c, c), w, b, 1, c, oc);
                AssertBitwise(full.AsSpan(row * oc, oc), one, $"row {row} alone, {threads} threads");
            }
            for (int rows = 2; rows <= 9; rows++) // a few rows at a time: rows land at other places in tiles
            {
                var part = new float[rows * oc];
                be.MatMulForward(part, inp.AsSpan(3 * c, rows * c), w, b, rows, c, oc);
                AssertBitwise(full.AsSpan(3 * oc, rows * oc), part, $"rows 3..{3 + rows}");
            }
        }
    }

    [TestMethod]
    public void BackwardIsBitwiseEqualAcrossThreadCounts()
    {
        const int bt = 129, c = 70, oc = 95;
        var inp = Random(bt * c, 1); var w = Random(oc * c, 2); var dout = Random(bt * oc, 3);
        float[]? di1 = null, dw1 = null, db1 = null;
        foreach (int threads in new[] { 1, 2, 3, 4 })
        {
            var di = Random(bt * c, 4); var dw = Random(oc * c, 5); var db = Random(oc, 6);
            CpuBackend.Create(threads).MatMulBackward(di, dw, db, dout, inp, w, bt, c, oc);
            if (di1 == null) { di1 = di; dw1 = dw; db1 = db; continue; }
            AssertBitwise(di1, di, $"dinp {threads} threads");
            AssertBitwise(dw1!, dw, $"dweight {threads} threads");
            AssertBitwise(db1!, db, $"dbias {threads} threads");
        }
    }

    [TestMethod]
    [DataRow(1, 33, 20)] [DataRow(37, 70, 45)] [DataRow(5, 16, 16)] [DataRow(13, 257, 65)] [DataRow(130, 300, 97)]
    public void EveryWidthGivesTheSameBits(int bt, int c, int oc)
    {
        // one multiply-add chain per element at every width: AVX-512, AVX2, 128-bit and scalar agree bitwise (all fused where
        // the machine has FMA, all a multiply then an add where it has not)
        var inp = Random(bt * c, 1); var w = Random(oc * c, 2); var b = Random(oc, 3); var dout = Random(bt * oc, 4);
        (float[] O, float[] P, float[] Di, float[] Dw, float[] Db) Run()
        {
            var be = CpuBackend.Create(2);
            var o = new float[bt * oc]; var di = Random(bt * c, 5); var dw = Random(oc * c, 6); var db = Random(oc, 7);
            be.MatMulForward(o, inp, w, b, bt, c, oc);
            var packed = new float[PackedWeight.Length(c, oc)];
            be.PackMatMulWeight(packed, w, c, oc);
            var p = new float[bt * oc];
            be.MatMulForwardPacked(p, inp, packed, b, bt, c, oc);
            be.MatMulBackward(di, dw, db, dout, inp, w, bt, c, oc);
            return (o, p, di, dw, db);
        }
        var best = Widths.At(Widths.Supported[0], Run);
        AssertBitwise(best.O, best.P, "packed forward at the best width");
        foreach (var width in Widths.Supported.Skip(1))
        {
            var other = Widths.At(width, Run);
            AssertBitwise(best.O, other.O, $"forward at {width}");
            AssertBitwise(best.P, other.P, $"packed forward at {width}");
            AssertBitwise(best.Di, other.Di, $"dinp at {width}");
            AssertBitwise(best.Dw, other.Dw, $"dweight at {width}");
            AssertBitwise(best.Db, other.Db, $"dbias at {width}");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Shapes))]
    public void EveryWidthMatchesReference(int bt, int c, int oc)
    {
        foreach (var width in Widths.Supported) Widths.At(width, () => MatchesReference(bt, c, oc));
    }

    public static IEnumerable<object[]> PackedShapes()
    {
        foreach (int bt in new[] { 0, 1, 2, 3, 4, 5, 7, 8, 9, 33 })
            foreach (int oc in new[] { 1, 16, 31, 32, 33, 65, 96, 128 })
                yield return [bt, 37, oc];
        yield return [1, 1, 7];
        yield return [3, 128, 384];
        yield return [6, 512, 128];
    }

    [TestMethod]
    [DynamicData(nameof(PackedShapes))]
    public void PackedForwardEqualsForwardBitwise(int bt, int c, int oc)
    {
        var inp = Random(bt * c, 1); var w = Random(oc * c, 2); var b = Random(oc, 3);
        // the packed buffer is longer than needed and pre-filled with garbage: padding must be written as zeros
        var packedRef = Random(PackedWeight.Length(c, oc) + 5, 4);
        R.PackMatMulWeight(packedRef, w, c, oc);
        var expectedRef = new float[bt * oc]; var actualRef = Random(bt * oc, 5);
        R.MatMulForward(expectedRef, inp, w, b, bt, c, oc);
        R.MatMulForwardPacked(actualRef, inp, packedRef, b, bt, c, oc);
        AssertBitwise(expectedRef, actualRef, $"reference packed {bt}x{c}x{oc}");
        foreach (int threads in new[] { 1, 2, 3 })
        {
            var be = CpuBackend.Create(threads);
            var packed = Random(PackedWeight.Length(c, oc) + 5, 6);
            be.PackMatMulWeight(packed, w, c, oc);
            AssertBitwise(packedRef.AsSpan(0, PackedWeight.Length(c, oc)), packed.AsSpan(0, PackedWeight.Length(c, oc)), "packed layout");
            foreach (var bias in new[] { b, [] })
            {
                var expected = new float[bt * oc]; var actual = Random(bt * oc, 7);
                be.MatMulForward(expected, inp, w, bias, bt, c, oc);
                be.MatMulForwardPacked(actual, inp, packed, bias, bt, c, oc);
                AssertBitwise(expected, actual, $"cpu packed {bt}x{c}x{oc}, {threads} threads, bias {bias.Length}");
            }
        }
    }

    [TestMethod]
    [DataRow(7, 33)] [DataRow(1, 1)] [DataRow(128, 96)] [DataRow(20, 65)]
    public void UnpackingInvertsPacking(int c, int oc)
    {
        var w = Random(oc * c, 8);
        var packed = new float[PackedWeight.Length(c, oc)];
        CpuBackend.Create(1).PackMatMulWeight(packed, w, c, oc);
        var back = Random(oc * c, 9);
        PackedWeight.Unpack(back, packed, c, oc);
        AssertBitwise(w, back, $"unpacked [{oc},{c}]");
        var e = Assert.ThrowsExactly<ArgumentException>(() => PackedWeight.Unpack(back, packed.AsSpan(1), c, oc));
        StringAssert.Contains(e.Message, "packed");
    }

    [TestMethod]
    [DynamicData(nameof(PackedShapes))]
    public void PackedForwardEqualsForwardBitwiseAtEveryWidth(int bt, int c, int oc)
    {
        foreach (var width in Widths.Supported.Skip(1)) Widths.At(width, () => PackedForwardEqualsForwardBitwise(bt, c, oc));
    }

    [TestMethod]
    public void PackedShapesAreValidated()
    {
        var be = CpuBackend.Create(1);
        var w = new float[40 * 10];
        var ex = Assert.ThrowsExactly<ArgumentException>(() => be.PackMatMulWeight(new float[PackedWeight.Length(10, 40) - 1], w, 10, 40));
        StringAssert.Contains(ex.Message, "packed");
        ex = Assert.ThrowsExactly<ArgumentException>(() => be.MatMulForwardPacked(new float[40], new float[10], new float[400], [], 1, 10, 40));
        StringAssert.Contains(ex.Message, "packedWeight");
        Assert.AreEqual(64 * 10, PackedWeight.Length(10, 40));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => PackedWeight.Length(0, 40));
    }

    [TestMethod]
    public void SerialThresholdDoesNotChangeBits()
    {
        // the production threshold runs these shapes on the calling thread; the suite runs them split over the threads
        const int bt = 64, c = 96, oc = 80;
        var inp = Random(bt * c, 1); var w = Random(oc * c, 2); var b = Random(oc, 3); var dout = Random(bt * oc, 4);
        (float[] O, float[] Dw) Run()
        {
            var be = CpuBackend.Create(2);
            var o = new float[bt * oc]; var dw = new float[oc * c];
            be.MatMulForward(o, inp, w, b, bt, c, oc);
            be.MatMulBackward([], dw, [], dout, inp, w, bt, c, oc);
            return (o, dw);
        }
        var split = Run();
        long saved = WorkerPool.MinParallelWork;
        WorkerPool.MinParallelWork = WorkerPool.DefaultMinParallelWork;
        try
        {
            var serial = Run();
            AssertBitwise(split.O, serial.O, "forward");
            AssertBitwise(split.Dw, serial.Dw, "dweight");
        }
        finally { WorkerPool.MinParallelWork = saved; }
    }
}
