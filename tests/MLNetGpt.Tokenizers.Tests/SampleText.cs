// A deterministic play-like English text (generated, nothing read from disk) for tests that need text but not the real corpus.
using System.Text;

namespace MLNetGpt.Tokenizers.Tests;

internal static class SampleText
{
    private static readonly Lazy<string> LazyText = new(() => Generate(new Random(2024), 300_000));

    /// <summary>About 300,000 characters: speaker lines, sentences of common words, contractions, numbers, some accents and emoji.</summary>
    public static string Text => LazyText.Value;

    private static readonly string[] Speakers = ["FIRST CITIZEN", "MENENIUS", "ROMEO", "JULIET", "KING RICHARD", "NURSE", "Second Servant", "ALL"];

    private static readonly string[] Words =
    [
        "the", "and", "to", "of", "I", "you", "my", "a", "that", "in", "is", "not", "with", "me", "it", "be", "your", "his", "this",
        "but", "he", "have", "as", "thou", "so", "will", "what", "by", "thy", "all", "her", "no", "do", "shall", "if", "are", "we",
        "lord", "good", "now", "come", "love", "sir", "king", "know", "well", "more", "here", "then", "let", "say", "death", "night",
        "heaven", "speak", "hath", "would", "brother", "noble", "father", "citizens", "Rome", "Verona", "gentle", "sweet", "blood",
        "crown", "answer", "never", "nothing", "fortune", "tomorrow", "presently", "wherefore", "daughter", "honour", "remember",
        "I'll", "'tis", "don't", "we're", "you've", "she'd", "o'er", "ne'er", "can't", "THEY'LL", "café", "naïve", "Zoë", "façade",
        "über", "Ωmega", "中文", "日本語", "2024", "1,000", "3.14", "42nd", "x86_64", "e-mail", "well-beloved", "—", "“quoted”",
    ];

    private static string Generate(Random random, int length)
    {
        var sb = new StringBuilder(length + 200);
        while (sb.Length < length)
        {
            sb.Append(Speakers[random.Next(Speakers.Length)]).Append(":\n");
            var sentences = random.Next(1, 5);
            for (var s = 0; s < sentences; s++)
            {
                var words = random.Next(3, 16);
                for (var w = 0; w < words; w++)
                {
                    var word = Words[random.Next(Words.Length)];
                    if (w == 0) word = char.ToUpperInvariant(word[0]) + word[1..];
                    sb.Append(word);
                    if (w + 1 < words) sb.Append(random.Next(12) == 0 ? ", " : " ");
                }
                sb.Append(random.Next(10) switch { 0 => "?", 1 => "!", 2 => ";", 3 => " 😀.", _ => "." });
                sb.Append(random.Next(3) == 0 ? "\n" : " ");
            }
            sb.Append("\n\n");
        }
        return sb.ToString();
    }
}
