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
}
