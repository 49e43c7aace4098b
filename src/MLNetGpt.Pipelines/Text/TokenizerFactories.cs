// The one place that calls the concrete tokenizer types of MLNetGpt.Tokenizers (creation, training, pretrained files).
using MLNetGpt.Tokenizers;
using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace MLNetGpt.Pipelines;

internal static class TokenizerFactories
{
    public static Tokenizer CreateCharacter(string corpus, CharacterTokenizerEstimatorOptions options) =>
        CharacterTokenizer.Create(corpus, options.MapUnknownCharacters ? UnknownCharacterPolicy.Replace : UnknownCharacterPolicy.Throw);

    public static Tokenizer TrainBpe(string corpus, BpeTokenizerEstimatorOptions options)
    {
        if (options.MaxTrainingCharacters < 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxTrainingCharacters, "MaxTrainingCharacters must be non-negative (0 = all).");
        if (options.MaxTrainingCharacters > 0 && corpus.Length > options.MaxTrainingCharacters) corpus = corpus[..options.MaxTrainingCharacters];
        return BpeTokenizer.Train(corpus, new BpeTrainerOptions
        {
            VocabularySize = options.VocabularySize,
            Pattern = SplitPattern.FromName(options.SplitPattern),
        });
    }

    public static Tokenizer LoadPretrained(string vocabularyPath, string? mergesPath, string? encodingName)
    {
        ArgumentException.ThrowIfNullOrEmpty(vocabularyPath);
        if (!File.Exists(vocabularyPath)) throw new FileNotFoundException($"Tokenizer file '{vocabularyPath}' does not exist.", vocabularyPath);
        if (mergesPath is not null) return BpeTokenizer.LoadGpt2(vocabularyPath, mergesPath);
        if (vocabularyPath.EndsWith(".tiktoken", StringComparison.OrdinalIgnoreCase))
        {
            string name = encodingName ?? Path.GetFileNameWithoutExtension(vocabularyPath);
            var encoding = name switch
            {
                "gpt2" => TiktokenEncoding.Gpt2,
                "r50k_base" => TiktokenEncoding.R50kBase,
                "cl100k_base" => TiktokenEncoding.Cl100kBase,
                _ => throw new ArgumentException($"Unknown tiktoken encoding '{name}'; expected gpt2, r50k_base or cl100k_base.", nameof(encodingName)),
            };
            return BpeTokenizer.LoadTiktoken(vocabularyPath, encoding);
        }
        // Anything else must be one of our own tokenizer files; TokenizerFile.Load recognizes the type by its magic line.
        return TokenizerFile.Load(vocabularyPath);
    }
}
