// GELU's fast vectorized tanh against the reference over the whole float range that matters: saturation, zero, tiny values.
namespace MLNetGpt.Tensors.Tests;

[TestClass]
public sealed class GeluRangeTests
{
    [TestMethod]
    public void FastGeluMatchesReferenceFromSaturationToZero()
    {
        var xs = new List<float> { -1e4f, -100f, -45f, -44f, -20f, -10f, -5f, -3f, -1f, -1e-3f, -1e-20f, 0f, 1e-20f, 1e-3f, 1f, 3f, 5f, 10f, 20f, 44f, 45f, 100f, 1e4f };
        for (float x = -12f; x <= 12f; x += 0.0137f) xs.Add(x);
        var input = xs.ToArray();
        var dout = Enumerable.Repeat(1f, input.Length).ToArray();
        foreach (var backend in new[] { CpuBackend.Create(1), CpuBackend.Create(2) })
        {
            var fast = new float[input.Length];
            var reference = new float[input.Length];
            backend.GeluForward(fast, input, input.Length);
            ReferenceBackend.Instance.GeluForward(reference, input, input.Length);
            var fastGrad = new float[input.Length];
            var referenceGrad = new float[input.Length];
            backend.GeluBackward(fastGrad, input, dout, input.Length);
            ReferenceBackend.Instance.GeluBackward(referenceGrad, input, dout, input.Length);
            for (int i = 0; i < input.Length; i++)
            {
                Assert.AreEqual(reference[i], fast[i], 2e-6 * Math.Max(1, Math.Abs(input[i])), $"gelu({input[i]})");
                Assert.AreEqual(referenceGrad[i], fastGrad[i], 2e-6 * Math.Max(1, Math.Abs(input[i])), $"gelu'({input[i]})");
                Assert.IsTrue(float.IsFinite(fast[i]) && float.IsFinite(fastGrad[i]), $"finite at {input[i]}");
            }
        }
    }
}
