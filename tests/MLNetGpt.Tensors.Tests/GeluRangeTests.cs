// GELU's fast vectorized tanh against the reference over the whole float range that matters (saturation, zero, tiny
// values) at every width this machine runs, and the estimated reciprocal GELU divides with.
using System.Runtime.Intrinsics;

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
        foreach (var width in Widths.Supported)
            foreach (int threads in new[] { 1, 2 })
            {
                var backend = Widths.At(width, () => CpuBackend.Create(threads));
                var fast = new float[input.Length];
                var reference = new float[input.Length];
                backend.GeluForward(fast, input, input.Length);
                ReferenceBackend.Instance.GeluForward(reference, input, input.Length);
                var fastGrad = new float[input.Length];
                var referenceGrad = new float[input.Length];
                backend.GeluBackward(fastGrad, input, dout, input.Length);
                ReferenceBackend.Instance.GeluBackward(referenceGrad, input, dout, input.Length);
                // the derivative a training forward keeps, in place over its input, and the output beside it
                var kept = (float[])input.Clone();
                var keptOut = new float[input.Length];
                backend.GeluForward(keptOut, kept, kept, input.Length);
                for (int i = 0; i < input.Length; i++)
                {
                    Assert.AreEqual(reference[i], fast[i], 2e-6 * Math.Max(1, Math.Abs(input[i])), $"{width}: gelu({input[i]})");
                    Assert.AreEqual(referenceGrad[i], fastGrad[i], 2e-6 * Math.Max(1, Math.Abs(input[i])), $"{width}: gelu'({input[i]})");
                    Assert.AreEqual(referenceGrad[i], kept[i], 2e-6 * Math.Max(1, Math.Abs(input[i])), $"{width}: kept gelu'({input[i]})");
                    Assert.AreEqual(fast[i], keptOut[i], $"{width}: gelu({input[i]}) with the derivative kept");
                    Assert.IsTrue(float.IsFinite(fast[i]) && float.IsFinite(fastGrad[i]), $"{width}: finite at {input[i]}");
                }
            }
    }

    [TestMethod]
    public void ReciprocalIsWithinTwoUlpAtEveryWidth()
    {
        var xs = new List<float> { 1f, 1f + 1e-7f, 2f, 3f, 0.1f, 1e-3f, 7e-38f, 1e-30f, 1e30f, 8.5e37f, 1.5f, 1e6f + 1f };
        var rng = new Random(5);
        for (int i = 0; i < 4000; i++) xs.Add(MathF.Exp((float)(rng.NextDouble() * 160 - 80)) * (rng.Next(2) == 0 ? 1 : -1));
        while (xs.Count % 16 != 0) xs.Add(1f);
        var x = xs.ToArray();
        foreach (var width in Widths.Supported)
        {
            var r = width switch
            {
                SimdWidth.Vector512 => Apply<Simd512, Vector512<float>>(x),
                SimdWidth.Vector256 => Apply<Simd256, Vector256<float>>(x),
                SimdWidth.Vector128 => Apply<Simd128, Vector128<float>>(x),
                _ => null,
            };
            if (r is null) continue;
            for (int i = 0; i < x.Length; i++)
            {
                float exact = 1f / x[i];
                Assert.IsTrue(Math.Abs(r[i] - exact) <= 2 * MathF.BitIncrement(Math.Abs(exact)) - 2 * Math.Abs(exact) + 1e-45f,
                    $"{width}: 1/{x[i]:R} gave {r[i]:R}, exact {exact:R}");
            }
        }
    }

    private static unsafe float[] Apply<TOps, TVec>(float[] x) where TOps : ISimd<TVec> where TVec : struct
    {
        var r = new float[x.Length];
        fixed (float* px = x, pr = r)
            for (int i = 0; i < x.Length; i += TOps.Count) TOps.Store(TOps.Reciprocal(TOps.Load(px + i)), pr + i);
        return r;
    }
}
