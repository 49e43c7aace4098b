// Tokenizer benchmark: ours vs Microsoft.ML.Tokenizers' TiktokenTokenizer in the same run (encode/decode MB/s for gpt2,
// cl100k_base and o200k_base, one thread and all cores), and BPE training time, on Tiny Shakespeare; JSON lines out.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;
using BpeTokenizer = MLNetGpt.Tokenizers.BpeTokenizer;
using BpeTrainerOptions = MLNetGpt.Tokenizers.BpeTrainerOptions;
using SplitPattern = MLNetGpt.Tokenizers.SplitPattern;

// Usage: MLNetGpt.TokenizerBench [SHARED_DATA_DIR] [REPEATS] [--no-train] [--ours-only]
// Every figure is the best and the median of REPEATS timed runs (3x as many for decoding) after a warm-up.
// --ours-only leaves Microsoft's tokenizers out of the process (their vocabularies are millions of small objects that
// every gen-2 collection must mark), to compare our encoder with earlier versions of itself.
var positional = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
var data = positional.Length > 0 && positional[0].Length > 0 ? positional[0] : FindSharedData();
var repeats = positional.Length > 1 ? int.Parse(positional[1]) : 10;
var train = !args.Contains("--no-train");
var oursOnly = args.Contains("--ours-only");
var text = File.ReadAllText(Path.Combine(data, "tinyshakespeare.txt"));
var bytes = Encoding.UTF8.GetByteCount(text);
var mb = bytes / 1e6;
// Paragraphs for the all-cores runs: independent texts, as a data job would have.
var paragraphs = text.Split("\n\n");
var paragraphMb = paragraphs.Sum(p => (long)Encoding.UTF8.GetByteCount(p)) / 1e6;

Emit(new { bench = "environment", cores = Environment.ProcessorCount, runtime = Environment.Version.ToString(), os = System.Runtime.InteropServices.RuntimeInformation.OSDescription, cpu = CpuName(), avx512 = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated, corpus_bytes = bytes, paragraphs = paragraphs.Length });

foreach (var encoding in new[] { "gpt2", "cl100k_base", "o200k_base" })
{
    var watch = Stopwatch.StartNew();
    Tokenizer ours = BpeTokenizer.CreateForEncoding(encoding);
    var oursLoad = watch.Elapsed.TotalSeconds;
    var bpe = (BpeTokenizer)ours;
    var ids = ours.EncodeToIds(text).ToArray();
    if (oursOnly)
    {
        Emit(new { bench = "load", encoding, ours_s = oursLoad });
        var native = Measure(repeats, () => bpe.Encode(text));
        var api = Measure(repeats, () => ours.EncodeToIds(text));
        var batch = Measure(repeats, () => bpe.EncodeBatch(paragraphs));
        var decode = Measure(repeats * 3, () => ours.Decode(ids));
        Emit(new { bench = "ours_only", encoding, tokens = ids.Length, encode_mb_per_s = mb / native.Best, encode_median_mb_per_s = mb / native.Median,
            encode_api_mb_per_s = mb / api.Best, encode_api_median_mb_per_s = mb / api.Median,
            encode_batch_mb_per_s = paragraphMb / batch.Best, encode_batch_median_mb_per_s = paragraphMb / batch.Median,
            decode_string_mb_per_s = mb / decode.Best, decode_string_median_mb_per_s = mb / decode.Median });
        continue;
    }
    watch.Restart();
    Tokenizer microsoft = encoding == "gpt2" ? TiktokenTokenizer.CreateForModel("gpt2") : TiktokenTokenizer.CreateForEncoding(encoding);
    var microsoftLoad = watch.Elapsed.TotalSeconds;
    Emit(new { bench = "load", encoding, ours_s = oursLoad, microsoft_s = microsoftLoad });

    var same = ids.AsSpan().SequenceEqual(microsoft.EncodeToIds(text).ToArray().AsSpan());
    Emit(new { bench = "same_ids", encoding, tokens = ids.Length, same });

    // Encode, one thread, whole corpus in one call: our own API, our Tokenizer API, Microsoft's.
    var oursNative = Measure(repeats, () => bpe.Encode(text));
    var oursApi = Measure(repeats, () => ours.EncodeToIds(text));
    var msEncode = Measure(repeats, () => microsoft.EncodeToIds(text));
    Compare("encode", encoding, 1, mb, oursApi, msEncode, new { ours_native_mb_per_s = mb / oursNative.Best, ours_native_median_mb_per_s = mb / oursNative.Median });

    // The same with cold piece caches: ours on a fresh thread each run (the cache is per thread), Microsoft's on a fresh
    // instance each run (its LRU cache is per instance; instances are made before the timing, the vocabulary is shared).
    var freshMicrosoft = new Queue<Tokenizer>(Enumerable.Range(0, repeats + 4).Select(_ => encoding == "gpt2" ? (Tokenizer)TiktokenTokenizer.CreateForModel("gpt2") : TiktokenTokenizer.CreateForEncoding(encoding)));
    var oursCold = Measure(repeats, () => OnFreshThread(() => ours.EncodeToIds(text)));
    var msCold = Measure(repeats, () => freshMicrosoft.Dequeue().EncodeToIds(text));
    Compare("encode_cold_cache", encoding, 1, mb, oursCold, msCold, null);

    var oursCount = Measure(repeats, () => ours.CountTokens(text));
    var msCount = Measure(repeats, () => microsoft.CountTokens(text));
    Compare("count_tokens", encoding, 1, mb, oursCount, msCount, null);

    // Encode, all cores: the paragraphs in parallel ranges through the Tokenizer API for both, and our EncodeBatch.
    var oursParallel = Measure(repeats, () => EncodeAll(ours, paragraphs));
    var msParallel = Measure(repeats, () => EncodeAll(microsoft, paragraphs));
    var oursBatch = Measure(repeats, () => bpe.EncodeBatch(paragraphs));
    Compare("encode", encoding, Environment.ProcessorCount, paragraphMb, oursParallel, msParallel, new { ours_encode_batch_mb_per_s = paragraphMb / oursBatch.Best, ours_encode_batch_median_mb_per_s = paragraphMb / oursBatch.Median });

    // Decode, one thread: the whole corpus to one string, and one call per paragraph (as generation and data jobs decode).
    var oursDecode = Measure(repeats * 3, () => ours.Decode(ids));
    var msDecode = Measure(repeats * 3, () => microsoft.Decode(ids));
    var destination = new byte[bpe.GetByteCount(ids)];
    var kernel = Measure(repeats * 3, () => bpe.DecodeToBytes(ids, destination));
    Compare("decode_string", encoding, 1, mb, oursDecode, msDecode, new { ours_kernel_mb_per_s = mb / kernel.Best, ours_kernel_median_mb_per_s = mb / kernel.Median });
    var paragraphIds = paragraphs.Select(p => ours.EncodeToIds(p).ToArray()).ToArray();
    var oursParagraphs = Measure(repeats * 3, () => DecodeAll(ours, paragraphIds, 1));
    var msParagraphs = Measure(repeats * 3, () => DecodeAll(microsoft, paragraphIds, 1));
    Compare("decode_per_paragraph", encoding, 1, paragraphMb, oursParagraphs, msParagraphs, null);
    var oursParagraphsParallel = Measure(repeats * 3, () => DecodeAll(ours, paragraphIds, -1));
    var msParagraphsParallel = Measure(repeats * 3, () => DecodeAll(microsoft, paragraphIds, -1));
    Compare("decode_per_paragraph", encoding, Environment.ProcessorCount, paragraphMb, oursParagraphsParallel, msParagraphsParallel, null);
}

if (train)
{
    foreach (var vocabularySize in new[] { 512, 1024, 4096 })
    {
        var options = new BpeTrainerOptions { VocabularySize = vocabularySize, Pattern = SplitPattern.Gpt4 };
        BpeTokenizer? trained = null;
        var time = Measure(vocabularySize == 4096 ? 3 : repeats, () => trained = BpeTokenizer.Train(text, options));
        Emit(new { bench = "train", pattern = "gpt4", vocabulary_size = vocabularySize, merges = trained!.Merges!.Count, best_s = time.Best, median_s = time.Median });
    }
    {
        // Basic BPE (no split): the whole corpus is one chunk of 1.1 M byte tokens.
        var options = new BpeTrainerOptions { VocabularySize = 1024, Pattern = SplitPattern.None };
        BpeTokenizer? trained = null;
        var time = Measure(3, () => trained = BpeTokenizer.Train(text, options));
        Emit(new { bench = "train", pattern = "none", vocabulary_size = 1024, merges = trained!.Merges!.Count, best_s = time.Best, median_s = time.Median });
    }
}

static void OnFreshThread(Action action)
{
    var thread = new Thread(() => action());
    thread.Start();
    thread.Join();
}

// Ranges of paragraphs over the cores, the same partitioning for both tokenizers.
static void EncodeAll(Tokenizer tokenizer, string[] texts) =>
    Parallel.ForEach(Partitioner.Create(0, texts.Length, Math.Max(1, Math.Min(256, texts.Length / (4 * Environment.ProcessorCount)))), range =>
    {
        for (var i = range.Item1; i < range.Item2; i++) tokenizer.EncodeToIds(texts[i]);
    });

static void DecodeAll(Tokenizer tokenizer, int[][] ids, int threads) =>
    Parallel.ForEach(Partitioner.Create(0, ids.Length, Math.Max(1, Math.Min(256, ids.Length / (4 * Environment.ProcessorCount)))),
        new ParallelOptions { MaxDegreeOfParallelism = threads }, range =>
        {
            for (var i = range.Item1; i < range.Item2; i++) tokenizer.Decode(ids[i]);
        });

static void Compare(string bench, string encoding, int threads, double mb, (double Best, double Median) ours, (double Best, double Median) microsoft, object? extra) =>
    Emit(new
    {
        bench,
        encoding,
        threads,
        ours_mb_per_s = mb / ours.Best,
        ours_median_mb_per_s = mb / ours.Median,
        microsoft_mb_per_s = mb / microsoft.Best,
        microsoft_median_mb_per_s = mb / microsoft.Median,
        speedup_best = microsoft.Best / ours.Best,
        speedup_median = microsoft.Median / ours.Median,
        extra,
    });

static (double Best, double Median) Measure(int repeats, Action action)
{
    // Warm-up: enough calls for tiered compilation to promote the hot methods, and a pause for the background JIT.
    for (var i = 0; i < 3; i++) action();
    Thread.Sleep(300);
    action();
    var times = new double[repeats];
    for (var i = 0; i < repeats; i++)
    {
        var watch = Stopwatch.StartNew();
        action();
        times[i] = watch.Elapsed.TotalSeconds;
    }
    Array.Sort(times);
    return (times[0], times[repeats / 2]);
}

static void Emit(object record) => Console.WriteLine(JsonSerializer.Serialize(record));

static string CpuName()
{
    try
    {
        var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line is null ? "unknown" : line[(line.IndexOf(':') + 1)..].Trim();
    }
    catch (IOException)
    {
        return "unknown";
    }
}

static string FindSharedData()
{
    var env = Environment.GetEnvironmentVariable("MLNETGPT_SHARED_DATA");
    if (!string.IsNullOrEmpty(env)) return env;
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MLNetGpt.sln"))) dir = dir.Parent;
    if (dir is null) throw new DirectoryNotFoundException("Run from inside the repository or set MLNETGPT_SHARED_DATA.");
    return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
}
