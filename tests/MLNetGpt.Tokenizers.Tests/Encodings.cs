// Shared, lazily loaded tiktoken encodings and golden-file readers for the tests.
using System.Text;
using System.Text.Json;
using MLNetGpt.Testing;

namespace MLNetGpt.Tokenizers.Tests;

internal static class Encodings
{
    private static readonly Lazy<BpeTokenizer> LazyGpt2 = new(() => BpeTokenizer.LoadTiktoken(TestData.Tokenizers("gpt2.tiktoken"), TiktokenEncoding.Gpt2));
    private static readonly Lazy<BpeTokenizer> LazyCl100k = new(() => BpeTokenizer.LoadTiktoken(TestData.Tokenizers("cl100k_base.tiktoken"), TiktokenEncoding.Cl100kBase));
    private static readonly Lazy<string> LazyShakespeare = new(() => File.ReadAllText(TestData.TinyShakespearePath));

    public static BpeTokenizer Gpt2 => LazyGpt2.Value;

    public static BpeTokenizer Cl100k => LazyCl100k.Value;

    public static string Shakespeare => LazyShakespeare.Value;

    public static BpeTokenizer ByName(string encoding) => encoding switch
    {
        "gpt2" => Gpt2,
        "cl100k_base" => Cl100k,
        _ => throw new ArgumentException(encoding),
    };

    /// <summary>Each line of a JSONL file, decoded as UTF-8 without stripping a BOM (one golden text starts with U+FEFF).</summary>
    public static IEnumerable<JsonElement> ReadJsonl(string fileName)
    {
        var bytes = File.ReadAllBytes(TestData.Tokenizers(fileName));
        var start = 0;
        while (start < bytes.Length)
        {
            var end = Array.IndexOf(bytes, (byte)'\n', start);
            if (end < 0) end = bytes.Length;
            if (end > start)
            {
                var line = Encoding.UTF8.GetString(bytes, start, end - start);
                using var document = JsonDocument.Parse(line);
                yield return document.RootElement.Clone();
            }
            start = end + 1;
        }
    }

    public static int[] Ids(JsonElement element) => element.EnumerateArray().Select(e => e.GetInt32()).ToArray();
}
