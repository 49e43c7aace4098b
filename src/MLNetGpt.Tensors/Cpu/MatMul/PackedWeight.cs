// The layout of a matmul weight packed once for many forward products (decoding with a KV cache reads every weight once
// per token; packing per call, as the GEMM does for training, would cost as much as the product itself).
namespace MLNetGpt.Tensors;

/// <summary>
/// A weight W[OC,C] in panels of <see cref="PanelWidth"/> output channels:
/// packed[(p·C + k)·PanelWidth + j] = W[p·PanelWidth + j, k], and 0 where p·PanelWidth + j ≥ OC.
/// Within a panel the weights of one input channel k are contiguous, so a product streams the weight in order and
/// vectorises over output channels. This is also the GEMM's own packed-B layout, so large products use it without copying.
/// Fill it with <see cref="IComputeBackend.PackMatMulWeight"/>; pack again whenever W changes.
/// </summary>
public static class PackedWeight
{
    /// <summary>Output channels per panel.</summary>
    public const int PanelWidth = MatMulGemm.NR;

    /// <summary>Floats needed to hold W[OC,C] packed.</summary>
    /// <exception cref="ArgumentOutOfRangeException">c or oc is not positive, or the packed size exceeds int.MaxValue.</exception>
    public static int Length(int c, int oc)
    {
        if (c < 1) throw new ArgumentOutOfRangeException(nameof(c), c, "Input channels must be positive.");
        if (oc < 1) throw new ArgumentOutOfRangeException(nameof(oc), oc, "Output channels must be positive.");
        long n = MatMulGemm.PackedLength(oc, c);
        if (n > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(oc), oc, $"A packed [{oc},{c}] weight needs {n} floats, more than one span holds.");
        return (int)n;
    }

    /// <summary>
    /// The inverse of packing: weight[OC,C] from <paramref name="packed"/> in this layout (as a host backend's
    /// <see cref="IComputeBackend.PackMatMulWeight"/> writes it). For a model that keeps a weight packed in place of the
    /// original (GptModel, while it only generates) and must give the original back.
    /// </summary>
    public static void Unpack(Span<float> weight, ReadOnlySpan<float> packed, int c, int oc)
    {
        Shapes.Require(packed.Length, (long)Length(c, oc), $"packed [{oc},{c}]", nameof(packed));
        Shapes.Require(weight.Length, (long)oc * c, $"[{oc},{c}]", nameof(weight));
        for (int o = 0; o < oc; o++)
        {
            var row = weight.Slice(o * c, c);
            var panel = packed[((o / PanelWidth) * c * PanelWidth + o % PanelWidth)..];
            for (int k = 0; k < c; k++) row[k] = panel[k * PanelWidth];
        }
    }
}
