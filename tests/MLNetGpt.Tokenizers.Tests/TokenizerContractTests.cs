// Our tokenizers used only through Microsoft.ML.Tokenizers.Tokenizer, and the overloads the contract promises compile unambiguously.
using Microsoft.ML.Tokenizers;

namespace MLNetGpt.Tokenizers.Tests;

[TestClass]
public sealed class TokenizerContractTests
{
    [TestMethod]
    public void BpeTokenizerWorksThroughTheMicrosoftBaseTypeOnly()
    {
        Tokenizer tokenizer = Encodings.Gpt2;
        var text = "Hello world<|endoftext|> it's 2024 😀";
        var ids = tokenizer.EncodeToIds(text);
        // Special-token strings become their ids through the Tokenizer API (TiktokenTokenizer's semantics).
        CollectionAssert.Contains(ids.ToArray(), 50256);
        Assert.AreEqual(ids.Count, tokenizer.CountTokens(text));
        Assert.AreEqual(text, tokenizer.Decode(ids));
        var tokens = tokenizer.EncodeToTokens(text, out var normalized);
        Assert.IsNull(normalized);
        CollectionAssert.AreEqual(ids.ToArray(), tokens.Select(t => t.Id).ToArray());
        Assert.AreEqual("<|endoftext|>", tokens.Single(t => t.Id == 50256).Value);
        var buffer = new char[text.Length];
        Assert.AreEqual(System.Buffers.OperationStatus.Done, tokenizer.Decode(ids, buffer, out var consumed, out var written));
        Assert.AreEqual(ids.Count, consumed);
        Assert.AreEqual(text, new string(buffer, 0, written));
    }

    [TestMethod]
    public void CharacterTokenizerWorksThroughTheMicrosoftBaseTypeOnly()
    {
        Tokenizer tokenizer = CharacterTokenizer.Create("hello 😀 world");
        var ids = tokenizer.EncodeToIds("hello 😀");
        Assert.AreEqual(7, ids.Count);
        Assert.AreEqual("hello 😀", tokenizer.Decode(ids));
        var tokens = tokenizer.EncodeToTokens("o😀", out _);
        Assert.AreEqual(new Range(1, 3), tokens[1].Offset);
        Assert.AreEqual(1, tokenizer.GetIndexByTokenCount("o😀", 1, out _, out var count));
        Assert.AreEqual(1, count);
        Assert.AreEqual(1, tokenizer.GetIndexByTokenCountFromEnd("o😀", 1, out _, out count));
    }

    [TestMethod]
    public void ContractOverloadsResolveWithoutAmbiguity()
    {
        var bpe = Encodings.Gpt2;
        var characters = CharacterTokenizer.Create("abc");
        int[] array = [64, 65];
        // Decode(int[]) binds to our span overload; CountTokens/EncodeToIds with one argument bind to the base class.
        Assert.AreEqual("ab", bpe.Decode(array));
        Assert.AreEqual("ab", bpe.Decode(array.ToList()));
        Assert.AreEqual(1, bpe.CountTokens("x"));
        Assert.AreEqual(1, bpe.EncodeToIds("x").Count);
        Assert.AreEqual("ab", characters.Decode([0, 1]));
        Assert.AreEqual(1, characters.CountTokens("a"));
        Assert.AreEqual(1, characters.EncodeToIds("a").Count);
        // The richer API keeps tiktoken's modes; the base API allows special tokens.
        Assert.AreEqual(1, bpe.CountTokens("<|endoftext|>"));
        Assert.IsTrue(bpe.CountTokens("<|endoftext|>", SpecialTokenMode.AsText) > 1);
        Assert.AreEqual(50257, bpe.VocabularySize);
        Assert.IsTrue(bpe.Encode("<|endoftext|>").Length > 1);
    }

    [TestMethod]
    public void SavedFilesLoadThroughTokenizerFileAsTheRightType()
    {
        using var stream = new MemoryStream();
        CharacterTokenizer.Create("hello").Save(stream);
        stream.Position = 0;
        Tokenizer loaded = TokenizerFile.Load(stream);
        Assert.IsInstanceOfType<CharacterTokenizer>(loaded);
        Assert.AreEqual("hello", loaded.Decode(loaded.EncodeToIds("hello")));
    }
}
