// One optimizer step over a model's arenas: global-norm clipping, then AdamW slice by slice (decay only where the table says so).
using MLNetGpt.Tensors;

namespace MLNetGpt.Models.Training;

/// <summary>The update the trainer applies after the gradients of a step are accumulated.</summary>
internal static class AdamWOptimizer
{
    /// <summary>
    /// Clips the global gradient norm (PyTorch's clip_grad_norm_: scale by max_norm / (norm + 1e-6) when below 1), then runs
    /// AdamW on every parameter slice with weight decay only on slices marked as decaying. Returns the norm before clipping.
    /// <paramref name="step"/> counts from 1.
    /// </summary>
    public static double Step(ITrainableModel model, Arena m, Arena v, TrainingOptions o, float learningRate, int step)
    {
        var be = model.Backend;
        var grads = model.Gradients;
        double norm = Math.Sqrt(be.SumOfSquares(grads.Span));
        if (o.GradientClip > 0)
        {
            double coef = o.GradientClip / (norm + 1e-6);
            if (coef < 1.0) be.Scale(grads.Span, (float)coef);
        }
        var p = model.Parameters;
        var slices = p.Layout.Slices;
        for (int i = 0; i < slices.Count; i++) // indexing, not foreach: an interface enumerator would allocate every step
        {
            var s = slices[i];
            be.AdamW(p[s], grads[s], m[s], v[s], learningRate, o.Beta1, o.Beta2, o.Epsilon, s.Decays ? o.WeightDecay : 0f, step);
        }
        return norm;
    }
}
