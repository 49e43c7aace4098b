// The two kinds of step MLNetGpt saves into an ML.NET model .zip: their signatures, format versions and loader names.
namespace MLNetGpt.Internals;

/// <summary>What identifies one kind of saved step: ML.NET's model and loader signatures and our format version.</summary>
/// <param name="ModelSignature">Eight ASCII characters in the Model.key header.</param>
/// <param name="LoaderSignature">The name ML.NET looks the loader up by (at most 24 ASCII characters).</param>
/// <param name="Format">The manifest's format name.</param>
/// <param name="Version">The format version this build writes and reads; a model with a higher one is refused.</param>
internal sealed record StepKind(string ModelSignature, string LoaderSignature, string Format, int Version)
{
    // ML.NET packs a version as 0xMMMMmmmm; ours is major-only, so format N is written as 0x000N0001.
    public uint PackedVersion => ((uint)Version << 16) | 1u;

    /// <summary>The packed first version, the oldest any build reads back.</summary>
    public const uint FirstPackedVersion = (1u << 16) | 1u;
}

internal static class StepKinds
{
    public const string TokenizerLoaderSignature = "MLNetGptTokenizer";
    public const string GeneratorLoaderSignature = "MLNetGptTextGeneration";

    public static readonly StepKind Tokenizer = new("MLNGPTTK", TokenizerLoaderSignature, "mlnetgpt-tokenizer-step", 1);
    public static readonly StepKind Generator = new("MLNGPTLM", GeneratorLoaderSignature, "mlnetgpt-text-generation-step", 1);
}
