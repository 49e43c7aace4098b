// A tokenizer we train, saved as .tiktoken and as Hugging Face vocab.json + merges.txt, gives our ids in Microsoft's tokenizers.
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace MLNetGpt.Tokenizers.Tests;

[TestClass]
public sealed class InterchangeTests
{
    private static readonly Dictionary<string, int> NoSpecials = [];

    /// <summary>Texts to compare on: the training text with a special token spliced in, and random BMP texts.</summary>
    private static IEnumerable<string> Texts()
    {
        yield return SampleText.Text[..20000] + "<|end|>" + SampleText.Text[20000..30000];
        var random = new Random(5);
        for (var i = 0; i < 300; i++) yield return TiktokenTokenizerParityTests.RandomText(random, random.Next(0, 30)).Replace("<|endoftext|>", "<|end|>");
    }

    [TestMethod]
    [DataRow("gpt4", 1024)]
    [DataRow("gpt2", 700)]
    public void TrainedTokenizerSavedAsTiktokenGivesOurIdsInTiktokenTokenizer(string pattern, int vocabularySize)
    {
        var trained = BpeTokenizer.Train(SampleText.Text, new BpeTrainerOptions { VocabularySize = vocabularySize, Pattern = SplitPattern.FromName(pattern), SpecialTokens = ["<|end|>"] });
        var specials = trained.SpecialTokens.ToDictionary();
        using var file = new MemoryStream();
        trained.SaveTiktoken(file);
        file.Position = 0;
        var regex = new Regex(trained.Pattern.RegexText!, RegexOptions.Compiled);
        Tokenizer microsoft = TiktokenTokenizer.Create(file, new RegexPreTokenizer(regex, specials), normalizer: null, specialTokens: specials);
        file.Position = 0;
        Tokenizer reloaded = BpeTokenizer.LoadTiktoken(file, trained.Pattern, specials);
        Tokenizer ours = trained;
        foreach (var text in Texts())
        {
            var ids = ours.EncodeToIds(text).ToArray();
            CollectionAssert.AreEqual(ids, microsoft.EncodeToIds(text).ToArray(), TiktokenTokenizerParityTests.Escape(text));
            CollectionAssert.AreEqual(ids, reloaded.EncodeToIds(text).ToArray(), TiktokenTokenizerParityTests.Escape(text));
            Assert.AreEqual(text, microsoft.Decode(ids));
        }
    }

    [TestMethod]
    [DataRow("gpt4", 1024)]
    [DataRow("gpt2", 700)]
    public void TrainedTokenizerSavedAsVocabAndMergesGivesOurIdsInMicrosoftBpeTokenizer(string pattern, int vocabularySize)
    {
        var trained = BpeTokenizer.Train(SampleText.Text, new BpeTrainerOptions { VocabularySize = vocabularySize, Pattern = SplitPattern.FromName(pattern), SpecialTokens = ["<|end|>"] });
        var specials = trained.SpecialTokens.ToDictionary();
        var dir = Path.Combine(Path.GetTempPath(), $"hf-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var vocab = Path.Combine(dir, "vocab.json");
            var merges = Path.Combine(dir, "merges.txt");
            trained.SaveVocabAndMerges(vocab, merges);
            Assert.AreEqual("#version: 0.2", File.ReadLines(merges).First());
            Assert.AreEqual(trained.Merges!.Count + 1, File.ReadLines(merges).Count());
            Tokenizer microsoft = Microsoft.ML.Tokenizers.BpeTokenizer.Create(new BpeOptions(vocab, merges)
            {
                ByteLevel = true,
                PreTokenizer = new RegexPreTokenizer(new Regex(trained.Pattern.RegexText!, RegexOptions.Compiled), specials),
                SpecialTokens = specials,
            });
            Tokenizer ours = trained;
            foreach (var text in Texts())
            {
                var ids = ours.EncodeToIds(text).ToArray();
                CollectionAssert.AreEqual(ids, microsoft.EncodeToIds(text).ToArray(), TiktokenTokenizerParityTests.Escape(text));
                Assert.AreEqual(text, microsoft.Decode(ids));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    public void RankTablesHaveNoLearnedMergesToSave()
    {
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => Encodings.Gpt2.SaveVocabAndMerges(Stream.Null, Stream.Null));
        StringAssert.Contains(e.Message, "SaveTiktoken");
        var path = Path.Combine(Path.GetTempPath(), $"never-{Guid.NewGuid():N}.json");
        Assert.ThrowsExactly<InvalidOperationException>(() => Encodings.Gpt2.SaveVocabAndMerges(path, path + ".txt"));
        Assert.IsFalse(File.Exists(path));
    }
}
