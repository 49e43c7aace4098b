// Which tiktoken encoding an OpenAI model name uses (tiktoken's model.py tables: exact names first, then prefixes).
namespace MLNetGpt.Tokenizers.Bpe;

internal static class TiktokenModels
{
    private static readonly Dictionary<string, TiktokenEncoding> Exact = new(StringComparer.OrdinalIgnoreCase)
    {
        // reasoning and chat
        ["o1"] = TiktokenEncoding.O200kBase,
        ["o3"] = TiktokenEncoding.O200kBase,
        ["o4-mini"] = TiktokenEncoding.O200kBase,
        ["gpt-5"] = TiktokenEncoding.O200kBase,
        ["gpt-4.1"] = TiktokenEncoding.O200kBase,
        ["gpt-4.5"] = TiktokenEncoding.O200kBase,
        ["gpt-4o"] = TiktokenEncoding.O200kBase,
        ["gpt-4"] = TiktokenEncoding.Cl100kBase,
        ["gpt-3.5-turbo"] = TiktokenEncoding.Cl100kBase,
        ["gpt-3.5"] = TiktokenEncoding.Cl100kBase,
        ["gpt-35-turbo"] = TiktokenEncoding.Cl100kBase, // Azure deployment names
        ["gpt-35"] = TiktokenEncoding.Cl100kBase,
        // base and embeddings
        ["davinci-002"] = TiktokenEncoding.Cl100kBase,
        ["babbage-002"] = TiktokenEncoding.Cl100kBase,
        ["text-embedding-ada-002"] = TiktokenEncoding.Cl100kBase,
        ["text-embedding-3-small"] = TiktokenEncoding.Cl100kBase,
        ["text-embedding-3-large"] = TiktokenEncoding.Cl100kBase,
        // deprecated text, code and edit models
        ["text-davinci-003"] = TiktokenEncoding.P50kBase,
        ["text-davinci-002"] = TiktokenEncoding.P50kBase,
        ["text-davinci-001"] = TiktokenEncoding.R50kBase,
        ["text-curie-001"] = TiktokenEncoding.R50kBase,
        ["text-babbage-001"] = TiktokenEncoding.R50kBase,
        ["text-ada-001"] = TiktokenEncoding.R50kBase,
        ["davinci"] = TiktokenEncoding.R50kBase,
        ["curie"] = TiktokenEncoding.R50kBase,
        ["babbage"] = TiktokenEncoding.R50kBase,
        ["ada"] = TiktokenEncoding.R50kBase,
        ["code-davinci-002"] = TiktokenEncoding.P50kBase,
        ["code-davinci-001"] = TiktokenEncoding.P50kBase,
        ["code-cushman-002"] = TiktokenEncoding.P50kBase,
        ["code-cushman-001"] = TiktokenEncoding.P50kBase,
        ["davinci-codex"] = TiktokenEncoding.P50kBase,
        ["cushman-codex"] = TiktokenEncoding.P50kBase,
        ["text-davinci-edit-001"] = TiktokenEncoding.P50kEdit,
        ["code-davinci-edit-001"] = TiktokenEncoding.P50kEdit,
        ["text-similarity-davinci-001"] = TiktokenEncoding.R50kBase,
        ["text-similarity-curie-001"] = TiktokenEncoding.R50kBase,
        ["text-similarity-babbage-001"] = TiktokenEncoding.R50kBase,
        ["text-similarity-ada-001"] = TiktokenEncoding.R50kBase,
        ["text-search-davinci-doc-001"] = TiktokenEncoding.R50kBase,
        ["text-search-curie-doc-001"] = TiktokenEncoding.R50kBase,
        ["text-search-babbage-doc-001"] = TiktokenEncoding.R50kBase,
        ["text-search-ada-doc-001"] = TiktokenEncoding.R50kBase,
        ["code-search-babbage-code-001"] = TiktokenEncoding.R50kBase,
        ["code-search-ada-code-001"] = TiktokenEncoding.R50kBase,
        // open weights
        ["gpt2"] = TiktokenEncoding.Gpt2,
        ["gpt-2"] = TiktokenEncoding.Gpt2,
    };

    /// <summary>Dated and sized variants (gpt-4o-2024-05-13, gpt-4-32k, o3-mini, fine-tunes): first matching prefix wins.</summary>
    private static readonly (string Prefix, TiktokenEncoding Encoding)[] Prefixes =
    [
        ("o1-", TiktokenEncoding.O200kBase),
        ("o3-", TiktokenEncoding.O200kBase),
        ("o4-mini-", TiktokenEncoding.O200kBase),
        ("gpt-5", TiktokenEncoding.O200kBase), // gpt-5-mini, gpt-5.1, gpt-5.2-codex, ...
        ("gpt-4.1-", TiktokenEncoding.O200kBase),
        ("gpt-4.5-", TiktokenEncoding.O200kBase),
        ("gpt-4o-", TiktokenEncoding.O200kBase),
        ("chatgpt-4o-", TiktokenEncoding.O200kBase),
        ("gpt-oss-", TiktokenEncoding.O200kHarmony),
        ("gpt-4-", TiktokenEncoding.Cl100kBase),
        ("gpt-3.5-", TiktokenEncoding.Cl100kBase),
        ("gpt-35-", TiktokenEncoding.Cl100kBase),
        ("ft:gpt-4o", TiktokenEncoding.O200kBase),
        ("ft:gpt-4", TiktokenEncoding.Cl100kBase),
        ("ft:gpt-3.5-turbo", TiktokenEncoding.Cl100kBase),
        ("ft:davinci-002", TiktokenEncoding.Cl100kBase),
        ("ft:babbage-002", TiktokenEncoding.Cl100kBase),
    ];

    /// <summary>The encoding of <paramref name="modelName"/> (case-insensitive).</summary>
    /// <exception cref="NotSupportedException">The model name is not known.</exception>
    public static TiktokenEncoding EncodingOf(string modelName)
    {
        if (Exact.TryGetValue(modelName, out var encoding)) return encoding;
        foreach (var (prefix, prefixed) in Prefixes)
            if (modelName.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return prefixed;
        throw new NotSupportedException(
            $"The model '{modelName}' is not supported; name an OpenAI model (gpt2, gpt-3.5-turbo, gpt-4, gpt-4o, gpt-4.1, gpt-5, o1, o3, text-embedding-3-small, ...) or use CreateForEncoding with one of: {TiktokenEncodings.Names}.");
    }
}
