// What a checkpoint says about itself: step, configuration, recipe, and fingerprints of the tokens it was trained on.
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace MLNetGpt.Models.Training;

/// <summary>The metadata of a verified checkpoint (see <see cref="LanguageModelTrainer.ReadCheckpoint(string)"/>).</summary>
/// <param name="Step">Optimizer steps done when it was written.</param>
/// <param name="Config">The model configuration (vocabulary size included).</param>
/// <param name="Training">The recipe the run used.</param>
/// <param name="TrainTokens">Count and SHA-256 of the training token ids.</param>
/// <param name="ValidationTokens">Count and SHA-256 of the validation token ids; null when the run had none.</param>
/// <param name="Annotations">What the caller stored with it (the CLI: the corpus file's SHA-256 and the tokenizer settings).</param>
/// <param name="LastStepLoss">Loss of the last step before it was written (NaN before the first step).</param>
/// <param name="RngState">State of the batch sampler's random generator.</param>
public sealed record CheckpointInfo(int Step, LanguageModelConfig Config, TrainingOptions Training, TokenFingerprint TrainTokens,
    TokenFingerprint? ValidationTokens, IReadOnlyDictionary<string, string> Annotations, float LastStepLoss, ulong RngState);

/// <summary>
/// A fingerprint of a token id sequence: its length and the SHA-256 of the ids as little-endian int32. Two sequences with
/// the same fingerprint are the same ids in the same order, so the same corpus encoded by the same tokenizer.
/// </summary>
/// <param name="Count">Number of ids.</param>
/// <param name="Sha256">SHA-256 of the ids, lower-case hex.</param>
public readonly record struct TokenFingerprint(long Count, string Sha256)
{
    /// <summary>The fingerprint of <paramref name="tokens"/>.</summary>
    public static TokenFingerprint Of(ReadOnlySpan<int> tokens)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Token fingerprints need a little-endian machine.");
        return new TokenFingerprint(tokens.Length, Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(tokens))));
    }

    /// <summary>"1,003,854 tokens (SHA-256 86c4e6aa9db7c042...)".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Count:N0} tokens (SHA-256 {(Sha256.Length > 16 ? Sha256[..16] + "..." : Sha256)})");

    // Reads KEY (the count) and KEY_sha256 from checkpoint metadata; null when KEY is absent.
    internal static TokenFingerprint? Read(IReadOnlyDictionary<string, string> metadata, string key, string source)
    {
        if (!metadata.TryGetValue(key, out var countText)) return null;
        if (!long.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out long count)
            || !metadata.TryGetValue(key + "_sha256", out var sha) || sha.Length != 64 || !sha.All(char.IsAsciiHexDigitLower))
            throw new InvalidDataException($"'{source}': invalid '{key}' fingerprint in the checkpoint metadata.");
        return new TokenFingerprint(count, sha);
    }
}
