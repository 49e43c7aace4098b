// Parity with tiktoken: every golden encoding and decoding case of the shared reference data.
using System.Text;

namespace MLNetGpt.Tokenizers.Tests;

[TestClass]
public sealed class GoldenTests
{
    [TestMethod]
    public void EveryGoldenEncodingMatchesTiktoken()
    {
        var failures = new List<string>();
        var lines = 0;
        foreach (var line in Encodings.ReadJsonl("golden-public.jsonl"))
        {
            lines++;
            var tokenizer = Encodings.ByName(line.GetProperty("encoding").GetString()!);
            var text = line.GetProperty("text").GetString()!;
            var allowed = line.GetProperty("allowed_special");
            var mode = allowed.ValueKind == System.Text.Json.JsonValueKind.String && allowed.GetString() == "all"
                ? SpecialTokenMode.Allowed
                : SpecialTokenMode.AsText;
            var expected = Encodings.Ids(line.GetProperty("ids"));
            var actual = tokenizer.Encode(text, mode);
            if (!expected.AsSpan().SequenceEqual(actual))
            {
                failures.Add($"{line.GetProperty("id")} {line.GetProperty("encoding")} {line.GetProperty("category")} {mode}: expected [{string.Join(",", expected)}] got [{string.Join(",", actual)}]");
                continue;
            }
            if (tokenizer.CountTokens(text, mode) != expected.Length) failures.Add($"{line.GetProperty("id")}: CountTokens differs");
            if (!tokenizer.DecodeToBytes(actual).AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(text))) failures.Add($"{line.GetProperty("id")}: bytes differ");
            if (tokenizer.Decode(actual) != text) failures.Add($"{line.GetProperty("id")}: decode differs");
        }
        Assert.AreEqual(820, lines);
        Assert.AreEqual(0, failures.Count, string.Join("\n", failures.Take(20)));
    }

    [TestMethod]
    public void EveryGoldenDecodingMatchesTiktoken()
    {
        var lines = 0;
        foreach (var line in Encodings.ReadJsonl("golden-public-decode.jsonl"))
        {
            lines++;
            var tokenizer = Encodings.ByName(line.GetProperty("encoding").GetString()!);
            var ids = Encodings.Ids(line.GetProperty("ids"));
            var bytes = Convert.FromHexString(line.GetProperty("bytes_hex").GetString()!);
            CollectionAssert.AreEqual(bytes, tokenizer.DecodeToBytes(ids), line.GetProperty("id").GetString());
            Assert.AreEqual(line.GetProperty("text_replace").GetString(), tokenizer.Decode(ids), line.GetProperty("id").GetString());
            Assert.AreEqual(line.GetProperty("text_replace").GetString(), tokenizer.Decode(ids.ToList()), line.GetProperty("id").GetString());
        }
        Assert.AreEqual(89, lines);
    }

    [TestMethod]
    public void VocabularySizesAndSpecialIdsMatchTiktoken()
    {
        Assert.AreEqual(50257, Encodings.Gpt2.VocabularySize);
        Assert.AreEqual(100277, Encodings.Cl100k.VocabularySize);
        Assert.AreEqual(50256, Encodings.Gpt2.SpecialTokens["<|endoftext|>"]);
        Assert.AreEqual(100276, Encodings.Cl100k.SpecialTokens["<|endofprompt|>"]);
        // Byte ranks are not byte values: '!' = 0, '\n' = 198, ' ' = 220.
        Assert.AreEqual(0, Encodings.Gpt2.Encode("!").Single());
        Assert.AreEqual(198, Encodings.Gpt2.Encode("\n").Single());
        Assert.AreEqual(220, Encodings.Gpt2.Encode(" ").Single());
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Encodings.Cl100k.Decode(new[] { 100256 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Encodings.Gpt2.Decode(new[] { 50257 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Encodings.Gpt2.Decode(new[] { -1 }));
    }

    [TestMethod]
    public void SpecialTokensFollowTheMode()
    {
        var text = "a<|endoftext|>b";
        var gpt2 = Encodings.Gpt2;
        CollectionAssert.AreEqual(new[] { 64, 50256, 65 }, gpt2.Encode(text, SpecialTokenMode.Allowed));
        Assert.IsTrue(gpt2.Encode(text).Length > 3);
        var e = Assert.ThrowsExactly<ArgumentException>(() => gpt2.Encode(text, SpecialTokenMode.Disallowed));
        StringAssert.Contains(e.Message, "index 1");
        Assert.AreEqual(text, gpt2.Decode(gpt2.Encode(text, SpecialTokenMode.Allowed)));
    }
}
