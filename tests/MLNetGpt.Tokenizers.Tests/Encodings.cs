// Shared tokenizers (from the Microsoft.ML.Tokenizers.Data packages) and the optional shared corpus and golden files.
using System.Text;
using System.Text.Json;
using MLNetGpt.Testing;

namespace MLNetGpt.Tokenizers.Tests;

internal static class Encodings
{
    private static readonly Lazy<string?> LazyShakespeare = new(() => SharedFile("tinyshakespeare.txt", tokenizers: false) is { } path ? File.ReadAllText(path) : null);

    public static BpeTokenizer Gpt2 => BpeTokenizer.CreateForEncoding("gpt2");

    public static BpeTokenizer Cl100k => BpeTokenizer.CreateForEncoding("cl100k_base");

    public static BpeTokenizer O200k => BpeTokenizer.CreateForEncoding("o200k_base");

    /// <summary>Microsoft's TiktokenTokenizer for an encoding (gpt2 is a model name there, not an encoding name).</summary>
    public static global::Microsoft.ML.Tokenizers.TiktokenTokenizer MicrosoftTiktoken(string encoding) => encoding == "gpt2"
        ? global::Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForModel("gpt2")
        : global::Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForEncoding(encoding);

    /// <summary>The whole of Tiny Shakespeare from ../shared/data; ends the test as inconclusive when it is not there.</summary>
    public static string Shakespeare => LazyShakespeare.Value ?? Inconclusive("tinyshakespeare.txt");

    public static BpeTokenizer ByName(string encoding) => encoding switch
    {
        "gpt2" => Gpt2,
        "cl100k_base" => Cl100k,
        "o200k_base" => O200k,
        _ => throw new ArgumentException(encoding),
    };

    /// <summary>Path of a file in ../shared/data/tokenizers; ends the test as inconclusive when it is not there.</summary>
    public static string SharedTokenizerFile(string fileName) => SharedFile(fileName, tokenizers: true) ?? Inconclusive($"tokenizers/{fileName}");

    /// <summary>Each line of a shared JSONL file, decoded as UTF-8 without stripping a BOM (one golden text starts with U+FEFF).</summary>
    public static IEnumerable<JsonElement> ReadJsonl(string fileName)
    {
        var bytes = File.ReadAllBytes(SharedTokenizerFile(fileName));
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

    private static string? SharedFile(string fileName, bool tokenizers)
    {
        try
        {
            var path = tokenizers ? TestData.Tokenizers(fileName) : TestData.TinyShakespearePath;
            return File.Exists(path) ? path : null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    private static string Inconclusive(string what)
    {
        Assert.Inconclusive($"Needs ../shared/data/{what} (or $MLNETGPT_SHARED_DATA), which is not on this machine; the reference data is never committed.");
        return null!;
    }
}
