// Character tokenizer: sorted stable ids over code points, the unknown-character policies, save/load.
namespace MLNetGpt.Tokenizers.Tests;

[TestClass]
public sealed class CharacterTokenizerTests
{
    [TestMethod]
    public void IdsAreSortedCodePointsAndAstralCharactersAreOneToken()
    {
        var tokenizer = CharacterTokenizer.Create("hello 😀 world");
        CollectionAssert.AreEqual(new[] { ' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w', 0x1F600 }, tokenizer.CodePoints.ToArray());
        var ids = tokenizer.Encode("hello 😀");
        CollectionAssert.AreEqual(new[] { 3, 2, 4, 4, 5, 0, 8 }, ids);
        Assert.AreEqual("hello 😀", tokenizer.Decode(ids));
        Assert.AreEqual(9, tokenizer.VocabularySize);
    }

    [TestMethod]
    public void UnknownCharactersThrowWithTheirPositionOrMapToReplacement()
    {
        var strict = CharacterTokenizer.Create("abc");
        var e = Assert.ThrowsExactly<ArgumentException>(() => strict.Encode("abxc"));
        StringAssert.Contains(e.Message, "'x' (U+0078) at index 2");
        var lenient = CharacterTokenizer.Create("abc", UnknownCharacterPolicy.Replace);
        Assert.AreEqual(4, lenient.VocabularySize);
        Assert.AreEqual("ab\uFFFDc\uFFFD", lenient.Decode(lenient.Encode("abxc🙂")));
        Assert.AreEqual(5, lenient.CountTokens("abxc🙂"));
    }

    [TestMethod]
    public void SavesAndLoadsAtomically()
    {
        var tokenizer = CharacterTokenizer.Create(SampleText.Text, UnknownCharacterPolicy.Replace);
        var path = Path.Combine(Path.GetTempPath(), $"chars-{Guid.NewGuid():N}.txt");
        try
        {
            tokenizer.Save(path);
            tokenizer.Save(path); // overwrite
            var loaded = CharacterTokenizer.Load(path);
            CollectionAssert.AreEqual(tokenizer.CodePoints.ToArray(), loaded.CodePoints.ToArray());
            Assert.AreEqual(UnknownCharacterPolicy.Replace, loaded.Policy);
            Assert.AreEqual(0, Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(path) + ".*.tmp").Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void RandomStringsRoundTrip()
    {
        var random = new Random(3);
        var corpus = EncoderTests.RandomText(random, 2000);
        var tokenizer = CharacterTokenizer.Create(corpus);
        for (var trial = 0; trial < 200; trial++)
        {
            var start = random.Next(corpus.Length);
            var text = corpus[start..Math.Min(corpus.Length, start + random.Next(100))];
            if (text.Length > 0 && char.IsLowSurrogate(text[0])) text = text[1..];
            if (text.Length > 0 && char.IsHighSurrogate(text[^1])) text = text[..^1];
            Assert.AreEqual(text, tokenizer.Decode(tokenizer.Encode(text)));
        }
    }

    /// <summary>
    /// The Tokenizer API's budgets, indices and decoding into buffers on a character tokenizer equal what the base class
    /// derives from EncodeToTokens (one token per code point, offsets of one or two UTF-16 units).
    /// </summary>
    [TestMethod]
    public void TokenizerApiBudgetsAndIndicesFollowTheTokenOffsets()
    {
        var random = new Random(8);
        var corpus = EncoderTests.RandomText(random, 400);
        Microsoft.ML.Tokenizers.Tokenizer tokenizer = CharacterTokenizer.Create(corpus);
        for (var trial = 0; trial < 200; trial++)
        {
            var start = random.Next(corpus.Length);
            var text = corpus[start..Math.Min(corpus.Length, start + random.Next(40))];
            if (text.Length > 0 && char.IsLowSurrogate(text[0])) text = text[1..];
            if (text.Length > 0 && char.IsHighSurrogate(text[^1])) text = text[..^1];
            var tokens = tokenizer.EncodeToTokens(text, out _);
            Assert.AreEqual(text, string.Concat(tokens.Select(t => t.Value)));
            CollectionAssert.AreEqual(tokens.Select(t => t.Id).ToArray(), tokenizer.EncodeToIds(text).ToArray());
            Assert.AreEqual(tokens.Count, tokenizer.CountTokens(text));
            for (var max = 1; max <= 5; max++)
            {
                var taken = Math.Min(max, tokens.Count);
                var ids = tokenizer.EncodeToIds(text, max, out _, out var consumed);
                CollectionAssert.AreEqual(tokens.Take(max).Select(t => t.Id).ToArray(), ids.ToArray());
                var end = taken == 0 ? 0 : tokens[taken - 1].Offset.End.Value;
                Assert.AreEqual(end, consumed);
                Assert.AreEqual(end, tokenizer.GetIndexByTokenCount(text, max, out _, out var count));
                Assert.AreEqual(taken, count);
                var fromEnd = taken == 0 ? text.Length : tokens[^taken].Offset.Start.Value;
                Assert.AreEqual(fromEnd, tokenizer.GetIndexByTokenCountFromEnd(text, max, out _, out count));
                Assert.AreEqual(taken, count);
            }
            var buffer = new char[text.Length];
            Assert.AreEqual(System.Buffers.OperationStatus.Done, tokenizer.Decode(tokens.Select(t => t.Id), buffer, out var idsConsumed, out var written));
            Assert.AreEqual((tokens.Count, text), (idsConsumed, new string(buffer, 0, written)));
            if (text.Length > 0)
            {
                Assert.AreEqual(System.Buffers.OperationStatus.DestinationTooSmall, tokenizer.Decode(tokens.Select(t => t.Id), buffer.AsSpan(0, text.Length - 1), out idsConsumed, out written));
                Assert.AreEqual(text[..written], new string(buffer, 0, written));
                Assert.AreEqual(tokens.Take(idsConsumed).Sum(t => t.Value.Length), written);
            }
        }
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => tokenizer.EncodeToIds("a", 0, out _, out _));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => tokenizer.Decode([tokenizer is CharacterTokenizer c ? c.VocabularySize : 0]));
    }
}
