// mlContext.Transforms.Text.TokenizeIntoCharacterIds / TokenizeIntoBpeIds: the tokenizer steps, ML.NET style (output column first).
using Microsoft.ML;
using Microsoft.ML.Tokenizers;
using MLNetGpt.Internals;
using MLNetGpt.Tokenizers;
using OurBpeTokenizer = MLNetGpt.Tokenizers.BpeTokenizer;

namespace MLNetGpt;

/// <summary>Tokenizer steps on <c>mlContext.Transforms.Text</c>.</summary>
public static class TokenizingCatalogExtensions
{
    /// <summary>
    /// Character-level tokenizer: Fit collects the distinct characters of <paramref name="inputColumnName"/> (sorted by
    /// code point, as nanoGPT's shakespeare_char does); the transformer maps each text to the ids of its characters.
    /// </summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="outputColumnName">Name of the Vector&lt;Int32&gt; token id column.</param>
    /// <param name="inputColumnName">Name of the text column; null means <paramref name="outputColumnName"/>.</param>
    /// <param name="unknownCharacters">What encoding a character absent from the training text does. Default: throw, naming it.</param>
    public static TextTokenizingEstimator TokenizeIntoCharacterIds(this TransformsCatalog.TextTransforms catalog, string outputColumnName,
        string? inputColumnName = null, UnknownCharacterPolicy unknownCharacters = UnknownCharacterPolicy.Throw) =>
        new(MLNetAccess.Environment(catalog), outputColumnName, inputColumnName,
            corpus => CharacterTokenizer.Create(corpus, unknownCharacters), tokenizer: null);

    /// <summary>
    /// Byte-level BPE tokenizer trained at Fit on <paramref name="inputColumnName"/> (minbpe's RegexTokenizer algorithm,
    /// tiktoken-compatible) to <see cref="BpeTrainerOptions.VocabularySize"/> ids.
    /// </summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="outputColumnName">Name of the Vector&lt;Int32&gt; token id column.</param>
    /// <param name="inputColumnName">Name of the text column; null means <paramref name="outputColumnName"/>.</param>
    /// <param name="options">What to learn; null means <see cref="BpeTrainerOptions"/>' defaults (512 ids, GPT-4 split pattern).</param>
    public static TextTokenizingEstimator TokenizeIntoBpeIds(this TransformsCatalog.TextTransforms catalog, string outputColumnName,
        string? inputColumnName = null, BpeTrainerOptions? options = null)
    {
        options ??= new BpeTrainerOptions();
        return new(MLNetAccess.Environment(catalog), outputColumnName, inputColumnName, corpus => OurBpeTokenizer.Train(corpus, options), tokenizer: null);
    }

    /// <summary>
    /// Tokenizes with a given tokenizer; Fit learns nothing. Any <see cref="Tokenizer"/> works for steps that only need
    /// ids (Microsoft's <c>TiktokenTokenizer</c>, a SentencePiece/Llama tokenizer, ...); a model saved with
    /// <c>mlContext.Model.Save</c> needs one of ours (e.g. <c>MLNetGpt.Tokenizers.BpeTokenizer.CreateForModel("gpt2")</c>).
    /// </summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="outputColumnName">Name of the Vector&lt;Int32&gt; token id column.</param>
    /// <param name="inputColumnName">Name of the text column; null means <paramref name="outputColumnName"/>.</param>
    /// <param name="tokenizer">The tokenizer.</param>
    public static TextTokenizingEstimator TokenizeIntoBpeIds(this TransformsCatalog.TextTransforms catalog, string outputColumnName,
        string? inputColumnName, Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return new(MLNetAccess.Environment(catalog), outputColumnName, inputColumnName, train: null, tokenizer);
    }
}
