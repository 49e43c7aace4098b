// Bad shapes throw ArgumentException naming the offending argument, in every backend.
namespace MLNetGpt.Tensors.Tests;

[TestClass]
public sealed class ShapeValidationTests
{
    public static IEnumerable<object[]> Backends => [[ReferenceBackend.Instance], [CpuBackend.Create(2)]];

    private static void Throws(string param, Action a)
    {
        var ex = Assert.Throws<ArgumentException>(a);
        Assert.AreEqual(param, ex.ParamName, ex.Message);
    }

    [TestMethod]
    [DynamicData(nameof(Backends))]
    public void BadShapesNameTheArgument(IComputeBackend be)
    {
        float[] f6 = new float[6], f5 = new float[5], f12 = new float[12], f0 = [];
        // matmul: bt=2, c=3, oc=2 → out 4, inp 6, w 6, bias 2
        Throws("output", () => be.MatMulForward(new float[3], f6, f6, f0, 2, 3, 2));
        Throws("input", () => be.MatMulForward(new float[4], f5, f6, f0, 2, 3, 2));
        Throws("weight", () => be.MatMulForward(new float[4], f6, f5, f0, 2, 3, 2));
        Throws("bias", () => be.MatMulForward(new float[4], f6, f6, new float[1], 2, 3, 2));
        Throws("dinput", () => be.MatMulBackward(f5, f6, f0, new float[4], f6, f6, 2, 3, 2));
        Throws("dweight", () => be.MatMulBackward(f6, f5, f0, new float[4], f6, f6, 2, 3, 2));
        Throws("dbias", () => be.MatMulBackward(f6, f6, new float[1], new float[4], f6, f6, 2, 3, 2));
        Throws("doutput", () => be.MatMulBackward(f6, f6, f0, new float[3], f6, f6, 2, 3, 2));
        Throws("dinputScale", () => be.MatMulBackwardAssign(f6, f5, f6, f0, new float[4], f6, f6, 2, 3, 2));
        Throws("dinputScale", () => be.MatMulBackwardAssign(f0, f6, f6, f0, new float[4], f6, f6, 2, 3, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => be.MatMulForward(f0, f0, f0, f0, 0, 0, 2));
        // encoder
        Throws("tokens", () => be.EncoderForward(f12, [0, 9], f6, f6, 1, 2, 3));
        Throws("wpe", () => be.EncoderForward(f12, [0, 1], f6, new float[3], 1, 2, 3));
        Throws("doutput", () => be.EncoderBackward(f6, f6, f5, [0, 1], 1, 2, 3));
        // layernorm: n=2, c=3
        Throws("output", () => be.LayerNormForward(f5, new float[2], new float[2], f6, new float[3], f0, 2, 3));
        Throws("mean", () => be.LayerNormForward(f6, new float[1], new float[2], f6, new float[3], f0, 2, 3));
        Throws("dbias", () => be.LayerNormBackward(f6, new float[3], new float[2], f6, f6, new float[3], new float[2], new float[2], 2, 3));
        // attention: b=1, t=2, c=2, nh=1 → out 4, att 4, qkv 12
        Throws("qkv", () => be.AttentionForward(new float[4], new float[4], f6, 1, 2, 2, 1));
        Throws("att", () => be.AttentionForward(new float[4], new float[3], f12, 1, 2, 2, 1));
        Throws("nh", () => be.AttentionForward(new float[4], new float[8], f12, 1, 2, 2, 3));
        Throws("dqkv", () => be.AttentionBackward(f6, new float[4], f12, new float[4], 1, 2, 2, 1));
        Throws("pos", () => be.AttentionForwardCached(new float[2], new float[2], new float[4], new float[4], [2], 1, 1, 2, 2, 1));
        // elementwise
        Throws("output", () => be.GeluForward(f5, f6, 6));
        Throws("doutput", () => be.GeluBackward(f6, f6, f5, 6));
        Throws("derivative", () => be.GeluForward(f6, f5, f6, 6));
        Throws("b", () => be.ResidualForward(f6, f6, f5, 6));
        Throws("input", () => be.DropoutForward(f6, f5, 0.1f, 1, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => be.DropoutForward(f6, f6, 1f, 1, 6));
        // softmax: bt=2, v=3
        Throws("targets", () => be.SoftmaxCrossEntropyForward(new float[2], f6, f6, [0, 3], 2, 3));
        Throws("logits", () => be.SoftmaxCrossEntropyForward(new float[2], f6, f5, [0, 1], 2, 3));
        Throws("dlogits", () => be.SoftmaxCrossEntropyBackward(f5, new float[2], f6, [0, 1], 2, 3));
        // adamw
        Throws("m", () => be.AdamW(f6, f6, f5, f6, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => be.AdamW(f6, f6, f6, f6, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 0));
    }

    [TestMethod]
    public void MessagesGiveTheSizes()
    {
        var ex = Assert.Throws<ArgumentException>(() => ReferenceBackend.Instance.MatMulForward(new float[3], new float[6], new float[6], [], 2, 3, 2));
        StringAssert.Contains(ex.Message, "[2,2]");
        StringAssert.Contains(ex.Message, "3");
    }
}
