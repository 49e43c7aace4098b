// GPT-2's encoder.json (vocab.json) and vocab.bpe (merges.txt): read into byte ranks as tiktoken's data_gym loader does,
// and written from learned merges in the byte-level layout Hugging Face and Microsoft.ML.Tokenizers' BpeTokenizer read.
using System.Text.Json;
using MLNetGpt.Tokenizers.Text;

namespace MLNetGpt.Tokenizers.Bpe;

/// <summary>
/// GPT-2 stores bytes as printable characters: bytes '!'..'~', '¡'..'¬', '®'..'ÿ' stand for themselves and the other 68
/// bytes map to U+0100, U+0101, ... in byte order. Single bytes get ranks in that printable-first order, merge i gets
/// rank 256 + i, and the vocabulary must agree with those ranks (tiktoken checks the same).
/// </summary>
internal static class Gpt2VocabFiles
{
    private static readonly string[] SpecialNames = ["<|endoftext|>", "<|startoftext|>"];

    /// <summary>Byte order of the 256 single-byte ranks, and the character → byte map.</summary>
    public static (byte[] RankToByte, Dictionary<char, byte> CharToByte) ByteMap()
    {
        var rankToByte = new List<byte>(256);
        var charToByte = new Dictionary<char, byte>(256);
        for (var b = 0; b < 256; b++)
        {
            if (b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF)
            {
                rankToByte.Add((byte)b);
                charToByte[(char)b] = (byte)b;
            }
        }
        var n = 0;
        for (var b = 0; b < 256; b++)
        {
            if (rankToByte.Contains((byte)b)) continue;
            rankToByte.Add((byte)b);
            charToByte[(char)(256 + n++)] = (byte)b;
        }
        return (rankToByte.ToArray(), charToByte);
    }

    public static (byte[][] Tokens, Dictionary<string, int> Specials) Read(string vocabJsonPath, string mergesPath)
    {
        var (rankToByte, charToByte) = ByteMap();
        var tokens = new List<byte[]>();
        foreach (var b in rankToByte) tokens.Add([b]);

        using (var stream = File.OpenRead(mergesPath))
        {
            var reader = new LineReader(stream, mergesPath);
            while (reader.ReadLine() is { } line)
            {
                if (reader.LineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)) continue;
                if (line.Length == 0) continue;
                var parts = line.Split(' ');
                if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                    throw reader.Error($"expected two space-separated tokens, found '{line}'");
                tokens.Add([.. Decode(parts[0], charToByte, reader), .. Decode(parts[1], charToByte, reader)]);
            }
        }

        Dictionary<string, int>? vocab;
        try
        {
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(vocabJsonPath));
        }
        catch (JsonException e)
        {
            throw new FormatException($"{vocabJsonPath}:{(e.LineNumber ?? 0) + 1}: invalid vocabulary JSON ({e.Message})", e);
        }
        if (vocab is null) throw new FormatException($"{vocabJsonPath}:1: the vocabulary is null");

        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        var ranks = new ByteSpanTable(tokens.Count, tokens.Sum(t => t.Length));
        for (var r = 0; r < tokens.Count; r++)
        {
            ranks.GetOrAdd(tokens[r], r, out var added);
            if (!added) throw new FormatException($"{mergesPath}: merge {r - 256} makes a token that already exists");
        }
        var ordinary = 0;
        foreach (var (key, id) in vocab)
        {
            if (Array.IndexOf(SpecialNames, key) >= 0)
            {
                specials[key] = id;
                continue;
            }
            var bytes = Decode(key, charToByte, null);
            if (!ranks.TryGetValue(bytes, out var rank) || rank != id)
                throw new FormatException($"{vocabJsonPath}: token '{key}' has id {id} but the merges give it rank {(rank < 0 ? "none" : rank)}");
            ordinary++;
        }
        if (ordinary != tokens.Count)
            throw new FormatException($"{vocabJsonPath}: has {ordinary} ordinary tokens but the merges make {tokens.Count}");
        return (tokens.ToArray(), specials);
    }

    /// <summary>
    /// Writes learned merges as <c>vocab.json</c> (printable token string → id, every ordinary id) and <c>merges.txt</c>
    /// (<c>#version: 0.2</c>, then merge i as "LEFT RIGHT" on line i + 2). Ids stay ours: 0..255 are the byte values,
    /// merge i makes 256 + i. Special tokens belong to neither file.
    /// </summary>
    public static void Write(Stream vocabJson, Stream mergesTxt, BpeModel model)
    {
        var merges = model.Merges ?? throw new InvalidOperationException(
            "This tokenizer merges by a rank table (tiktoken semantics), not by learned merges; save it with SaveTiktoken.");
        var (_, charToByte) = ByteMap();
        var byteToChar = new char[256];
        foreach (var (c, b) in charToByte) byteToChar[b] = c;
        string Printable(ReadOnlySpan<byte> bytes)
        {
            var chars = new char[bytes.Length];
            for (var i = 0; i < bytes.Length; i++) chars[i] = byteToChar[bytes[i]];
            return new string(chars);
        }

        using (var json = new Utf8JsonWriter(vocabJson, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            for (var id = 0; id < model.TokenCount; id++) json.WriteNumber(Printable(model.Token(id)), id);
            json.WriteEndObject();
        }
        TokenizerFile.Write(mergesTxt, writer =>
        {
            writer.Write("#version: 0.2\n");
            foreach (var (left, right) in merges)
            {
                writer.Write(Printable(model.Token(left)));
                writer.Write(' ');
                writer.Write(Printable(model.Token(right)));
                writer.Write('\n');
            }
        });
    }

    private static byte[] Decode(string token, Dictionary<char, byte> charToByte, LineReader? reader)
    {
        var bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            if (!charToByte.TryGetValue(token[i], out bytes[i]))
            {
                var message = $"character U+{(int)token[i]:X4} in '{token}' is not in GPT-2's byte alphabet";
                throw reader is null ? new FormatException(message) : reader.Error(message);
            }
        }
        return bytes;
    }
}
