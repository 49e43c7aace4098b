// Finds Tiny Shakespeare: an explicit path, the MLNETGPT_DATA variable, a verified cache, or a download checked by SHA-256.
using System.Security.Cryptography;

namespace MLNetGpt.Models.Data;

/// <summary>Locates or downloads the Tiny Shakespeare corpus (karpathy/char-rnn, 1,115,394 characters).</summary>
public static class TinyShakespeare
{
    /// <summary>Canonical download address.</summary>
    public const string Url = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt";

    /// <summary>SHA-256 of the canonical file (lower-case hex).</summary>
    public const string Sha256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed";

    /// <summary>Environment variable naming a local copy.</summary>
    public const string EnvironmentVariable = "MLNETGPT_DATA";

    /// <summary>File name inside the cache folder.</summary>
    public const string CacheFileName = "tinyshakespeare.txt";

    /// <summary>The default cache folder: $XDG_CACHE_HOME/mlnetgpt, else ~/.cache/mlnetgpt.</summary>
    public static string DefaultCacheDirectory
    {
        get
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(root, "mlnetgpt");
        }
    }

    /// <summary>
    /// The corpus text. Order: <paramref name="path"/> if given (must exist; read as is, no checksum, so any text works),
    /// then the file named by $MLNETGPT_DATA, then the cache (checksum verified), then a download into the cache
    /// (checksum verified, written atomically). Offline or on a checksum mismatch, throws <see cref="InvalidDataException"/>
    /// or <see cref="IOException"/> explaining how to pass a local file.
    /// </summary>
    public static string Load(string? path = null, string? cacheDirectory = null, HttpClient? httpClient = null) =>
        File.ReadAllText(Locate(path, cacheDirectory, httpClient));

    /// <summary>The path of the corpus file, downloading it if needed (see <see cref="Load"/>).</summary>
    public static string Locate(string? path = null, string? cacheDirectory = null, HttpClient? httpClient = null)
    {
        if (!string.IsNullOrEmpty(path))
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"Data file '{path}' does not exist.", path);
            return path;
        }
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(env))
        {
            if (!File.Exists(env)) throw new FileNotFoundException($"{EnvironmentVariable} names '{env}', which does not exist.", env);
            return env;
        }
        string dir = cacheDirectory ?? DefaultCacheDirectory;
        string cached = Path.Combine(dir, CacheFileName);
        if (File.Exists(cached))
        {
            string actual = HashFile(cached);
            if (actual == Sha256) return cached;
            throw new InvalidDataException(
                $"Cached '{cached}' has SHA-256 {actual}, expected {Sha256}. Delete it to download again, or pass a local file " +
                $"(a path argument or {EnvironmentVariable}=/path/to/input.txt).");
        }
        Download(cached, httpClient);
        return cached;
    }

    private static void Download(string destination, HttpClient? httpClient)
    {
        byte[] bytes;
        try
        {
            var client = httpClient ?? new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            try { bytes = client.GetByteArrayAsync(Url).GetAwaiter().GetResult(); }
            finally { if (httpClient is null) client.Dispose(); }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            throw new IOException(
                $"Could not download Tiny Shakespeare from {Url} ({e.Message}). If this machine is offline, download input.txt elsewhere " +
                $"and pass it as a path argument or with {EnvironmentVariable}=/path/to/input.txt.", e);
        }
        string actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (actual != Sha256)
            throw new InvalidDataException(
                $"Downloaded Tiny Shakespeare has SHA-256 {actual}, expected {Sha256}; nothing was written. Pass a trusted local copy " +
                $"as a path argument or with {EnvironmentVariable}=/path/to/input.txt.");
        Serialization.AtomicFile.Write(destination, s => s.Write(bytes));
    }

    private static string HashFile(string path)
    {
        using var fs = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }
}
