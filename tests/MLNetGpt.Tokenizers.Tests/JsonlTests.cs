// JSONL batch tokenization: order, equality with single encodes, and errors with line numbers.
namespace MLNetGpt.Tokenizers.Tests;

[TestClass]
public sealed class JsonlTests
{
    [TestMethod]
    public void EncodesLinesInOrder()
    {
        var texts = SampleText.Text.Split('\n').Take(1000).ToArray();
        var input = string.Join("\n", texts.Select(t => System.Text.Json.JsonSerializer.Serialize(new { id = 1, text = t }))) + "\n";
        var output = new StringWriter();
        var result = JsonlTokenization.EncodeJsonl(new StringReader(input), output, Encodings.Gpt2, new JsonlTokenizationOptions { LinesPerBatch = 64 });
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.AreEqual(texts.Length, lines.Length);
        Assert.AreEqual(texts.Length, result.Lines);
        long tokens = 0;
        for (var i = 0; i < texts.Length; i++)
        {
            using var document = System.Text.Json.JsonDocument.Parse(lines[i]);
            var ids = Encodings.Ids(document.RootElement.GetProperty("ids"));
            CollectionAssert.AreEqual(Encodings.Gpt2.Encode(texts[i]), ids);
            tokens += ids.Length;
        }
        Assert.AreEqual(tokens, result.Tokens);
    }

    [TestMethod]
    public void AnyMicrosoftTokenizerEncodesWithItsOwnEncodeToIds()
    {
        var texts = SampleText.Text.Split('\n').Take(200).Append("a<|endoftext|>b").ToArray();
        var input = string.Join("\n", texts.Select(t => System.Text.Json.JsonSerializer.Serialize(new { text = t }))) + "\n";
        var output = new StringWriter();
        Tokenizer microsoft = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForModel("gpt2");
        JsonlTokenization.EncodeJsonl(new StringReader(input), output, microsoft);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < texts.Length; i++)
        {
            using var document = System.Text.Json.JsonDocument.Parse(lines[i]);
            CollectionAssert.AreEqual(microsoft.EncodeToIds(texts[i]).ToArray(), Encodings.Ids(document.RootElement.GetProperty("ids")));
        }
    }

    [TestMethod]
    public void BadLinesAreReportedWithTheirNumber()
    {
        var input = "{\"text\":\"a\"}\n{\"text\":\"b\"}\n{\"txt\":\"c\"}\n";
        var e = Assert.ThrowsExactly<FormatException>(() => JsonlTokenization.EncodeJsonl(new StringReader(input), new StringWriter(), Encodings.Gpt2, new JsonlTokenizationOptions { LinesPerBatch = 2 }));
        StringAssert.StartsWith(e.Message, "line 3:");
        e = Assert.ThrowsExactly<FormatException>(() => JsonlTokenization.EncodeJsonl(new StringReader("{\"text\":1}\n"), new StringWriter(), Encodings.Gpt2));
        StringAssert.StartsWith(e.Message, "line 1:");
        e = Assert.ThrowsExactly<FormatException>(() => JsonlTokenization.EncodeJsonl(new StringReader("{\"text\":\"x\"}\n{oops\n"), new StringWriter(), Encodings.Gpt2));
        StringAssert.StartsWith(e.Message, "line 2:");
        var a = Assert.ThrowsExactly<ArgumentException>(() => JsonlTokenization.EncodeJsonl(new StringReader("{\"text\":\"ab\"}\n{\"text\":\"az\"}\n"), new StringWriter(), CharacterTokenizer.Create("ab")));
        StringAssert.StartsWith(a.Message, "line 2:");
    }
}
