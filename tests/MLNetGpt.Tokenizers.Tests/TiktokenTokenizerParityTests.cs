// Our BpeTokenizer against Microsoft's TiktokenTokenizer through the Tokenizer API: random texts, the whole corpus, the golden set.
using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace MLNetGpt.Tokenizers.Tests;

[TestClass]
public sealed class TiktokenTokenizerParityTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>
    /// Every member of the Tokenizer API (the pre-tokenizer's pieces, ids, tokens with offsets and values, counts, budgets with chars consumed,
    /// indices from the start and from the end, both pre-tokenization settings, decoding to a string and into buffers of
    /// every size) gives what TiktokenTokenizer gives, on random texts full of multi-byte characters that byte-level
    /// tokens cut. Astral characters are followed by a space: .NET's regex sees their surrogate halves, so a letter after
    /// one splits differently in TiktokenTokenizer (see <see cref="GoldenTextsMatchTiktokenWhereMicrosoftDiffersOnlyOnAstralCharacters"/>).
    /// </summary>
    [TestMethod]
    [DataRow("gpt2")]
    [DataRow("cl100k_base")]
    [DataRow("o200k_base")]
    public void RandomTextsMatchTiktokenTokenizerOnEveryMember(string encoding)
    {
        Tokenizer ours = Encodings.ByName(encoding);
        Tokenizer microsoft = Encodings.MicrosoftTiktoken(encoding);
        var random = new Random(11);
        var failures = new List<string>();
        for (var trial = 0; trial < 700 && failures.Count < 10; trial++)
        {
            var text = RandomText(random, random.Next(0, 40));
            void Check(string what, object expected, object actual)
            {
                if (!Equals(expected, actual)) failures.Add($"{what} on \"{Escape(text)}\": TiktokenTokenizer {expected}, ours {actual}");
            }
            var expectedPieces = microsoft.PreTokenizer!.PreTokenize(text);
            if (encoding == "cl100k_base") expectedPieces = NpmCl100kPieces(text, expectedPieces);
            Check("PreTokenizer.PreTokenize", Pieces(expectedPieces), Pieces(ours.PreTokenizer!.PreTokenize(text)));
            foreach (var pre in new[] { true, false })
            {
                Check($"EncodeToIds(pre {pre})", Ids(microsoft.EncodeToIds(text, pre)), Ids(ours.EncodeToIds(text, pre)));
                Check($"EncodeToIds(span, pre {pre})", Ids(microsoft.EncodeToIds(text.AsSpan(), pre)), Ids(ours.EncodeToIds(text.AsSpan(), pre)));
                Check($"EncodeToTokens(pre {pre})", Tokens(microsoft.EncodeToTokens(text, out _, pre)), Tokens(ours.EncodeToTokens(text, out _, pre)));
                Check($"CountTokens(pre {pre})", microsoft.CountTokens(text, pre), ours.CountTokens(text, pre));
                for (var max = 1; max <= 6; max++)
                {
                    var expectedIndex = microsoft.GetIndexByTokenCount(text, max, out _, out var expectedCount, pre);
                    var index = ours.GetIndexByTokenCount(text.AsSpan(), max, out _, out var count, pre);
                    Check($"GetIndexByTokenCount({max}, pre {pre})", $"{expectedIndex} ({expectedCount})", $"{index} ({count})");
                    // Without pre-tokenization TiktokenTokenizer's EncodeToIds ignores the budget; ours keeps it, taking
                    // what its GetIndexByTokenCount counts.
                    var expectedConsumed = expectedIndex;
                    var expected = pre
                        ? microsoft.EncodeToIds(text, max, out _, out expectedConsumed, pre)
                        : microsoft.EncodeToIds(text, pre).Take(expectedCount).ToList();
                    var actual = ours.EncodeToIds(text, max, out var normalized, out var consumed, pre);
                    Check($"EncodeToIds(max {max}, pre {pre})", $"{Ids(expected)} consumed {expectedConsumed}", $"{Ids(actual)} consumed {consumed}");
                    Assert.IsNull(normalized);
                    // TiktokenTokenizer 2.0.1 reads considerNormalization where considerPreTokenization belongs here; equal flags agree.
                    expectedIndex = microsoft.GetIndexByTokenCountFromEnd(text, max, out _, out expectedCount, pre, pre);
                    index = ours.GetIndexByTokenCountFromEnd(text, max, out _, out count, pre, pre);
                    Check($"GetIndexByTokenCountFromEnd({max}, pre {pre})", $"{expectedIndex} ({expectedCount})", $"{index} ({count})");
                }
            }
            var ids = microsoft.EncodeToIds(text);
            Check("Decode", microsoft.Decode(ids), ours.Decode(ids));
            for (var size = 0; size <= text.Length; size += 1 + size / 8)
            {
                var expectedChars = new char[size];
                var chars = new char[size];
                var expectedStatus = microsoft.Decode(ids, expectedChars, out var expectedIds, out var expectedWritten);
                var status = ours.Decode(ids, chars, out var idsConsumed, out var written);
                Check($"Decode into {size} chars", $"{expectedStatus} {expectedIds} ids \"{Escape(new string(expectedChars, 0, expectedWritten))}\"",
                    $"{status} {idsConsumed} ids \"{Escape(new string(chars, 0, written))}\"");
            }
        }
        Assert.AreEqual(0, failures.Count, string.Join("\n", failures));
    }

    /// <summary>Tiny Shakespeare through <see cref="Tokenizer"/> variables: the same ids and counts as TiktokenTokenizer, and Decode(EncodeToIds(x)) == x.</summary>
    [TestMethod]
    [DataRow("gpt2")]
    [DataRow("cl100k_base")]
    [DataRow("o200k_base")]
    public void WholeCorpusGivesTiktokenTokenizersIdsAndDecodesBack(string encoding)
    {
        var text = Encodings.Shakespeare;
        Tokenizer ours = Encodings.ByName(encoding);
        Tokenizer microsoft = Encodings.MicrosoftTiktoken(encoding);
        var ids = ours.EncodeToIds(text);
        CollectionAssert.AreEqual(microsoft.EncodeToIds(text).ToArray(), ids.ToArray());
        Assert.AreEqual(ids.Count, ours.CountTokens(text));
        Assert.AreEqual(text, ours.Decode(ids));
    }

    /// <summary>
    /// Every golden text (tiktoken's ids for gpt2 and cl100k_base): our Tokenizer API gives tiktoken's ids and decodes back
    /// to the text; TiktokenTokenizer gives the same ids except on texts with astral characters, where ours are tiktoken's.
    /// </summary>
    [TestMethod]
    public void GoldenTextsMatchTiktokenWhereMicrosoftDiffersOnlyOnAstralCharacters()
    {
        var failures = new List<string>();
        var microsoftDiffers = new List<string>();
        var checkedTexts = 0;
        foreach (var line in Encodings.ReadJsonl("golden-public.jsonl"))
        {
            var encoding = line.GetProperty("encoding").GetString()!;
            var id = line.GetProperty("id").GetString()!;
            var text = line.GetProperty("text").GetString()!;
            var allowed = line.GetProperty("allowed_special");
            var allowAll = allowed.ValueKind == JsonValueKind.String;
            Tokenizer ours = Encodings.ByName(encoding);
            var actual = ours.EncodeToIds(text).ToArray();
            // The Tokenizer API allows special tokens: its ids are tiktoken's for "all" lines, and for the other lines
            // whenever the text holds no special-token string.
            if (allowAll || !text.Contains("<|", StringComparison.Ordinal))
            {
                checkedTexts++;
                var golden = Encodings.Ids(line.GetProperty("ids"));
                if (!golden.AsSpan().SequenceEqual(actual)) failures.Add($"{id} {encoding}: tiktoken [{string.Join(",", golden)}], ours [{string.Join(",", actual)}]");
                var microsoft = Encodings.MicrosoftTiktoken(encoding).EncodeToIds(text).ToArray();
                if (!microsoft.AsSpan().SequenceEqual(actual))
                {
                    microsoftDiffers.Add($"{id} {encoding} {line.GetProperty("category").GetString()} \"{Escape(text)}\"");
                    if (!text.EnumerateRunes().Any(r => r.Value >= 0x10000))
                        failures.Add($"{id} {encoding}: TiktokenTokenizer differs on a text without astral characters");
                }
            }
            if (ours.Decode(actual) != text) failures.Add($"{id} {encoding}: Decode(EncodeToIds(text)) != text");
        }
        TestContext.WriteLine($"{checkedTexts} golden encodings checked; TiktokenTokenizer differs from tiktoken (and ours) on {microsoftDiffers.Count}:");
        foreach (var line in microsoftDiffers) TestContext.WriteLine("  " + line);
        Assert.AreEqual(0, failures.Count, string.Join("\n", failures.Take(20)));
    }

    /// <summary>Both factories give TiktokenTokenizer's special tokens and, id by id, its vocabulary, from the data packages alone.</summary>
    [TestMethod]
    [DataRow("gpt2", "gpt2")]
    [DataRow("r50k_base", "text-davinci-001")]
    [DataRow("cl100k_base", "gpt-4")]
    [DataRow("o200k_base", "gpt-4o")]
    public void FactoriesGiveTiktokenTokenizersVocabularyAndSpecialTokens(string encoding, string model)
    {
        var ours = BpeTokenizer.CreateForEncoding(encoding);
        Assert.AreSame(ours, BpeTokenizer.CreateForModel(model), "one shared instance per encoding");
        var microsoft = TiktokenTokenizer.CreateForModel(model);
        CollectionAssert.AreEquivalent(microsoft.SpecialTokens!.ToArray(), ours.SpecialTokens.ToArray());
        Assert.AreEqual(microsoft.SpecialTokens!.Values.Max() + 1, ours.VocabularySize);
        var mismatches = 0;
        for (var id = 0; id < ours.OrdinaryTokenCount; id++)
            if (ours.Decode([id]) != microsoft.Decode([id])) mismatches++;
        Assert.AreEqual(0, mismatches, "ordinary tokens decoding differently");
    }

    [TestMethod]
    public void ModelNamesMapToTheirEncodingsAsTiktokenTokenizerDoes()
    {
        foreach (var model in new[] { "gpt-3.5-turbo", "gpt-4-0613", "text-embedding-3-small", "gpt-4o-2024-05-13", "gpt-4o-mini", "gpt-4.1", "o1-mini", "o3", "gpt-5", "ft:gpt-4o-mini:acme", "GPT-4" })
        {
            var microsoft = TiktokenTokenizer.CreateForModel(model);
            var ours = BpeTokenizer.CreateForModel(model);
            CollectionAssert.AreEquivalent(microsoft.SpecialTokens!.ToArray(), ours.SpecialTokens.ToArray(), model);
            Assert.AreEqual(microsoft.CountTokens(SampleText.Text[..2000]), ours.CountTokens(SampleText.Text[..2000]), model);
        }
        var harmony = BpeTokenizer.CreateForModel("gpt-oss-20b");
        CollectionAssert.AreEquivalent(TiktokenTokenizer.CreateForModel("gpt-oss-20b").SpecialTokens!.ToArray(), harmony.SpecialTokens.ToArray());
        Assert.AreEqual(200019, harmony.VocabularySize);
    }

    [TestMethod]
    public void MissingOrUnknownEncodingsFailWithMessagesThatSayWhy()
    {
        // p50k_base is r50k's ranks plus 24 tokens; the registry here serves no Microsoft.ML.Tokenizers.Data.P50kBase.
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => BpeTokenizer.CreateForEncoding("p50k_base"));
        StringAssert.Contains(e.Message, "Microsoft.ML.Tokenizers.Data.P50kBase");
        e = Assert.ThrowsExactly<InvalidOperationException>(() => BpeTokenizer.CreateForModel("text-davinci-003"));
        StringAssert.Contains(e.Message, "Microsoft.ML.Tokenizers.Data.P50kBase");
        var a = Assert.ThrowsExactly<ArgumentException>(() => BpeTokenizer.CreateForEncoding("p51k_base"));
        StringAssert.Contains(a.Message, "o200k_base");
        Assert.ThrowsExactly<NotSupportedException>(() => BpeTokenizer.CreateForModel("llama-3"));
        var extra = BpeTokenizer.CreateForEncoding("cl100k_base", new Dictionary<string, int> { ["<|im_start|>"] = 100264 });
        Assert.AreEqual(100264, extra.EncodeToIds("<|im_start|>").Single());
        Assert.AreNotSame(extra, BpeTokenizer.CreateForEncoding("cl100k_base"));
    }

    private static string Ids(IEnumerable<int> ids) => string.Join(",", ids);

    private static string Pieces(IEnumerable<(int Offset, int Length)> pieces) => string.Join(" ", pieces.Select(p => $"{p.Offset}+{p.Length}"));

    /// <summary>
    /// TiktokenTokenizer runs Python tiktoken's cl100k pattern, whose <c>\s++$</c> keeps a whitespace run at the end of a
    /// segment whole; npm tiktoken's pattern (the golden files' oracle, and ours) ends that run's first piece after its
    /// last CR/LF when other whitespace follows. cl100k_base has no token that joins a line break to the whitespace after
    /// it, so the ids agree; only these pieces differ, and this maps Microsoft's onto npm's.
    /// </summary>
    private static IEnumerable<(int Offset, int Length)> NpmCl100kPieces(string text, IEnumerable<(int Offset, int Length)> pieces)
    {
        foreach (var (offset, length) in pieces)
        {
            var piece = text.AsSpan(offset, length);
            var lastNewline = piece.LastIndexOfAny('\r', '\n');
            if (lastNewline >= 0 && lastNewline < length - 1 && piece.Trim().IsEmpty)
            {
                yield return (offset, lastNewline + 1);
                yield return (offset + lastNewline + 1, length - lastNewline - 1);
            }
            else yield return (offset, length);
        }
    }

    private static string Tokens(IEnumerable<EncodedToken> tokens) =>
        string.Join(" ", tokens.Select(t => $"{t.Id}@{t.Offset.Start.Value}-{t.Offset.End.Value}:{Escape(t.Value)}"));

    internal static string Escape(string s) => string.Concat(s.Select(c => c is >= ' ' and < '\x7F' ? c.ToString() : $"\\u{(int)c:X4}"));

    /// <summary>
    /// Words in both cases, contractions, digits, whitespace runs, special-token strings, accents and combining marks,
    /// CJK, and random code points; astral ones are never letters, digits or marks and are followed by a space.
    /// Lone surrogates and U+FFFD are left out: there we follow Python tiktoken (U+FFFD for a lone surrogate), not TiktokenTokenizer.
    /// </summary>
    internal static string RandomText(Random random, int length)
    {
        string[] pieces = ["a", "Z", "xy", "Hello", "WORLD", "camelCase", " ", "  ", "\n", "\r\n", "\t", "'s", "'RE", "'ll", "'t", "123", "4567",
            "é", "e\u0301", "\u0301", "中文", "日本", "Ω", "ß", "😀 ", "🇫🇷 ", "👍🏽 ", "\u00A0", "\u2028", "\u3000", "\uFEFF", "\u200B", "!", "?!",
            "...", "/", "<|endoftext|>", "<|endofprompt|>", "<|fim_prefix|>", "ǅ", "ʰ", "٣", "½", "Ⅻ", "ﬁ", "İ", "ǈ", "⭐"];
        var sb = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            if (random.Next(4) != 0)
            {
                sb.Append(pieces[random.Next(pieces.Length)]);
                continue;
            }
            while (true)
            {
                var cp = random.Next(random.Next(2) == 0 ? 0x3000 : 0x110000);
                if (cp is >= 0xD800 and <= 0xDFFF or 0x17F or 0x212A or 0xFFFD) continue;
                if (cp < 0x10000)
                {
                    sb.Append((char)cp);
                    break;
                }
                if (Rune.GetUnicodeCategory(new Rune(cp)) is >= UnicodeCategory.UppercaseLetter and <= UnicodeCategory.OtherNumber) continue;
                sb.Append(char.ConvertFromUtf32(cp)).Append(' ');
                break;
            }
        }
        return sb.ToString();
    }
}
