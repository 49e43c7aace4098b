// MLContext.Transforms.Text: estimators that turn a text column into a vector-of-Int32 token id column.
using MLNetGpt.Tokenizers;
using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace MLNetGpt.Pipelines;

/// <summary>Text transforms (ML.NET's <c>mlContext.Transforms.Text</c>).</summary>
public sealed class TextCatalog
{
    private readonly MLContext _context;

    internal TextCatalog(MLContext context) => _context = context;

    /// <summary>
    /// Character-level tokenizer: Fit collects the distinct characters of <paramref name="inputColumnName"/> (sorted, as
    /// nanoGPT's shakespeare_char does); the transformer maps each text to the ids of its characters.
    /// </summary>
    /// <param name="outputColumnName">Name of the Vector&lt;Int32&gt; output column.</param>
    /// <param name="inputColumnName">Name of the text column; defaults to <paramref name="outputColumnName"/>.</param>
    /// <param name="options">Tokenizer options; defaults as documented on <see cref="CharacterTokenizerEstimatorOptions"/>.</param>
    public TokenizingEstimator TokenizeIntoCharacterIds(string outputColumnName, string? inputColumnName = null,
        CharacterTokenizerEstimatorOptions? options = null)
    {
        options ??= new CharacterTokenizerEstimatorOptions();
        return new TokenizingEstimator(outputColumnName, inputColumnName ?? outputColumnName,
            corpus => TokenizerFactories.CreateCharacter(corpus, options), "character");
    }

    /// <summary>
    /// Byte-level BPE tokenizer trained at Fit time on <paramref name="inputColumnName"/> (minbpe's RegexTokenizer
    /// algorithm) to <see cref="BpeTokenizerEstimatorOptions.VocabularySize"/> ids.
    /// </summary>
    public TokenizingEstimator TokenizeIntoBpeIds(string outputColumnName, string? inputColumnName = null,
        BpeTokenizerEstimatorOptions? options = null)
    {
        options ??= new BpeTokenizerEstimatorOptions();
        return new TokenizingEstimator(outputColumnName, inputColumnName ?? outputColumnName,
            corpus => TokenizerFactories.TrainBpe(corpus, options), "bpe");
    }

    /// <summary>
    /// A pretrained BPE tokenizer loaded from files, nothing trained: a <c>.tiktoken</c> rank file (with
    /// <paramref name="encodingName"/> "gpt2", "r50k_base" or "cl100k_base" choosing the split pattern and special tokens;
    /// by default the file name), GPT-2's <c>encoder.json</c>/<c>vocab.json</c> plus <paramref name="mergesPath"/>
    /// (<c>vocab.bpe</c>/<c>merges.txt</c>), or any tokenizer file saved by our tokenizers' <c>Save</c>.
    /// </summary>
    public TokenizingEstimator TokenizeIntoBpeIds(string outputColumnName, string? inputColumnName, string vocabularyPath,
        string? mergesPath = null, string? encodingName = null)
    {
        var tokenizer = TokenizerFactories.LoadPretrained(vocabularyPath, mergesPath, encodingName);
        return TokenizeWith(outputColumnName, inputColumnName, tokenizer);
    }

    /// <summary>Tokenizes with an existing tokenizer (e.g. <c>TokenizerFile.Load(path)</c>); Fit learns nothing.</summary>
    public TokenizingEstimator TokenizeWith(string outputColumnName, string? inputColumnName, Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return new TokenizingEstimator(outputColumnName, inputColumnName ?? outputColumnName, _ => tokenizer, "pretrained", needsCorpus: false);
    }
}

/// <summary>Options of <see cref="TextCatalog.TokenizeIntoCharacterIds"/>.</summary>
public sealed record CharacterTokenizerEstimatorOptions
{
    /// <summary>
    /// What encoding a character absent from the training text does: false (default) throws an error naming it,
    /// true maps it to an "unknown" id added to the vocabulary.
    /// </summary>
    public bool MapUnknownCharacters { get; init; }
}

/// <summary>Options of <see cref="TextCatalog.TokenizeIntoBpeIds(string, string?, BpeTokenizerEstimatorOptions?)"/>.</summary>
public sealed record BpeTokenizerEstimatorOptions
{
    /// <summary>Final number of ids, at least 256 (the byte alphabet). Default 512.</summary>
    public int VocabularySize { get; init; } = 512;

    /// <summary>Pre-tokenization split pattern: "gpt4" (cl100k, minbpe's default; the default here too), "gpt2" or "none".</summary>
    public string SplitPattern { get; init; } = "gpt4";

    /// <summary>Use at most this many characters of the training text (0 = all). Default 0.</summary>
    public int MaxTrainingCharacters { get; init; }
}
