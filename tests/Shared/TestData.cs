// Locates the shared data folder (../shared/data beside the checkout) that tests read and never copy into the repo.
namespace MLNetGpt.Testing;

internal static class TestData
{
    private static readonly Lazy<string> Root = new(FindSharedData);

    /// <summary>The shared data folder: $MLNETGPT_SHARED_DATA, else ../shared/data next to the repository root.</summary>
    public static string SharedDataDirectory => Root.Value;

    /// <summary>Path of the Tiny Shakespeare text in the shared data folder.</summary>
    public static string TinyShakespearePath => Path.Combine(SharedDataDirectory, "tinyshakespeare.txt");

    /// <summary>The committed corpus excerpt (the first 39,908 bytes of Tiny Shakespeare): tests that need some real text use it.</summary>
    public static string CorpusExcerptPath => Path.Combine(RepositoryRoot, "data", "samples", "tinyshakespeare-excerpt.txt");

    /// <summary>Path of a file in the shared tokenizers folder.</summary>
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
}
