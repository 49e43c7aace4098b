// Assembly marker for MLNetGpt.Tokenizers.
namespace MLNetGpt.Tokenizers;
