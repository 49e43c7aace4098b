// Tokenizer benchmark: encode/decode MB/s for gpt2 and cl100k_base, and BPE training time, on Tiny Shakespeare; JSON lines out.
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using MLNetGpt.Tokenizers;

var data = args.Length > 0 && args[0].Length > 0 ? args[0] : FindSharedData();
var repeats = args.Length > 1 ? int.Parse(args[1]) : 10;
var text = File.ReadAllText(Path.Combine(data, "tinyshakespeare.txt"));
var bytes = Encoding.UTF8.GetByteCount(text);
var mb = bytes / 1e6;
// Paragraphs for the all-cores run: independent texts, as a data job would have.
var paragraphs = text.Split("\n\n");

// Usage: MLNetGpt.TokenizerBench [SHARED_DATA_DIR] [REPEATS]; every figure is the best and the median of REPEATS timed runs after a warm-up.
Emit(new { bench = "environment", cores = Environment.ProcessorCount, runtime = Environment.Version.ToString(), os = System.Runtime.InteropServices.RuntimeInformation.OSDescription, corpus_bytes = bytes });

foreach (var (name, encoding, file) in new[] { ("gpt2", TiktokenEncoding.Gpt2, "gpt2.tiktoken"), ("cl100k_base", TiktokenEncoding.Cl100kBase, "cl100k_base.tiktoken") })
{
    var load = Stopwatch.StartNew();
    var tokenizer = BpeTokenizer.LoadTiktoken(Path.Combine(data, "tokenizers", file), encoding);
    load.Stop();
    Emit(new { bench = "load", encoding = name, seconds = load.Elapsed.TotalSeconds });

    int[] ids = [];
    var single = Measure(repeats, () => ids = tokenizer.Encode(text));
    Emit(new { bench = "encode", encoding = name, threads = 1, tokens = ids.Length, best_s = single.Best, median_s = single.Median, mb_per_s = mb / single.Best, median_mb_per_s = mb / single.Median });

    var parallel = Measure(repeats, () => tokenizer.EncodeBatch(paragraphs));
    Emit(new { bench = "encode", encoding = name, threads = Environment.ProcessorCount, texts = paragraphs.Length, best_s = parallel.Best, median_s = parallel.Median, mb_per_s = mb / parallel.Best, median_mb_per_s = mb / parallel.Median });

    var decodeBytes = Measure(repeats * 3, () => tokenizer.DecodeToBytes(ids));
    Emit(new { bench = "decode_bytes", encoding = name, tokens = ids.Length, best_s = decodeBytes.Best, median_s = decodeBytes.Median, mb_per_s = mb / decodeBytes.Best, median_mb_per_s = mb / decodeBytes.Median });
    var destination = new byte[tokenizer.GetByteCount(ids)];
    var decodeSpan = Measure(repeats * 3, () => tokenizer.DecodeToBytes(ids, destination));
    Emit(new { bench = "decode_into_span", encoding = name, tokens = ids.Length, best_s = decodeSpan.Best, median_s = decodeSpan.Median, mb_per_s = mb / decodeSpan.Best, median_mb_per_s = mb / decodeSpan.Median });
    var decodeString = Measure(repeats * 3, () => tokenizer.Decode(ids));
    Emit(new { bench = "decode_string", encoding = name, tokens = ids.Length, best_s = decodeString.Best, median_s = decodeString.Median, mb_per_s = mb / decodeString.Best, median_mb_per_s = mb / decodeString.Median });

    // Realistic decode: one call per paragraph (no large-object-heap buffers), as generation and data jobs decode.
    var paragraphIds = tokenizer.EncodeBatch(paragraphs);
    var paragraphMb = paragraphs.Sum(p => (long)Encoding.UTF8.GetByteCount(p)) / 1e6;
    var decodeParagraphs = Measure(repeats * 3, () =>
    {
        foreach (var p in paragraphIds) tokenizer.Decode(p);
    });
    Emit(new { bench = "decode_string_per_paragraph", encoding = name, texts = paragraphIds.Length, best_s = decodeParagraphs.Best, median_s = decodeParagraphs.Median, mb_per_s = paragraphMb / decodeParagraphs.Best, median_mb_per_s = paragraphMb / decodeParagraphs.Median });
}

foreach (var vocabularySize in new[] { 512, 1024, 4096 })
{
    var options = new BpeTrainerOptions { VocabularySize = vocabularySize, Pattern = SplitPattern.Gpt4 };
    BpeTokenizer? trained = null;
    var train = Measure(vocabularySize == 4096 ? 3 : repeats, () => trained = BpeTokenizer.Train(text, options));
    Emit(new { bench = "train", pattern = "gpt4", vocabulary_size = vocabularySize, merges = trained!.Merges!.Count, best_s = train.Best, median_s = train.Median });
}

{
    // Basic BPE (no split): the whole corpus is one chunk of 1.1 M byte tokens.
    var options = new BpeTrainerOptions { VocabularySize = 1024, Pattern = SplitPattern.None };
    BpeTokenizer? trained = null;
    var train = Measure(3, () => trained = BpeTokenizer.Train(text, options));
    Emit(new { bench = "train", pattern = "none", vocabulary_size = 1024, merges = trained!.Merges!.Count, best_s = train.Best, median_s = train.Median });
}

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

static string FindSharedData()
{
    var env = Environment.GetEnvironmentVariable("MLNETGPT_SHARED_DATA");
    if (!string.IsNullOrEmpty(env)) return env;
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MLNetGpt.sln"))) dir = dir.Parent;
    if (dir is null) throw new DirectoryNotFoundException("Run from inside the repository or set MLNETGPT_SHARED_DATA.");
    return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
}
