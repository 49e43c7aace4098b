// The one place that calls the concrete tokenizer types of MLNetGpt.Tokenizers (creation, training, pretrained files).
using MLNetGpt.Tokenizers;

namespace MLNetGpt.Pipelines;

internal static class TokenizerFactories
{
    public static Tokenizer CreateCharacter(string corpus, CharacterTokenizerEstimatorOptions options) =>
        StubChar.Create(corpus);

    public static Tokenizer TrainBpe(string corpus, BpeTokenizerEstimatorOptions options) =>
        throw new NotImplementedException("BpeTokenizer is not available yet.");

    public static Tokenizer LoadPretrained(string vocabularyPath, string? mergesPath, string? encodingName) =>
        throw new NotImplementedException("BpeTokenizer is not available yet.");
}
