// Draws one token from one row of logits: greedy, or temperature + top-k + top-p and an inverse-CDF draw. Buffers are reused.
namespace MLNetGpt.Models.Sampling;

/// <summary>Per-generator scratch for turning logits into a token id (not thread-safe).</summary>
internal sealed class TokenSampler(int vocabularySize)
{
    private readonly double[] _probs = new double[vocabularySize];
    private readonly float[] _sorted = new float[vocabularySize];
    private readonly int[] _order = new int[vocabularySize];
    private Comparer<int>? _byProbability;

    /// <summary>Samples from <paramref name="logits"/>[V] with <paramref name="options"/>; <paramref name="random"/> advances by one draw (none when greedy).</summary>
    public int Sample(ReadOnlySpan<float> logits, SamplingOptions options, Data.SplitMixRandom random)
    {
        int v = logits.Length;
        if (options.Temperature == 0f)
        {
            int best = 0;
            for (int i = 1; i < v; i++) if (logits[i] > logits[best]) best = i;
            return best;
        }
        float threshold = float.NegativeInfinity;
        if (options.TopK > 0 && options.TopK < v)
        {
            logits.CopyTo(_sorted);
            Array.Sort(_sorted, 0, v);
            threshold = _sorted[v - options.TopK]; // the k-th largest; ties are kept
        }
        float max = float.NegativeInfinity;
        for (int i = 0; i < v; i++) if (logits[i] >= threshold && logits[i] > max) max = logits[i];
        double sum = 0;
        double invT = 1.0 / options.Temperature;
        for (int i = 0; i < v; i++)
        {
            double p = logits[i] >= threshold ? Math.Exp((logits[i] - max) * invT) : 0.0;
            _probs[i] = p;
            sum += p;
        }
        if (options.TopP < 1f)
        {
            // Keep the smallest set of most likely tokens whose probability reaches p; zero the rest.
            for (int i = 0; i < v; i++) _order[i] = i;
            var probs = _probs;
            _byProbability ??= Comparer<int>.Create((a, b) => probs[b].CompareTo(probs[a]) is var c && c != 0 ? c : a.CompareTo(b));
            Array.Sort(_order, 0, v, _byProbability);
            double target = options.TopP * sum, cumulative = 0;
            int kept = 0;
            while (kept < v && (kept == 0 || cumulative < target)) cumulative += _probs[_order[kept++]];
            for (int i = kept; i < v; i++) _probs[_order[i]] = 0;
            sum = cumulative;
        }
        double u = random.NextDouble() * sum;
        double acc = 0;
        int last = 0;
        for (int i = 0; i < v; i++)
        {
            if (_probs[i] <= 0) continue;
            acc += _probs[i];
            last = i;
            if (u < acc) return i;
        }
        return last; // rounding left u at the very top of the range
    }
}
