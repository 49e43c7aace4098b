// Test data: the committed corpus excerpt, and the full Tiny Shakespeare and reference files where this machine has them.
using System.Security.Cryptography;

namespace MLNetGpt.Testing;

/// <summary>
/// Where tests find their data. A fresh clone has only the committed files (<see cref="CorpusExcerptPath"/>); the full
/// corpus is found the way <c>TinyShakespeare.Locate</c> finds it for users (a shared data folder beside the checkout,
/// <c>MLNETGPT_DATA</c>, or the verified download cache), never downloaded by a test, and a test that needs it and cannot
/// find it ends as inconclusive with a message instead of failing.
/// </summary>
internal static class TestData
{
    /// <summary>SHA-256 of the canonical Tiny Shakespeare (the same value as <c>TinyShakespeare.Sha256</c>).</summary>
    public const string TinyShakespeareSha256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed";

    private static readonly Lazy<string> Root = new(FindSharedData);
    private static readonly Lazy<(string? Path, string Searched)> FullCorpus = new(FindFullCorpus);

    /// <summary>
    /// The shared reference-data folder: $MLNETGPT_SHARED_DATA, else ../shared/data next to the repository root. Throws
    /// <see cref="DirectoryNotFoundException"/> when neither exists (a fresh clone).
    /// </summary>
    public static string SharedDataDirectory => Root.Value;

    /// <summary>True when the full Tiny Shakespeare corpus is on this machine (see <see cref="TinyShakespearePath"/>).</summary>
    public static bool HasFullCorpus => FullCorpus.Value.Path is not null;

    /// <summary>
    /// The full Tiny Shakespeare (1,115,394 characters, checksum verified): from the shared data folder, $MLNETGPT_DATA,
    /// or the download cache ($XDG_CACHE_HOME/mlnetgpt or ~/.cache/mlnetgpt, filled by <c>mlnetgpt data fetch</c>). When it
    /// is on none of them, the calling test ends as inconclusive, saying how to provide it.
    /// </summary>
    public static string TinyShakespearePath
    {
        get
        {
            var (path, searched) = FullCorpus.Value;
            if (path is null)
                Assert.Inconclusive(
                    $"This test needs the full Tiny Shakespeare, which is not on this machine (looked in {searched}). " +
                    "Run `mlnetgpt data fetch` (or set MLNETGPT_DATA=/path/to/input.txt) to run it; tests that need only some text use data/samples/tinyshakespeare-excerpt.txt.");
            return path!;
        }
    }

    /// <summary>The committed corpus excerpt (the first 39,908 bytes of Tiny Shakespeare): tests that need some real text use it.</summary>
    public static string CorpusExcerptPath => Path.Combine(RepositoryRoot, "data", "samples", "tinyshakespeare-excerpt.txt");

    /// <summary>Path of a file in the shared tokenizers folder (throws <see cref="DirectoryNotFoundException"/> on a fresh clone).</summary>
    public static string Tokenizers(string fileName) => Path.Combine(SharedDataDirectory, "tokenizers", fileName);

    /// <summary>The repository root (the folder holding MLNetGpt.sln).</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MLNetGpt.sln")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new DirectoryNotFoundException(
                $"Could not find MLNetGpt.sln above '{AppContext.BaseDirectory}'.");
        }
    }

    private static string FindSharedData()
    {
        var env = Environment.GetEnvironmentVariable("MLNETGPT_SHARED_DATA");
        if (!string.IsNullOrEmpty(env)) return env;
        var candidate = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "data"));
        if (!Directory.Exists(candidate))
            throw new DirectoryNotFoundException(
                $"Shared test data not found at '{candidate}'. Set MLNETGPT_SHARED_DATA to the folder holding tinyshakespeare.txt.");
        return candidate;
    }

    // The candidates in order; the first whose SHA-256 is the canonical one wins.
    private static (string? Path, string Searched) FindFullCorpus()
    {
        var candidates = new List<string>();
        try { candidates.Add(Path.Combine(SharedDataDirectory, "tinyshakespeare.txt")); }
        catch (DirectoryNotFoundException) { }
        if (Environment.GetEnvironmentVariable("MLNETGPT_DATA") is { Length: > 0 } data) candidates.Add(data);
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var cache = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        candidates.Add(Path.Combine(cache, "mlnetgpt", "tinyshakespeare.txt"));
        foreach (var candidate in candidates)
        {
            if (!File.Exists(candidate)) continue;
            using var fs = File.OpenRead(candidate);
            if (Convert.ToHexStringLower(SHA256.HashData(fs)) == TinyShakespeareSha256) return (Path.GetFullPath(candidate), "");
        }
        return (null, string.Join(", ", candidates));
    }
}
