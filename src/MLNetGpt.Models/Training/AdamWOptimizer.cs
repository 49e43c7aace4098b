// One optimizer step over a model's arenas: global-norm clipping, then AdamW slice by slice (decay only where the table says so).
using MLNetGpt.Tensors;

namespace MLNetGpt.Models.Training;

/// <summary>The update the trainer applies after the gradients of a step are accumulated.</summary>
internal static class AdamWOptimizer
{
    /// <summary>
    /// Clips the global gradient norm (PyTorch's clip_grad_norm_: scale by max_norm / (norm + 1e-6) when below 1; AdamW
    /// applies the factor as it reads the gradients, which stay unscaled), then runs AdamW on every parameter slice with
    /// weight decay only on slices marked as decaying. The factor goes through <paramref name="clip"/> (one float of an array
    /// attached to the backend), so a device backend never brings the norm to the host.
    /// <paramref name="step"/> counts from 1.
    /// </summary>
    public static void Step(ITrainableModel model, Arena m, Arena v, TrainingOptions o, float learningRate, int step, Span<float> clip)
    {
        var be = model.Backend;
        var grads = model.Gradients;
        if (o.GradientClip > 0) be.ClipScale(clip, grads.Span, o.GradientClip);
        else be.Fill(clip, 1f);
        // One AdamW call per run of adjacent slices with the same decay flag (GPT layouts put all decaying tensors first).
        var p = model.Parameters;
        var slices = p.Layout.Slices;
        int i = 0;
        while (i < slices.Count) // indexing, not foreach: an interface enumerator would allocate every step
        {
            bool decays = slices[i].Decays;
            int start = slices[i].Offset, end = start + slices[i].Length;
            int j = i + 1;
            while (j < slices.Count && slices[j].Decays == decays && slices[j].Offset == end) end += slices[j++].Length;
            int n = end - start;
            be.AdamW(p.Data.AsSpan(start, n), grads.Data.AsSpan(start, n), m.Data.AsSpan(start, n), v.Data.AsSpan(start, n),
                learningRate, o.Beta1, o.Beta2, o.Epsilon, decays ? o.WeightDecay : 0f, step, (ReadOnlySpan<float>)clip);
            i = j;
        }
    }
}
