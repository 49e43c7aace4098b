// How an encoder treats special-token strings (such as "<|endoftext|>") that occur in the input text.
namespace MLNetGpt.Tokenizers;

/// <summary>What to do with special-token strings found in the text being encoded.</summary>
public enum SpecialTokenMode
{
    /// <summary>Special-token strings are ordinary text (tiktoken's <c>encode_ordinary</c>). The default.</summary>
    AsText = 0,

    /// <summary>Each special-token string becomes its special id (tiktoken's <c>allowed_special="all"</c>).</summary>
    Allowed = 1,

    /// <summary>A special-token string in the text throws <see cref="ArgumentException"/> (tiktoken's default <c>encode</c>).</summary>
    Disallowed = 2,
}
