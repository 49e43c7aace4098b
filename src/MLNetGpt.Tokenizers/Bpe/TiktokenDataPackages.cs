// Rank tables from the Microsoft.ML.Tokenizers.Data.* packages, loaded by assembly name (no file on disk), built once per encoding.
using System.Collections.Concurrent;
using System.IO.Compression;
using System.Reflection;
using MLNetGpt.Tokenizers.Text;

namespace MLNetGpt.Tokenizers.Bpe;

/// <summary>
/// Each package embeds one deflated rank table (<c>Capacity: N</c>, then one base64 token per line, rank = line index). The application references the packages it needs (as with
/// Microsoft's <c>TiktokenTokenizer</c>), so this library depends on none of them; a missing one is reported by name.
/// The rank tables are parsed once per encoding and shared (the model is immutable).
/// </summary>
internal static class TiktokenDataPackages
{
    private static readonly ConcurrentDictionary<TiktokenEncoding, Lazy<BpeTokenizer>> Standard = new();
    private static readonly ConcurrentDictionary<string, Lazy<BpeModel>> Models = new(StringComparer.Ordinal); // by package

    /// <summary>The tokenizer of <paramref name="encoding"/> with its standard special tokens, built on first use and shared.</summary>
    public static BpeTokenizer Get(TiktokenEncoding encoding) => Once(Standard, encoding, () => Build(encoding, null));

    /// <summary>A tokenizer of <paramref name="encoding"/> whose special tokens are the standard ones plus <paramref name="extraSpecialTokens"/>.</summary>
    public static BpeTokenizer Build(TiktokenEncoding encoding, IReadOnlyDictionary<string, int>? extraSpecialTokens)
    {
        var specials = TiktokenEncodings.SpecialTokens(encoding);
        if (extraSpecialTokens is not null)
            foreach (var (text, id) in extraSpecialTokens) specials[text] = id;
        // Encodings that share a rank table share the parsed model (o200k_harmony and o200k_base, p50k_edit and p50k_base).
        var model = Once(Models, TiktokenEncodings.DataPackage(encoding).Package, () => LoadModel(encoding));
        return BpeTokenizer.Create(model, TiktokenEncodings.Pattern(encoding), specials, null);
    }

    /// <summary>The cached value of <paramref name="key"/>, created once; a failure is not cached, so a later call retries.</summary>
    private static TValue Once<TKey, TValue>(ConcurrentDictionary<TKey, Lazy<TValue>> cache, TKey key, Func<TValue> create)
        where TKey : notnull
    {
        var lazy = cache.GetOrAdd(key, _ => new Lazy<TValue>(create));
        try
        {
            return lazy.Value;
        }
        catch
        {
            cache.TryRemove(new KeyValuePair<TKey, Lazy<TValue>>(key, lazy));
            throw;
        }
    }

    private static BpeModel LoadModel(TiktokenEncoding encoding)
    {
        var (package, resource) = TiktokenEncodings.DataPackage(encoding);
        var name = TiktokenEncodings.Name(encoding);
        Assembly assembly;
        try
        {
            assembly = Assembly.Load(new AssemblyName(package));
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new InvalidOperationException(
                $"The {name} rank table comes from the NuGet package {package}, which this application does not reference "
                + $"(its assembly could not be loaded). Add <PackageReference Include=\"{package}\" />, "
                + "or load a .tiktoken file with BpeTokenizer.LoadTiktoken.", e);
        }
        using var compressed = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"{package} has no resource '{resource}'; expected the {name} rank table.");
        using var stream = new DeflateStream(compressed, CompressionMode.Decompress);
        var source = $"{package}:{resource}";
        var expected = TiktokenEncodings.ExpectedRanks(encoding);
        var tokens = TiktokenFile.ReadRanksByLine(new LineReader(stream, source));
        if (tokens.Length != expected)
            throw new FormatException($"{source}: has {tokens.Length} ranks; the {name} encoding has {expected}.");
        return BpeModel.FromRanks(tokens);
    }
}
