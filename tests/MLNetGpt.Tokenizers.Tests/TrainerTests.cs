// BPE training: minbpe's classic example and exact parity with minbpe's merges on Tiny Shakespeare.
using System.Diagnostics;
using System.Text.Json;
using MLNetGpt.Testing;

namespace MLNetGpt.Tokenizers.Tests;

[TestClass]
public sealed class TrainerTests
{
    [TestMethod]
    public void ClassicExampleGivesTheIdsFromTheLiterature()
    {
        // minbpe test_wikipedia_example: aa → 256 (Z), Z a → 257 (Y), Y b → 258 (X); "aaabdaaabac" → X d X a c.
        var tokenizer = BpeTokenizer.Train("aaabdaaabac", new BpeTrainerOptions { VocabularySize = 256 + 3, Pattern = SplitPattern.None });
        CollectionAssert.AreEqual(new[] { (97, 97), (256, 97), (257, 98) }, tokenizer.Merges!.ToArray());
        CollectionAssert.AreEqual(new[] { 258, 100, 258, 97, 99 }, tokenizer.Encode("aaabdaaabac"));
        Assert.AreEqual("aaabdaaabac", tokenizer.Decode(new[] { 258, 100, 258, 97, 99 }));
    }

    [TestMethod]
    public void TiesGoToThePairSeenFirst()
    {
        // Chunks "cd", " ab", " cd", " ab": every pair occurs twice, so they merge in order of first appearance.
        var tokenizer = BpeTokenizer.Train("cd ab cd ab", new BpeTrainerOptions { VocabularySize = 258, Pattern = SplitPattern.Gpt2 });
        Assert.AreEqual(((int)'c', (int)'d'), tokenizer.Merges![0]);
        Assert.AreEqual(((int)' ', (int)'a'), tokenizer.Merges![1]); // " a" is met before "ab"
    }

    [TestMethod]
    [DataRow(512)]
    [DataRow(1024)]
    public void TinyShakespeareMergesEqualMinbpe(int vocabularySize)
    {
        using var golden = JsonDocument.Parse(File.ReadAllText(Encodings.SharedTokenizerFile($"minbpe-train-tinyshakespeare-{vocabularySize}.json")));
        var root = golden.RootElement;
        var pattern = SplitPattern.Custom(root.GetProperty("split_pattern").GetString()!);
        Assert.AreSame(SplitPattern.Gpt4, pattern, "minbpe's GPT-4 pattern maps to the cl100k state machine");
        var expected = root.GetProperty("merges").EnumerateArray().Select(m => (m[0].GetInt32(), m[1].GetInt32(), m[2].GetInt32())).ToArray();
        var text = Encodings.Shakespeare;

        BpeTokenizer.Train(text[..10000], new BpeTrainerOptions { VocabularySize = 300 }); // warm the JIT before timing
        var watch = Stopwatch.StartNew();
        var tokenizer = BpeTokenizer.Train(text, new BpeTrainerOptions { VocabularySize = vocabularySize, Pattern = pattern });
        watch.Stop();

        var merges = tokenizer.Merges!;
        Assert.AreEqual(expected.Length, merges.Count);
        for (var i = 0; i < expected.Length; i++)
            Assert.AreEqual((expected[i].Item1, expected[i].Item2, expected[i].Item3), (merges[i].Left, merges[i].Right, 256 + i), $"merge {i}");
        Assert.AreEqual(root.GetProperty("tokens_after_encoding_corpus").GetInt32(), tokenizer.CountTokens(text));
        if (vocabularySize == 1024)
            Assert.IsTrue(watch.Elapsed.TotalSeconds <= 1.0, $"training to 1024 took {watch.Elapsed.TotalSeconds:F2} s");
    }

    [TestMethod]
    public void TrainedTokenizerRoundTripsThroughItsFileAndSpecialTokens()
    {
        var text = SampleText.Text[..20000];
        var options = new BpeTrainerOptions { VocabularySize = 300, SpecialTokens = ["<|end|>", "<|sep|>"] };
        var tokenizer = BpeTokenizer.Train(text + "<|end|>" + text[..100], options);
        Assert.AreEqual(302, tokenizer.VocabularySize);
        Assert.AreEqual(300, tokenizer.SpecialTokens["<|end|>"]);
        Assert.AreEqual(301, tokenizer.SpecialTokens["<|sep|>"]);
        var path = Path.Combine(Path.GetTempPath(), $"bpe-{Guid.NewGuid():N}.txt");
        try
        {
            tokenizer.Save(path);
            Assert.IsTrue(File.ReadLines(path).First() == "mlnetgpt-bpe-tokenizer v1");
            var loaded = (BpeTokenizer)TokenizerFile.Load(path);
            CollectionAssert.AreEqual(tokenizer.Merges!.ToArray(), loaded.Merges!.ToArray());
            var sample = "First Citizen:<|sep|>Before we proceed";
            CollectionAssert.AreEqual(tokenizer.Encode(sample, SpecialTokenMode.Allowed), loaded.Encode(sample, SpecialTokenMode.Allowed));
            Assert.AreEqual(301, loaded.Encode(sample, SpecialTokenMode.Allowed)[tokenizer.Encode("First Citizen:").Length]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void TrainingStopsWhenNoPairIsLeft()
    {
        var tokenizer = BpeTokenizer.Train("ab", new BpeTrainerOptions { VocabularySize = 1000, Pattern = SplitPattern.None });
        Assert.AreEqual(1, tokenizer.Merges!.Count);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => BpeTokenizer.Train("ab", new BpeTrainerOptions { VocabularySize = 255 }));
    }

    [TestMethod]
    public void IncrementalTrainerEqualsNaiveMinbpeOnRandomText()
    {
        var random = new Random(1234);
        for (var trial = 0; trial < 30; trial++)
        {
            // Every third text is mostly one letter: runs like "aaaa" test overlapping pairs and neighbouring merge sites.
            var alphabet = trial % 3 == 2 ? "aaaab " : "ab c\nd'e!1";
            var chars = new char[random.Next(50, 400)];
            for (var i = 0; i < chars.Length; i++) chars[i] = alphabet[random.Next(random.Next(2, alphabet.Length + 1))];
            var text = new string(chars);
            var pattern = trial % 2 == 0 ? SplitPattern.Gpt4 : SplitPattern.None;
            var expected = ReferenceBpe.TrainMinbpe(text, 256 + 40, pattern);
            var actual = BpeTokenizer.Train(text, new BpeTrainerOptions { VocabularySize = 256 + 40, Pattern = pattern }).Merges!;
            CollectionAssert.AreEqual(expected, actual.ToArray(), $"trial {trial}: {text}");
        }
    }
}
