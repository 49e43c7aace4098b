// What every backend agrees on, apart from any one implementation: the argument checks each kernel runs at the boundary
// (sizes, ranges, token ids; every backend throws the same ArgumentException naming the argument) and shared constants.
// The reference kernels are a test oracle; the fast backends depend on this file, not on them.
using System.Runtime.CompilerServices;

namespace MLNetGpt.Tensors;

/// <summary>Constants every backend uses.</summary>
public static class KernelConstants
{
    /// <summary>LayerNorm's epsilon, shared by every backend (PyTorch's default).</summary>
    public const float LayerNormEpsilon = 1e-5f;

    /// <summary>√(2/π), GELU's tanh-approximation scale.</summary>
    public static readonly float GeluScale = MathF.Sqrt(2f / MathF.PI);
}

/// <summary>The argument checks of <see cref="IComputeBackend"/>'s operations, shared by every backend.</summary>
internal static class KernelChecks
{

    internal static void CheckMatMul(int bt, int c, int oc)
    {
        Shapes.NonNegative(bt); Shapes.Positive(c); Shapes.Positive(oc);
    }

    internal static void CheckMatMulForward(int outputLength, int inputLength, int weightLength, int biasLength, int bt, int c, int oc)
    {
        CheckMatMul(bt, c, oc);
        Shapes.Require(outputLength, (long)bt * oc, $"[{bt},{oc}]", "output");
        Shapes.Require(inputLength, (long)bt * c, $"[{bt},{c}]", "input");
        Shapes.Require(weightLength, (long)oc * c, $"[{oc},{c}]", "weight");
        Shapes.RequireOptional(biasLength, oc, $"[{oc}]", "bias");
    }

    internal static void CheckPackMatMulWeight(int packedLength, int weightLength, int c, int oc)
    {
        Shapes.Positive(c); Shapes.Positive(oc);
        Shapes.Require(packedLength, PackedWeight.Length(c, oc), $"packed [{oc},{c}]", "packed");
        Shapes.Require(weightLength, (long)oc * c, $"[{oc},{c}]", "weight");
    }

    internal static void CheckMatMulForwardPacked(int outputLength, int inputLength, int packedLength, int biasLength, int bt, int c, int oc)
    {
        CheckMatMul(bt, c, oc);
        Shapes.Require(outputLength, (long)bt * oc, $"[{bt},{oc}]", "output");
        Shapes.Require(inputLength, (long)bt * c, $"[{bt},{c}]", "input");
        Shapes.Require(packedLength, PackedWeight.Length(c, oc), $"packed [{oc},{c}]", "packedWeight");
        Shapes.RequireOptional(biasLength, oc, $"[{oc}]", "bias");
    }

    internal static void CheckMatMulBackward(int dinputLength, int dweightLength, int dbiasLength, int doutputLength,
        int inputLength, int weightLength, int bt, int c, int oc)
    {
        CheckMatMul(bt, c, oc);
        Shapes.RequireOptional(dinputLength, (long)bt * c, $"[{bt},{c}]", "dinput");
        Shapes.Require(dweightLength, (long)oc * c, $"[{oc},{c}]", "dweight");
        Shapes.RequireOptional(dbiasLength, oc, $"[{oc}]", "dbias");
        Shapes.Require(doutputLength, (long)bt * oc, $"[{bt},{oc}]", "doutput");
        Shapes.Require(inputLength, (long)bt * c, $"[{bt},{c}]", "input");
        Shapes.Require(weightLength, (long)oc * c, $"[{oc},{c}]", "weight");
    }

    // The extra argument of MatMulBackwardAssign (the others are MatMulBackward's).
    internal static void CheckMatMulBackwardAssign(int dinputLength, int dinputScaleLength, int bt, int c)
    {
        Shapes.RequireOptional(dinputScaleLength, (long)bt * c, $"[{bt},{c}]", "dinputScale");
        if (dinputScaleLength != 0 && dinputLength == 0)
            throw new ArgumentException("dinputScale is given but dinput is empty: there is no input gradient to scale.", "dinputScale");
    }

    internal static void CheckEncoder(int outLength, ReadOnlySpan<int> tokens, int wteLength, int wpeLength, int b, int t, int c,
        string outName = "output", string wteName = "wte", string wpeName = "wpe")
    {
        Shapes.NonNegative(b); Shapes.NonNegative(t); Shapes.Positive(c);
        Shapes.Require(outLength, (long)b * t * c, $"[{b},{t},{c}]", outName);
        Shapes.Require(tokens.Length, (long)b * t, $"[{b},{t}]", "tokens");
        Shapes.Require(wpeLength, (long)t * c, $"[{t},{c}]", wpeName);
        if (b * t > 0) Shapes.Require(wteLength, c, $"[V,{c}]", wteName);
        int vocab = wteLength / c;
        for (int i = 0; i < b * t; i++)
            if ((uint)tokens[i] >= (uint)vocab)
                throw new ArgumentException($"Token id {tokens[i]} at index {i} is outside the vocabulary [0,{vocab}).", nameof(tokens));
    }

    internal static void CheckLayerNorm(int outLength, int meanLength, int rstdLength, int inLength, int weightLength, int biasLength, int n, int c,
        string outName = "output", string biasName = "bias")
    {
        Shapes.NonNegative(n); Shapes.Positive(c);
        Shapes.Require(outLength, (long)n * c, $"[{n},{c}]", outName);
        Shapes.Require(meanLength, n, $"[{n}]", "mean");
        Shapes.Require(rstdLength, n, $"[{n}]", "rstd");
        Shapes.Require(inLength, (long)n * c, $"[{n},{c}]", "input");
        Shapes.Require(weightLength, c, $"[{c}]", "weight");
        Shapes.RequireOptional(biasLength, c, $"[{c}]", biasName);
    }

    internal static void CheckLayerNormBackward(int dinputLength, int dweightLength, int dbiasLength, int doutputLength,
        int inputLength, int weightLength, int meanLength, int rstdLength, int n, int c)
    {
        CheckLayerNorm(doutputLength, meanLength, rstdLength, inputLength, weightLength, dbiasLength, n, c, "doutput", "dbias");
        Shapes.Require(dinputLength, (long)n * c, $"[{n},{c}]", "dinput");
        Shapes.Require(dweightLength, c, $"[{c}]", "dweight");
    }

    internal static int CheckAttention(int outLength, int attLength, int qkvLength, int b, int t, int c, int nh, string outName = "output")
    {
        Shapes.NonNegative(b); Shapes.NonNegative(t); Shapes.Positive(c); Shapes.Positive(nh);
        if (c % nh != 0) throw new ArgumentException($"Channels C={c} must be divisible by the number of heads NH={nh}.", nameof(nh));
        Shapes.Require(outLength, (long)b * t * c, $"[{b},{t},{c}]", outName);
        Shapes.Require(attLength, (long)b * nh * t * t, $"[{b},{nh},{t},{t}]", "att");
        Shapes.Require(qkvLength, (long)b * t * 3 * c, $"[{b},{t},{3 * c}]", "qkv");
        return c / nh;
    }

    internal static int CheckCached(int outLength, int qLength, int kLength, int vLength, ReadOnlySpan<int> pos, int b, int tn, int maxT, int c, int nh)
    {
        Shapes.NonNegative(b); Shapes.NonNegative(tn); Shapes.Positive(maxT); Shapes.Positive(c); Shapes.Positive(nh);
        if (c % nh != 0) throw new ArgumentException($"Channels C={c} must be divisible by the number of heads NH={nh}.", nameof(nh));
        Shapes.Require(outLength, (long)b * tn * c, $"[{b},{tn},{c}]", "output");
        Shapes.Require(qLength, (long)b * tn * c, $"[{b},{tn},{c}]", "q");
        Shapes.Require(kLength, (long)b * maxT * c, $"[{b},{maxT},{c}]", "kCache");
        Shapes.Require(vLength, (long)b * maxT * c, $"[{b},{maxT},{c}]", "vCache");
        Shapes.Require(pos.Length, b, $"[{b}]", "pos");
        for (int i = 0; i < b; i++)
            if (pos[i] < 0 || pos[i] + tn > maxT)
                throw new ArgumentException($"Position {pos[i]} of row {i} with {tn} new tokens does not fit the cache of {maxT}.", nameof(pos));
        return c / nh;
    }

    internal static void CheckStoreKeysValues(int qLength, int kLength, int vLength, int qkvLength, ReadOnlySpan<int> rows,
        ReadOnlySpan<int> positions, int n, int maxT, int c)
    {
        Shapes.NonNegative(n); Shapes.Positive(maxT); Shapes.Positive(c);
        Shapes.Require(qLength, (long)n * c, $"[{n},{c}]", "q");
        Shapes.Require(qkvLength, (long)n * 3 * c, $"[{n},{3 * c}]", "qkv");
        Shapes.Require(rows.Length, n, $"[{n}]", "rows");
        Shapes.Require(positions.Length, n, $"[{n}]", "positions");
        long cacheRows = kLength / ((long)maxT * c);
        Shapes.Require(vLength, cacheRows * maxT * c, $"[{cacheRows},{maxT},{c}]", "vCache");
        for (int i = 0; i < n; i++)
        {
            if ((uint)rows[i] >= (ulong)cacheRows)
                throw new ArgumentException($"Cache row {rows[i]} of token {i} is outside the cache's {cacheRows} rows.", nameof(rows));
            if ((uint)positions[i] >= (uint)maxT)
                throw new ArgumentException($"Position {positions[i]} of token {i} is outside the cache [0,{maxT}).", nameof(positions));
        }
    }

    internal static void CheckCopy(int destinationLength, int sourceLength)
    {
        if (destinationLength != sourceLength)
            throw new ArgumentException($"Copy needs equal lengths: destination holds {destinationLength} floats, source {sourceLength}.", "destination");
    }

    internal static void CheckElementwise(int n, int a, int b = int.MaxValue, int c = int.MaxValue,
        [CallerArgumentExpression(nameof(a))] string? aName = null,
        [CallerArgumentExpression(nameof(b))] string? bName = null,
        [CallerArgumentExpression(nameof(c))] string? cName = null)
    {
        Shapes.NonNegative(n);
        Shapes.Require(a, n, $"[{n}]", aName);
        Shapes.Require(b, n, $"[{n}]", bName);
        Shapes.Require(c, n, $"[{n}]", cName);
    }

    internal static void CheckDropout(float p)
    {
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability must be in [0, 1).");
    }

    internal static void CheckSoftmax(int lossLength, int probsLength, int logitsLength, ReadOnlySpan<int> targets, int bt, int v,
        string lossName = "losses", string probsName = "probs", string logitsName = "logits")
    {
        Shapes.NonNegative(bt); Shapes.Positive(v);
        Shapes.Require(lossLength, bt, $"[{bt}]", lossName);
        Shapes.Require(probsLength, (long)bt * v, $"[{bt},{v}]", probsName);
        Shapes.Require(logitsLength, (long)bt * v, $"[{bt},{v}]", logitsName);
        Shapes.Require(targets.Length, bt, $"[{bt}]", "targets");
        for (int i = 0; i < bt; i++)
            if (targets[i] < -1 || targets[i] >= v)
                throw new ArgumentException($"Target {targets[i]} at row {i} is outside [0,{v}) (or -1 to ignore).", nameof(targets));
    }
}
