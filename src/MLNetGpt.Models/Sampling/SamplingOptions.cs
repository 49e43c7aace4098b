// How tokens are drawn from the model's logits: temperature, top-k, top-p, seed, length and stop tokens.
namespace MLNetGpt.Models.Sampling;

/// <summary>Options of <see cref="TextGenerator"/>. Defaults: 100 tokens, temperature 1, no top-k, no top-p, seed 1337, no stop tokens.</summary>
public sealed record SamplingOptions
{
    /// <summary>Tokens to generate per row (a row stops earlier at a stop token). Must be ≥ 0. Default 100.</summary>
    public int MaxNewTokens { get; init; } = 100;

    /// <summary>Logits are divided by this; 0 means greedy (argmax, lowest id on ties). Must be ≥ 0. Default 1.</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Keep only the k most likely tokens (ties with the k-th are kept, as in nanoGPT); 0 disables. Default 0.</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus sampling: keep the most likely tokens whose cumulative probability reaches p (at least one); 1 disables. Default 1.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Base seed; row r draws from a stream derived from (Seed, row id), independent of batching. Default 1337.</summary>
    public ulong Seed { get; init; } = 1337;

    /// <summary>Token ids that end a row; the stop token is included as the row's last generated token. Default none.</summary>
    public IReadOnlyList<int> StopTokens { get; init; } = [];

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid field and its value.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "MaxNewTokens must be non-negative.");
        if (!(Temperature >= 0) || float.IsInfinity(Temperature)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "Temperature must be a finite value ≥ 0 (0 = greedy).");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "TopK must be non-negative (0 = off).");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "TopP must be in (0, 1] (1 = off).");
        ArgumentNullException.ThrowIfNull(StopTokens, nameof(StopTokens));
    }
}
