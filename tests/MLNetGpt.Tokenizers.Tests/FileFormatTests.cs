// Loading validates rank files with line numbers; our format and .tiktoken round-trip; the magic line picks the type.
using System.Text;
using System.Text.Json;

namespace MLNetGpt.Tokenizers.Tests;

[TestClass]
public sealed class FileFormatTests
{
    private static string RankLines(int count, Func<int, string>? line = null)
    {
        var sb = new StringBuilder();
        for (var r = 0; r < count; r++) sb.Append(line?.Invoke(r) ?? $"{Convert.ToBase64String(TokenBytes(r))} {r}").Append('\n');
        return sb.ToString();
    }

    /// <summary>A toy rank table: the 256 bytes, then "ab" and "abc".</summary>
    private static byte[] TokenBytes(int rank) => rank < 256 ? [(byte)rank] : rank == 256 ? "ab"u8.ToArray() : "abc"u8.ToArray();

    private static FormatException LoadError(string content)
    {
        var path = Path.Combine(Path.GetTempPath(), $"ranks-{Guid.NewGuid():N}.tiktoken");
        File.WriteAllText(path, content);
        try
        {
            return Assert.ThrowsExactly<FormatException>(() => BpeTokenizer.LoadTiktoken(path, SplitPattern.Gpt2));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void RankFileErrorsNameTheLine()
    {
        StringAssert.Contains(LoadError(RankLines(258, r => r == 10 ? "!!!! 10" : null!)).Message, ":11: ");
        StringAssert.Contains(LoadError(RankLines(258, r => r == 20 ? $"{Convert.ToBase64String(TokenBytes(20))} 19" : null!)).Message, ":21: duplicate rank 19");
        StringAssert.Contains(LoadError(RankLines(258, r => r == 30 ? $"{Convert.ToBase64String(TokenBytes(30))} 31" : null!)).Message, ":31: gap");
        StringAssert.Contains(LoadError(RankLines(258, r => r == 257 ? $"{Convert.ToBase64String(TokenBytes(256))} 257" : null!)).Message, ":258: token bytes repeat line 257");
        StringAssert.Contains(LoadError(RankLines(258, r => r == 5 ? "AQ==5" : null!)).Message, ":6: ");
        StringAssert.Contains(LoadError("").Message, "no ranks");
    }

    [TestMethod]
    public void ToyRankTableMergesByRank()
    {
        var tokenizer = BpeTokenizer.FromRanks(Enumerable.Range(0, 258).Select(TokenBytes).ToArray(), SplitPattern.None);
        CollectionAssert.AreEqual(new[] { 257, 'x', 256 }, tokenizer.Encode("abcxab"));
    }

    [TestMethod]
    public void TiktokenFilesRoundTripByteForByte()
    {
        var path = Path.Combine(Path.GetTempPath(), $"gpt2-{Guid.NewGuid():N}.tiktoken");
        try
        {
            Encodings.Gpt2.SaveTiktoken(path);
            CollectionAssert.AreEqual(File.ReadAllBytes(Encodings.SharedTokenizerFile("gpt2.tiktoken")), File.ReadAllBytes(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void OurFormatRoundTripsRankTablesAndTheMagicLinePicksTheType()
    {
        using var stream = new MemoryStream();
        Encodings.Cl100k.Save(stream);
        stream.Position = 0;
        var loaded = (BpeTokenizer)TokenizerFile.Load(stream);
        Assert.AreEqual(Encodings.Cl100k.VocabularySize, loaded.VocabularySize);
        Assert.AreEqual(SplitPattern.Cl100k, loaded.Pattern);
        var text = SampleText.Text[..5000] + " <|endofprompt|> 𠀀's";
        CollectionAssert.AreEqual(Encodings.Cl100k.Encode(text, SpecialTokenMode.Allowed), loaded.Encode(text, SpecialTokenMode.Allowed));

        var character = CharacterTokenizer.Create("hello");
        using var charStream = new MemoryStream();
        character.Save(charStream);
        charStream.Position = 0;
        Assert.IsInstanceOfType<CharacterTokenizer>(TokenizerFile.Load(charStream));
    }

    [TestMethod]
    public void OurFormatRejectsBadFilesWithLineNumbers()
    {
        FormatException Load(string content) => Assert.ThrowsExactly<FormatException>(() => TokenizerFile.Load(new MemoryStream(Encoding.UTF8.GetBytes(content))));
        StringAssert.Contains(Load("mlnetgpt-bpe-tokenizer v2\n").Message, "expected 'mlnetgpt-bpe-tokenizer v1'");
        StringAssert.Contains(Load("hello\n").Message, ":1: unknown tokenizer magic");
        StringAssert.Contains(Load("mlnetgpt-bpe-tokenizer v1\npattern gpt3\n").Message, ":2: ");
        StringAssert.Contains(Load("mlnetgpt-bpe-tokenizer v1\npattern gpt2\nvocabulary 258\nmerges 2\n97 97\n256 999\nend\n").Message, ":6: merge 1");
        StringAssert.Contains(Load("mlnetgpt-bpe-tokenizer v1\npattern gpt2\nvocabulary 258\nmerges 2\n97 97\n").Message, ":6: unexpected end");
        StringAssert.Contains(Load("mlnetgpt-bpe-tokenizer v1\npattern custom \"\\\\w+\"\nvocabulary 256\nspecial 10 \"<s>\"\nmerges 0\nend\n").Message, ":6: ");
    }

    [TestMethod]
    public void FullGpt2VocabAndMergesGiveTheTiktokenRanks()
    {
        // Recover GPT-2's merges from the rank file (tiktoken's educational recipe: BPE a token's bytes with only the
        // lower ranks; exactly two parts remain), write them as vocab.json + merges.txt, and load those back.
        var gpt2 = Encodings.Gpt2;
        var latin1 = Encoding.Latin1;
        var ranks = ReferenceBpe.RankDictionary(gpt2);
        var (rankToByte, charToByte) = MLNetGpt.Tokenizers.Bpe.Gpt2VocabFiles.ByteMap();
        var byteToChar = charToByte.ToDictionary(p => p.Value, p => p.Key);
        string Printable(ReadOnlySpan<byte> bytes)
        {
            var chars = new char[bytes.Length];
            for (var i = 0; i < bytes.Length; i++) chars[i] = byteToChar[bytes[i]];
            return new string(chars);
        }
        var merges = new StringBuilder("#version: 0.2\n");
        var vocab = new Dictionary<string, int>();
        for (var rank = 0; rank < gpt2.OrdinaryTokenCount; rank++)
        {
            var token = gpt2.GetTokenBytes(rank).ToArray();
            vocab[Printable(token)] = rank;
            if (rank < 256)
            {
                Assert.AreEqual(rankToByte[rank], token.Single(), $"single-byte rank {rank}");
                continue;
            }
            var parts = token.Select(b => new[] { b }).ToList();
            while (true)
            {
                var best = int.MaxValue;
                var at = -1;
                for (var i = 0; i + 1 < parts.Count; i++)
                {
                    if (ranks.TryGetValue(latin1.GetString([.. parts[i], .. parts[i + 1]]), out var r) && r < rank && r < best)
                    {
                        best = r;
                        at = i;
                    }
                }
                if (at < 0) break;
                parts[at] = [.. parts[at], .. parts[at + 1]];
                parts.RemoveAt(at + 1);
            }
            Assert.AreEqual(2, parts.Count, $"rank {rank}");
            merges.Append(Printable(parts[0])).Append(' ').Append(Printable(parts[1])).Append('\n');
        }
        vocab["<|endoftext|>"] = 50256;
        var dir = Path.Combine(Path.GetTempPath(), $"gpt2-full-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "vocab.json"), JsonSerializer.Serialize(vocab));
            File.WriteAllText(Path.Combine(dir, "merges.txt"), merges.ToString());
            var loaded = BpeTokenizer.LoadGpt2(Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt"));
            Assert.AreEqual(50257, loaded.VocabularySize);
            for (var id = 0; id < 50257; id++)
                Assert.IsTrue(gpt2.GetTokenBytes(id).SequenceEqual(loaded.GetTokenBytes(id)), $"token {id}");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    public void Gpt2VocabAndMergesLoadAsTiktokenDoes()
    {
        // A miniature GPT-2 file pair: bytes in GPT-2's printable order, then merges "Ġ t" (" t") and "Ġt h" (" th").
        var dir = Path.Combine(Path.GetTempPath(), $"gpt2-files-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var (rankToByte, charToByte) = MLNetGpt.Tokenizers.Bpe.Gpt2VocabFiles.ByteMap();
            var byteToChar = charToByte.ToDictionary(p => p.Value, p => p.Key);
            var vocab = new Dictionary<string, int>();
            for (var r = 0; r < 256; r++) vocab[byteToChar[rankToByte[r]].ToString()] = r;
            vocab["Ġt"] = 256;
            vocab["Ġth"] = 257;
            vocab["<|endoftext|>"] = 258;
            File.WriteAllText(Path.Combine(dir, "vocab.json"), JsonSerializer.Serialize(vocab));
            File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\nĠ t\nĠt h\n");
            var tokenizer = BpeTokenizer.LoadGpt2(Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt"));
            Assert.AreEqual(259, tokenizer.VocabularySize);
            // GPT-2 rank order: '!' = 0 ... 't' = 83, 'h' = 71, ' ' = 220.
            CollectionAssert.AreEqual(new[] { 257, 68, 258 }, tokenizer.Encode(" the<|endoftext|>", SpecialTokenMode.Allowed));
            CollectionAssert.AreEqual(Encodings.Gpt2.Encode("!").Concat(Encodings.Gpt2.Encode("\n")).ToArray(), tokenizer.Encode("!\n"));

            File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\nĠ t\nĠt\n");
            var e = Assert.ThrowsExactly<FormatException>(() => BpeTokenizer.LoadGpt2(Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt")));
            StringAssert.Contains(e.Message, ":3: ");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
