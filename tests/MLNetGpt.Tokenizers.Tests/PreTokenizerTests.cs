// The hand-written split matchers (gpt2, cl100k, o200k) against .NET Regex (on BMP text) and against the documented traps.
using System.Text;
using MLNetGpt.Tokenizers.PreTokenization;

namespace MLNetGpt.Tokenizers.Tests;

[TestClass]
public sealed class PreTokenizerTests
{
    [TestMethod]
    [DataRow("a  b", new[] { "a", " ", " b" })]
    [DataRow("Hello world", new[] { "Hello", " world" })]
    [DataRow("it's", new[] { "it", "'s" })]
    [DataRow("IT'S", new[] { "IT", "'", "S" })]
    [DataRow("x   \n\n y", new[] { "x", "   \n\n", " y" })]
    [DataRow("\uFEFFHello", new[] { "\uFEFF", "Hello" })]
    [DataRow("\U00020000's", new[] { "\U00020000", "'s" })]
    [DataRow("12345", new[] { "12345" })]
    [DataRow("a\t", new[] { "a", "\t" })]
    public void Gpt2Splits(string text, string[] expected) =>
        CollectionAssert.AreEqual(expected, SplitPattern.Gpt2.Split(text).ToArray());

    [TestMethod]
    [DataRow("a  b", new[] { "a", " ", " b" })]
    [DataRow("IT'S", new[] { "IT", "'S" })]
    [DataRow("it'sup", new[] { "it", "'s", "up" })]
    [DataRow("12345", new[] { "123", "45" })]
    [DataRow("x   \n\n y", new[] { "x", "   \n\n", " y" })]
    [DataRow("\n\nhello", new[] { "\n\n", "hello" })]
    [DataRow("\thello", new[] { "\thello" })]
    [DataRow("foo!!\n\nbar", new[] { "foo", "!!\n\n", "bar" })]
    [DataRow("\uFEFFHello", new[] { "\uFEFFHello" })]
    [DataRow("\U00020000's", new[] { "\U00020000", "'s" })]
    [DataRow("x'\u017Fy", new[] { "x", "'\u017F", "y" })]
    public void Cl100kSplits(string text, string[] expected) =>
        CollectionAssert.AreEqual(expected, SplitPattern.Cl100k.Split(text).ToArray());

    [TestMethod]
    [DataRow("Hello world", new[] { "Hello", " world" })]
    [DataRow("HELLOworld", new[] { "HELLOworld" })]
    [DataRow("helloWORLD", new[] { "hello", "WORLD" })]
    [DataRow("HelloWorld", new[] { "Hello", "World" })]
    [DataRow("don't", new[] { "don't" })]
    [DataRow("DON'T", new[] { "DON'T" })]
    [DataRow("it'sup", new[] { "it's", "up" })]
    [DataRow("'s", new[] { "'s" })]
    [DataRow("12345", new[] { "123", "45" })]
    [DataRow("a/b", new[] { "a", "/b" })]
    [DataRow("x//\n", new[] { "x", "//\n" })]
    [DataRow("x   \n\n y", new[] { "x", "   \n\n", " y" })]
    [DataRow("foo!!\n\nbar", new[] { "foo", "!!\n\n", "bar" })]
    [DataRow("\uFEFFHello", new[] { "\uFEFFHello" })]
    [DataRow("\u0301ABC", new[] { "\u0301", "ABC" })]
    [DataRow(" \u0301", new[] { " \u0301" })]
    [DataRow("\U0001D400bc", new[] { "\U0001D400bc" })]
    [DataRow("\U00020000's", new[] { "\U00020000's" })]
    [DataRow("😀abc", new[] { "😀abc" })]
    [DataRow("x'\u017Fy", new[] { "x'\u017F", "y" })]
    public void O200kSplits(string text, string[] expected) =>
        CollectionAssert.AreEqual(expected, SplitPattern.O200k.Split(text).ToArray());

    [TestMethod]
    public void StateMachinesEqualRegexOnBmpText()
    {
        var random = new Random(99);
        for (var trial = 0; trial < 3000; trial++)
        {
            var text = RandomBmpText(random, random.Next(0, 40));
            CollectionAssert.AreEqual(RegexPreTokenizer.Split(text, cl100k: false), SplitPattern.Gpt2.Split(text).ToArray(), $"gpt2: {Escape(text)}");
            CollectionAssert.AreEqual(RegexPreTokenizer.Split(text, cl100k: true), SplitPattern.Cl100k.Split(text).ToArray(), $"cl100k: {Escape(text)}");
            CollectionAssert.AreEqual(RegexPreTokenizer.SplitO200k(text), SplitPattern.O200k.Split(text).ToArray(), $"o200k: {Escape(text)}");
        }
    }

    [TestMethod]
    public void PiecesCoverTheText()
    {
        var random = new Random(5);
        for (var trial = 0; trial < 500; trial++)
        {
            var text = EncoderTests.RandomText(random, random.Next(0, 50));
            Assert.AreEqual(text, string.Concat(SplitPattern.Gpt2.Split(text)));
            Assert.AreEqual(text, string.Concat(SplitPattern.Cl100k.Split(text)));
            Assert.AreEqual(text, string.Concat(SplitPattern.O200k.Split(text)));
        }
    }

    [TestMethod]
    public void CustomPatternsRunAsRegexAndKnownSpellingsMapToStateMachines()
    {
        Assert.AreSame(SplitPattern.Gpt2, SplitPattern.Custom(SplitPattern.Gpt2Regex));
        Assert.AreSame(SplitPattern.O200k, SplitPattern.Custom(SplitPattern.O200kRegex));
        Assert.AreSame(SplitPattern.O200k, SplitPattern.FromName("o200k_base"));
        var words = SplitPattern.Custom(@"\w+");
        CollectionAssert.AreEqual(new[] { "ab", "cd" }, words.Split("ab, cd!").ToArray());
        Assert.ThrowsExactly<ArgumentException>(() => SplitPattern.Custom("(unclosed"));
    }

    private static string RandomBmpText(Random random, int length)
    {
        string[] pieces = ["a", "Z", "xy", " ", "  ", "\n", "\r", "\t", "\v", "\f", "'", "'s", "'t", "'re", "'VE", "'M", "'Ll", "'d", "1", "22", "½", "٣",
            "é", "\u0301", "中", "Ω", "!", ".", "-", "\u0085", "\u00A0", "\u1680", "\u2000", "\u2028", "\u2029", "\u202F", "\u205F", "\u3000",
            "\uFEFF", "\u200B", "\u180E", "_", "$", "ǅ", "ʰ", "/", "aB", "Ab", "AB", "ab", "'S", "\u0903", "\u20DD", "ǈa", "Ⅻ"];
        var sb = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            if (random.Next(5) == 0)
            {
                char c;
                do c = (char)random.Next(0x10000);
                while (char.IsSurrogate(c) || c == '\u017F' || c == '\u212A');
                sb.Append(c);
            }
            else sb.Append(pieces[random.Next(pieces.Length)]);
        }
        return sb.ToString();
    }

    private static string Escape(string s) => string.Concat(s.Select(c => c < 0x7F && c >= 0x20 ? c.ToString() : $"\\u{(int)c:X4}"));
}
