// What a character tokenizer does with a character that is not in its vocabulary.
namespace MLNetGpt.Tokenizers;

/// <summary>Policy for characters outside a <see cref="CharacterTokenizer"/>'s vocabulary, chosen by the caller.</summary>
public enum UnknownCharacterPolicy
{
    /// <summary>Throw <see cref="ArgumentException"/> naming the character and its index in the text. The default.</summary>
    Throw = 0,

    /// <summary>Map it to the id of U+FFFD (REPLACEMENT CHARACTER), which the vocabulary then always contains.</summary>
    Replace = 1,
}
