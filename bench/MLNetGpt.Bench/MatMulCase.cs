// One benchmark shape: buffers for out = inp·Wᵀ + b, dinp += dout·W, dW += doutᵀ·inp, run by our kernels or by OpenBLAS.
using MLNetGpt.Tensors;

namespace MLNetGpt.Bench;

internal sealed unsafe class MatMulCase
{
    private readonly int _bt, _c, _oc;
    private readonly float[] _inp, _w, _b, _out, _dout, _dinp, _dw, _db;
    private readonly CpuBackend _backend;
    private readonly Scratch _scratch;

    private MatMulCase(int bt, int c, int oc, int threads)
    {
        (_bt, _c, _oc) = (bt, c, oc);
        var rng = new Random(1);
        float[] R(int n) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)rng.NextDouble() - 0.5f; return a; }
        _inp = R(bt * c); _w = R(oc * c); _b = R(oc); _out = new float[bt * oc];
        _dout = R(bt * oc); _dinp = new float[bt * c]; _dw = new float[oc * c]; _db = new float[oc];
        _backend = CpuBackend.Create(threads);
        _scratch = new Scratch(threads);
    }

    public static MatMulCase Create(int bt, int c, int oc, int threads) => new(bt, c, oc, threads);

    public void Ours(string kernel)
    {
        fixed (float* inp = _inp, w = _w, b = _b, o = _out, dout = _dout, dinp = _dinp, dw = _dw, db = _db)
        {
            switch (kernel)
            {
                case "forward": _backend.MatMulForward(_out, _inp, _w, _b, _bt, _c, _oc); break;
                case "backward_dinp": CpuMatMul.InputGradient(_backend.Pool, _scratch, _backend.Width, dinp, dout, w, _bt, _c, _oc); break;
                case "backward_dweight": CpuMatMul.WeightGradient(_backend.Pool, _scratch, _backend.Width, dw, null, dout, inp, _bt, _c, _oc); break;
                default: throw new ArgumentException(kernel);
            }
        }
    }

    public void Blas(string kernel)
    {
        fixed (float* inp = _inp, w = _w, o = _out, dout = _dout, dinp = _dinp, dw = _dw)
        {
            switch (kernel)
            {
                case "forward":
                    OpenBlas.Sgemm(OpenBlas.RowMajor, OpenBlas.NoTrans, OpenBlas.Trans, _bt, _oc, _c, 1f, inp, _c, w, _c, 0f, o, _oc); break;
                case "backward_dinp":
                    OpenBlas.Sgemm(OpenBlas.RowMajor, OpenBlas.NoTrans, OpenBlas.NoTrans, _bt, _c, _oc, 1f, dout, _oc, w, _c, 1f, dinp, _c); break;
                case "backward_dweight":
                    OpenBlas.Sgemm(OpenBlas.RowMajor, OpenBlas.Trans, OpenBlas.NoTrans, _oc, _c, _bt, 1f, dout, _oc, inp, _c, 1f, dw, _c); break;
                default: throw new ArgumentException(kernel);
            }
        }
    }
}
