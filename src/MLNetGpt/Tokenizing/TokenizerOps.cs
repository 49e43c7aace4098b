// What the pipeline needs of any Microsoft.ML.Tokenizers.Tokenizer: ids, text, vocabulary size, and saving ours in a model.
using Microsoft.ML.Tokenizers;
using MLNetGpt.Tokenizers;
using OurBpeTokenizer = MLNetGpt.Tokenizers.BpeTokenizer;

namespace MLNetGpt.Tokenizing;

/// <summary>
/// The operations steps perform on a tokenizer. Ours (<see cref="CharacterTokenizer"/>, <see cref="OurBpeTokenizer"/>) take
/// their fast paths and can be saved in a model; any other <see cref="Tokenizer"/> (Microsoft's Tiktoken, SentencePiece,
/// ...) encodes and decodes through the base API but cannot be saved.
/// </summary>
internal static class TokenizerOps
{
    /// <summary>Largest saved tokenizer accepted when loading a model (o200k_base in our text format is about 3 MB).</summary>
    public const long MaxFileBytes = 64L << 20;

    /// <summary>The ids of <paramref name="text"/> with the <see cref="Tokenizer"/> API's semantics (special-token strings become their ids).</summary>
    public static int[] Encode(Tokenizer tokenizer, string text) => tokenizer.EncodeToIds(text) switch
    {
        int[] array => array,
        var list => [.. list],
    };

    /// <summary>The text of <paramref name="ids"/>.</summary>
    public static string Decode(Tokenizer tokenizer, int[] ids) => tokenizer switch
    {
        CharacterTokenizer c => c.Decode((ReadOnlySpan<int>)ids),
        OurBpeTokenizer b => b.Decode((ReadOnlySpan<int>)ids),
        _ => tokenizer.Decode(ids),
    };

    /// <summary>The number of ids the tokenizer can produce, when it can be told; null for tokenizers that do not say.</summary>
    public static int? VocabularySize(Tokenizer tokenizer) => tokenizer switch
    {
        CharacterTokenizer c => c.VocabularySize,
        OurBpeTokenizer b => b.VocabularySize,
        // Tiktoken encodings number their special tokens after every rank (gpt2: <|endoftext|> = 50256 of 50257).
        TiktokenTokenizer t when t.SpecialTokens is { Count: > 0 } specials => 1 + MaxId(specials.Values),
        Microsoft.ML.Tokenizers.BpeTokenizer b => 1 + Math.Max(MaxId(b.Vocabulary.Values), MaxId(b.SpecialTokens?.Values)),
        _ => null,
    };

    private static int MaxId(IEnumerable<int>? ids) => ids is null || !ids.Any() ? -1 : ids.Max();

    /// <summary>Writes one of our tokenizers in its versioned text format.</summary>
    /// <exception cref="NotSupportedException">A tokenizer of another library.</exception>
    public static void Save(Tokenizer tokenizer, Stream destination)
    {
        switch (tokenizer)
        {
            case CharacterTokenizer c: c.Save(destination); break;
            case OurBpeTokenizer b: b.Save(destination); break;
            default:
                throw new NotSupportedException(
                    $"A {tokenizer.GetType().FullName} cannot be saved in a model: MLNetGpt saves its own CharacterTokenizer and BpeTokenizer (BpeTokenizer.CreateForModel and CreateForEncoding give GPT-2's and OpenAI's encodings).");
        }
    }

    /// <summary>Reads a tokenizer written by <see cref="Save"/>.</summary>
    public static Tokenizer Load(Stream source) => TokenizerFile.Load(source);
}
