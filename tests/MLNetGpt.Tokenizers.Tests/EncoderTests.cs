// The fast BPE merge loop against the plain reference, round trips on random text, and the lone-surrogate policy.
using System.Text;

namespace MLNetGpt.Tokenizers.Tests;

[TestClass]
public sealed class EncoderTests
{
    [TestMethod]
    public void FastMergeLoopEqualsReferenceOnShortAndLongPieces()
    {
        var tokenizer = Encodings.Cl100k;
        var ranks = ReferenceBpe.RankDictionary(tokenizer);
        var random = new Random(7);
        var words = SampleText.Text.Split(' ', '\n').Where(w => w.Length > 0).ToArray();
        for (var trial = 0; trial < 300; trial++)
        {
            // One "word" of concatenated words, from 2 to ~400 bytes: both the small-piece and the heap paths.
            var sb = new StringBuilder();
            var target = trial < 200 ? random.Next(2, 40) : random.Next(129, 400);
            while (sb.Length < target) sb.Append(words[random.Next(words.Length)].Where(char.IsLetter).ToArray());
            var piece = sb.ToString();
            var expected = ReferenceBpe.EncodePieceTiktoken(ranks, Encoding.UTF8.GetBytes(piece));
            var actual = tokenizer.Encode(piece);
            CollectionAssert.AreEqual(expected, actual, piece);
        }
    }

    /// <summary>
    /// The per-thread cache of merged pieces never changes ids: fast-path ids (cached) equal the offsets path's (never
    /// cached) while two tokenizers take turns on one thread (each turn rebinds the cache) and while a stream of new
    /// words fills the cache past its capacity.
    /// </summary>
    [TestMethod]
    public void PieceCacheNeverChangesIds()
    {
        var random = new Random(17);
        const string letters = "abcdefghijklmnopqrstuvwxyzéøß";
        Tokenizer[] tokenizers = [Encodings.Cl100k, Encodings.Gpt2, BpeTokenizer.Train(SampleText.Text[..30000], new BpeTrainerOptions { VocabularySize = 600 })];
        string Words()
        {
            var sb = new StringBuilder();
            for (var w = 0; w < 400; w++)
            {
                sb.Append(' ');
                var length = random.Next(3, 12);
                for (var i = 0; i < length; i++) sb.Append(letters[random.Next(letters.Length)]);
            }
            return sb.ToString();
        }
        void Check(Tokenizer tokenizer, string text, string what)
        {
            var expected = tokenizer.EncodeToTokens(text, out _).Select(t => t.Id).ToArray();
            CollectionAssert.AreEqual(expected, tokenizer.EncodeToIds(text).ToArray(), what);
            CollectionAssert.AreEqual(expected, tokenizer.EncodeToIds(text).ToArray(), what + ", again");
        }
        for (var round = 0; round < 20; round++)
        {
            var text = Words();
            foreach (var tokenizer in tokenizers) Check(tokenizer, text, $"taking turns, round {round}");
        }
        // 60 x 400 new words in a row on one tokenizer: more distinct pieces than the cache holds (16,384).
        for (var round = 0; round < 60; round++) Check(tokenizers[0], Words(), $"filling, round {round}");
    }

    [TestMethod]
    public void RandomStringsRoundTrip()
    {
        var random = new Random(42);
        var tokenizers = new Tokenizer[] { Encodings.Gpt2, Encodings.Cl100k, BpeTokenizer.Train(SampleText.Text[..50000], new BpeTrainerOptions { VocabularySize = 400 }) };
        for (var trial = 0; trial < 500; trial++)
        {
            var text = RandomText(random, random.Next(0, 60));
            foreach (var tokenizer in tokenizers)
            {
                var ids = tokenizer.EncodeToIds(text);
                Assert.AreEqual(text, tokenizer.Decode(ids.ToArray()), $"trial {trial}");
                CollectionAssert.AreEqual(ids.ToArray(), tokenizer.EncodeToIds(text.AsSpan()).ToArray());
            }
        }
    }

    [TestMethod]
    public void LoneSurrogatesEncodeAsReplacementCharacter()
    {
        // Documented policy (Python tiktoken's): an unpaired surrogate is encoded as U+FFFD.
        foreach (var tokenizer in new[] { Encodings.Gpt2, Encodings.Cl100k })
        {
            CollectionAssert.AreEqual(tokenizer.Encode("a\uFFFDb"), tokenizer.Encode("a\uD800b"));
            CollectionAssert.AreEqual(tokenizer.Encode("\uFFFD x"), tokenizer.Encode("\uDFFF x"));
            Assert.AreEqual("x\uFFFD", tokenizer.Decode(tokenizer.Encode("x\uD83D")));
        }
    }

    [TestMethod]
    public void BatchEncodingKeepsOrder()
    {
        var lines = SampleText.Text.Split('\n').Take(3000).ToArray();
        var batch = Encodings.Gpt2.EncodeBatch(lines);
        Assert.AreEqual(lines.Length, batch.Length);
        for (var i = 0; i < lines.Length; i++) CollectionAssert.AreEqual(Encodings.Gpt2.Encode(lines[i]), batch[i]);
    }

    [TestMethod]
    public void WholeCorpusEncodesAndDecodesExactly()
    {
        var text = Encodings.Shakespeare;
        foreach (var tokenizer in new[] { Encodings.Gpt2, Encodings.Cl100k })
        {
            var ids = tokenizer.Encode(text);
            Assert.AreEqual(text, tokenizer.Decode(ids));
        }
    }

    internal static string RandomText(Random random, int length)
    {
        string[] pieces = ["a", "Z", " ", "  ", "\n", "\r\n", "\t", "'s", "'RE", "'ll", "123", "4567", "é", "e\u0301", "中文", "日本", "Ω", "ß",
            "😀", "🇫🇷", "𝐀", "𠀀", "\u00A0", "\u2028", "\u3000", "\uFEFF", "\u200B", "!", "?!", "...", "<|endoftext|>", "ſ", "ǅ", "٣", "½", "Ⅻ"];
        var sb = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            if (random.Next(4) == 0)
            {
                // Any scalar value, astral ones included (never a lone surrogate).
                int cp;
                do cp = random.Next(random.Next(2) == 0 ? 0x3000 : 0x110000);
                while (cp is >= 0xD800 and <= 0xDFFF);
                sb.Append(char.ConvertFromUtf32(cp));
            }
            else sb.Append(pieces[random.Next(pieces.Length)]);
        }
        return sb.ToString();
    }
}
