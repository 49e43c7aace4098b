// `mlnetgpt data fetch|prepare`: get Tiny Shakespeare into the cache (checksum-verified), and write train/val token id files.
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using MLNetGpt.Models.Data;
using MLNetGpt.Models.Serialization;
using MLNetGpt.Tokenizers;
using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace MLNetGpt.Cli.Commands;

/// <summary>Data preparation commands.</summary>
public static class DataCommands
{
    /// <summary>
    /// Puts Tiny Shakespeare in the cache: from <paramref name="from"/> (a local copy, checksum-verified, copied atomically)
    /// or by download. Prints the cached path.
    /// </summary>
    public static int Fetch(string? from, string? cacheDirectory, TextWriter output)
    {
        string dir = cacheDirectory ?? TinyShakespeare.DefaultCacheDirectory;
        if (from is not null)
        {
            if (!File.Exists(from)) throw new CliException($"File '{from}' does not exist.");
            string actual;
            using (var fs = File.OpenRead(from)) actual = Convert.ToHexStringLower(SHA256.HashData(fs));
            if (actual != TinyShakespeare.Sha256)
                throw new CliException($"File '{from}' has SHA-256 {actual}, expected {TinyShakespeare.Sha256}: it is not Tiny Shakespeare. Nothing was written.");
            string target = Path.Combine(dir, TinyShakespeare.CacheFileName);
            AtomicFile.Write(target, s => { using var src = File.OpenRead(from); src.CopyTo(s); });
            output.WriteLine(Path.GetFullPath(target));
            return ExitCodes.Ok;
        }
        // Locate ignores MLNETGPT_DATA only when a path is given; here the cache is the point, so go through it.
        output.WriteLine(Path.GetFullPath(CorpusFile.LocateTinyShakespeare(null, "--from", dir)));
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Tokenizes a corpus and writes <c>train.bin</c> and <c>val.bin</c> (token ids, little-endian uint16 when the vocabulary
    /// fits, else int32, as meta.json says), <c>tokenizer.txt</c> and <c>meta.json</c> into <paramref name="outDir"/>.
    /// The split is contiguous: the last <paramref name="valFraction"/> of the text is validation.
    /// </summary>
    public static int Prepare(string? input, Tokenizer tokenizer, string outDir, double valFraction, TextWriter output)
    {
        if (!(valFraction > 0 && valFraction < 1)) throw new CliException($"--val-fraction {valFraction} must be in (0, 1).");
        string path = input ?? CorpusFile.LocateTinyShakespeare(null, "--input");
        if (!File.Exists(path)) throw new CliException($"Input file '{path}' does not exist.");
        string text = CorpusFile.Read(path).Text; // invalid UTF-8 is refused with its byte offset, never turned into U+FFFD
        if (text.Length == 0) throw new CliException($"Input file '{path}' is empty.");
        int cut = (int)(text.Length * (1 - valFraction));
        if (cut < text.Length && char.IsLowSurrogate(text[cut])) cut++; // never split a surrogate pair
        // nanoGPT's prepare.py encodes ordinary text: special-token strings in the corpus stay text.
        (int vocabularySize, Func<ReadOnlyMemory<char>, int[]> encode, Action<Stream> save) = tokenizer switch
        {
            BpeTokenizer bpe => (bpe.VocabularySize, (Func<ReadOnlyMemory<char>, int[]>)(t => bpe.Encode(t.Span, SpecialTokenMode.AsText)), (Action<Stream>)bpe.Save),
            CharacterTokenizer characters => (characters.VocabularySize, (Func<ReadOnlyMemory<char>, int[]>)(t => characters.Encode(t.Span, SpecialTokenMode.AsText)), (Action<Stream>)characters.Save),
            _ => throw new CliException($"data prepare needs one of MLNetGpt's tokenizers, not {tokenizer.GetType().Name}."),
        };
        int[] train = encode(text.AsMemory(0, cut));
        int[] val = encode(text.AsMemory(cut));
        bool narrow = vocabularySize <= 65536;
        var targets = new[] { "train.bin", "val.bin", "tokenizer.txt", "meta.json" }.Select(f => Path.Combine(outDir, f)).ToList();
        foreach (var target in targets) AtomicFile.EnsureReplaceable(Path.GetFullPath(target));
        Directory.CreateDirectory(outDir);
        WriteIds(Path.Combine(outDir, "train.bin"), train, narrow);
        WriteIds(Path.Combine(outDir, "val.bin"), val, narrow);
        AtomicFile.Write(Path.Combine(outDir, "tokenizer.txt"), save);
        var meta = new
        {
            source = Path.GetFullPath(path),
            vocab_size = vocabularySize,
            dtype = narrow ? "uint16" : "int32",
            byte_order = "little",
            train_tokens = train.Length,
            val_tokens = val.Length,
            val_fraction = valFraction,
            tokenizer = "tokenizer.txt",
        };
        AtomicFile.Write(Path.Combine(outDir, "meta.json"), s => JsonSerializer.Serialize(s, meta, new JsonSerializerOptions { WriteIndented = true }));
        output.WriteLine($"train.bin {train.Length:N0} tokens, val.bin {val.Length:N0} tokens, vocabulary {vocabularySize} -> {Path.GetFullPath(outDir)}");
        return ExitCodes.Ok;
    }

    private static void WriteIds(string path, int[] ids, bool narrow) => AtomicFile.Write(path, s =>
    {
        var buffer = new byte[narrow ? ids.Length * 2 : ids.Length * 4];
        for (int i = 0; i < ids.Length; i++)
        {
            if (narrow) BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(i * 2), (ushort)ids[i]);
            else BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(i * 4), ids[i]);
        }
        s.Write(buffer);
    });
}
