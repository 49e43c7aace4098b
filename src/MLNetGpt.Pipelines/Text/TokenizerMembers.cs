// Transitional: the members this pipeline layer used from MLNetGpt's old tokenizer base class, on Microsoft's Tokenizer.
using MLNetGpt.Tokenizers;
using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace MLNetGpt.Pipelines;

/// <summary>
/// Vocabulary size, ordinary encoding (special-token strings as text), span decoding and saving, for the two tokenizer
/// types of MLNetGpt.Tokenizers behind a <see cref="Tokenizer"/> variable. Other tokenizers have no vocabulary size or
/// file format here and throw <see cref="NotSupportedException"/>.
/// </summary>
public static class TokenizerMembers
{
    extension(Tokenizer tokenizer)
    {
        /// <summary>Number of ids: every id is in [0, VocabularySize).</summary>
        public int VocabularySize => tokenizer switch
        {
            BpeTokenizer bpe => bpe.VocabularySize,
            CharacterTokenizer characters => characters.VocabularySize,
            _ => throw Unsupported(tokenizer),
        };

        /// <summary>The ids of <paramref name="text"/>, special-token strings encoded as text.</summary>
        public int[] Encode(ReadOnlySpan<char> text) => tokenizer switch
        {
            BpeTokenizer bpe => bpe.Encode(text),
            CharacterTokenizer characters => characters.Encode(text),
            _ => throw Unsupported(tokenizer),
        };

        /// <summary>Decodes ids to text.</summary>
        public string Decode(ReadOnlySpan<int> ids) => tokenizer switch
        {
            BpeTokenizer bpe => bpe.Decode(ids),
            CharacterTokenizer characters => characters.Decode(ids),
            _ => tokenizer.Decode(ids.ToArray()),
        };

        /// <summary>Writes the tokenizer's own versioned text format.</summary>
        public void Save(Stream stream)
        {
            switch (tokenizer)
            {
                case BpeTokenizer bpe: bpe.Save(stream); break;
                case CharacterTokenizer characters: characters.Save(stream); break;
                default: throw Unsupported(tokenizer);
            }
        }
    }

    private static NotSupportedException Unsupported(Tokenizer tokenizer) =>
        new($"Tokenizer type {tokenizer.GetType().FullName} is not one of MLNetGpt's (BpeTokenizer, CharacterTokenizer).");
}
