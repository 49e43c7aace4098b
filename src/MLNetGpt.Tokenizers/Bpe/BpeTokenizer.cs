// Byte-level BPE tokenizer: tiktoken-compatible encode/decode, training, and the file formats it loads and saves.
using System.Runtime.CompilerServices;
using MLNetGpt.Tokenizers.Bpe;
using MLNetGpt.Tokenizers.Text;
using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace MLNetGpt.Tokenizers;

/// <summary>
/// Byte-level BPE (GPT-2, cl100k_base, or trained here). Text is split into pieces by <see cref="Pattern"/>
/// (special tokens first, when allowed), each piece's UTF-8 bytes are merged by BPE, and decoding concatenates token bytes.
/// <para>Two merge semantics: a rank table (<see cref="LoadTiktoken(string, TiktokenEncoding)"/>, <see cref="LoadGpt2"/>)
/// merges like tiktoken, giving identical ids; learned merges (<see cref="Train"/>, <see cref="FromMerges"/>) merge like
/// minbpe, where the merges are the single source of truth and the vocabulary is derived from them.</para>
/// <para>It is a <see cref="Tokenizer"/>: <c>EncodeToIds</c>, <c>EncodeToTokens</c>, <c>CountTokens</c>,
/// <c>GetIndexByTokenCount(FromEnd)</c> and <c>Decode</c> give what Microsoft's <c>TiktokenTokenizer</c> gives for the same
/// rank table (special-token strings in the text become their ids), on this type's own encoder. <see cref="Encode(string, SpecialTokenMode)"/>
/// adds tiktoken's choice of what special-token strings are (<see cref="SpecialTokenMode"/>).</para>
/// <para>Microsoft.ML.Tokenizers has a type of the same simple name (its Hugging Face-style BPE); in a file that imports
/// both namespaces, name ours with <c>using BpeTokenizer = MLNetGpt.Tokenizers.BpeTokenizer;</c>.</para>
/// <para>Lone (unpaired) UTF-16 surrogates in input text are replaced by U+FFFD before encoding, as Python tiktoken does;
/// decode(encode(s)) == s therefore holds for every string without lone surrogates.</para>
/// <para>Immutable and thread-safe.</para>
/// </summary>
public sealed partial class BpeTokenizer : Tokenizer
{
    private readonly BpeModel _model;
    private readonly SpecialTokenMatcher _specialMatcher;
    private readonly Dictionary<string, int> _specialTokens;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _specialLookup;
    private readonly int _vocabularySize;

    // Decode table: bytes of id i are _decodeBytes[_decodeStart[i] .. _decodeStart[i] + _decodeLength[i]); length -1 = unused id.
    private readonly byte[] _decodeBytes;
    private readonly int[] _decodeStart;
    private readonly int[] _decodeLength;

    private BpeTokenizer(BpeModel model, SplitPattern pattern, IReadOnlyDictionary<string, int>? specialTokens, int? vocabularySize)
    {
        _model = model;
        Pattern = pattern;
        _specialTokens = new Dictionary<string, int>(specialTokens ?? new Dictionary<string, int>(), StringComparer.Ordinal);
        var maxId = model.TokenCount - 1;
        var seen = new HashSet<int>();
        foreach (var (text, id) in _specialTokens)
        {
            if (string.IsNullOrEmpty(text)) throw new ArgumentException("A special token string is empty.", nameof(specialTokens));
            if (id < model.TokenCount)
                throw new ArgumentException($"Special token '{text}' has id {id}, which is an ordinary token id (0..{model.TokenCount - 1}).", nameof(specialTokens));
            if (!seen.Add(id)) throw new ArgumentException($"Special token '{text}' reuses id {id}.", nameof(specialTokens));
            maxId = Math.Max(maxId, id);
        }
        _vocabularySize = Math.Max(maxId + 1, vocabularySize ?? 0);
        _specialMatcher = new SpecialTokenMatcher(_specialTokens);
        _specialLookup = _specialTokens.GetAlternateLookup<ReadOnlySpan<char>>();
        PreTokenizer = new Interop.SplitPatternPreTokenizer(pattern, _specialMatcher);

        _decodeStart = new int[_vocabularySize];
        _decodeLength = new int[_vocabularySize];
        Array.Fill(_decodeLength, -1);
        var specialBytes = _specialTokens.ToDictionary(t => t.Value, t => Utf8Conversion.GetBytes(t.Key));
        var total = model.TotalTokenBytes + specialBytes.Values.Sum(b => (long)b.Length);
        _decodeBytes = new byte[total + 16]; // 16 spare bytes: DecodeToBytes copies 16 at a time
        var at = 0;
        for (var id = 0; id < model.TokenCount; id++) Place(id, model.Token(id), ref at);
        foreach (var (id, bytes) in specialBytes) Place(id, bytes, ref at);
    }

    private void Place(int id, ReadOnlySpan<byte> bytes, ref int at)
    {
        bytes.CopyTo(_decodeBytes.AsSpan(at));
        _decodeStart[id] = at;
        _decodeLength[id] = bytes.Length;
        at += bytes.Length;
    }

    /// <summary>The split pattern.</summary>
    public SplitPattern Pattern { get; }

    /// <summary>
    /// The split as a <see cref="Microsoft.ML.Tokenizers.PreTokenizer"/>: each special-token string is a piece, and
    /// <see cref="Pattern"/> splits the text between them (UTF-16 offsets and lengths), as TiktokenTokenizer's pre-tokenizer does.
    /// </summary>
    public override Microsoft.ML.Tokenizers.PreTokenizer PreTokenizer { get; }

    /// <summary>Special tokens: string → id.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens => _specialTokens;

    /// <summary>The learned merges (left id, right id) in order, merge i making id 256 + i; null for a rank table.</summary>
    public IReadOnlyList<(int Left, int Right)>? Merges => _model.Merges;

    /// <summary>True when the tokenizer merges by a tiktoken rank table (tiktoken semantics).</summary>
    public bool HasRankTable => _model.IsRankTable;

    /// <summary>Number of ordinary (non-special) tokens: ids 0..OrdinaryTokenCount-1.</summary>
    public int OrdinaryTokenCount => _model.TokenCount;

    /// <summary>Number of ids: every valid id is in [0, VocabularySize) (some ids may be unused, e.g. cl100k_base's 100256).</summary>
    public int VocabularySize => _vocabularySize;

    /// <summary>The magic first line of the saved text format.</summary>
    public string FormatMagic => BpeTokenizerFile.Magic;

    /// <summary>The bytes of token <paramref name="id"/> (a special token's UTF-8 string for special ids).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is outside [0, VocabularySize) or unused.</exception>
    public ReadOnlySpan<byte> GetTokenBytes(int id)
    {
        if ((uint)id >= (uint)_vocabularySize || _decodeLength[id] < 0)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Not a token id of this tokenizer (vocabulary size {_vocabularySize}).");
        return _decodeBytes.AsSpan(_decodeStart[id], _decodeLength[id]);
    }

    // ---------------------------------------------------------------- factories

    /// <summary>Learns a tokenizer on <paramref name="corpus"/> (exactly minbpe's merges; see <see cref="BpeTrainerOptions"/>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="corpus"/> or <paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid (the message names the option and value).</exception>
    public static BpeTokenizer Train(string corpus, BpeTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var merges = BpeTrainer.Train(corpus, options);
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < options.SpecialTokens.Count; i++) specials[options.SpecialTokens[i]] = options.VocabularySize + i;
        return new BpeTokenizer(BpeModel.FromMerges(merges), options.Pattern, specials, options.VocabularySize);
    }

    /// <summary>A tokenizer from learned merges (merge i makes id 256 + i; ids 0..255 are the bytes).</summary>
    /// <exception cref="ArgumentException">A merge uses an undefined id or repeats; a special id collides.</exception>
    public static BpeTokenizer FromMerges(IReadOnlyList<(int Left, int Right)> merges, SplitPattern pattern, IReadOnlyDictionary<string, int>? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(merges);
        ArgumentNullException.ThrowIfNull(pattern);
        return new BpeTokenizer(BpeModel.FromMerges(merges), pattern, specialTokens, null);
    }

    /// <summary>A tokenizer from a rank table: token bytes by rank (= id), with tiktoken semantics.</summary>
    /// <exception cref="ArgumentException">Token bytes repeat, a single byte is missing, or a special id collides.</exception>
    public static BpeTokenizer FromRanks(IReadOnlyList<byte[]> tokensByRank, SplitPattern pattern, IReadOnlyDictionary<string, int>? specialTokens = null, int? vocabularySize = null)
    {
        ArgumentNullException.ThrowIfNull(tokensByRank);
        ArgumentNullException.ThrowIfNull(pattern);
        return new BpeTokenizer(BpeModel.FromRanks(tokensByRank.ToArray()), pattern, specialTokens, vocabularySize);
    }

    /// <summary>
    /// The tokenizer of an OpenAI model, as <c>TiktokenTokenizer.CreateForModel</c> gives it: "gpt2", "gpt-3.5-turbo",
    /// "gpt-4", "text-embedding-3-small" (cl100k_base), "gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3" (o200k_base), dated and
    /// fine-tuned variants by prefix ("gpt-4o-2024-05-13", "ft:gpt-4o..."). The rank table is read from the matching
    /// Microsoft.ML.Tokenizers.Data.* package, which the application must reference; no file on disk is needed.
    /// </summary>
    /// <param name="modelName">The model name, case-insensitive.</param>
    /// <param name="extraSpecialTokens">Special tokens added to the encoding's own (string → id; ids above the ordinary ranks).</param>
    /// <returns>Without extra special tokens, one shared instance per encoding (immutable, so safe to share).</returns>
    /// <exception cref="ArgumentException"><paramref name="modelName"/> is null or empty, or an extra special id collides.</exception>
    /// <exception cref="NotSupportedException">The model name is not known.</exception>
    /// <exception cref="InvalidOperationException">The data package of the model's encoding is not referenced (the message names it).</exception>
    public static BpeTokenizer CreateForModel(string modelName, IReadOnlyDictionary<string, int>? extraSpecialTokens = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelName);
        return CreateForEncoding(TiktokenModels.EncodingOf(modelName), extraSpecialTokens);
    }

    /// <summary>
    /// The tokenizer of a tiktoken encoding by name: "gpt2", "r50k_base", "p50k_base", "p50k_edit", "cl100k_base",
    /// "o200k_base" or "o200k_harmony" (case-insensitive), with its rank table read from the matching
    /// Microsoft.ML.Tokenizers.Data.* package (Gpt2, R50kBase, P50kBase, Cl100kBase, O200kBase).
    /// </summary>
    /// <inheritdoc cref="CreateForModel(string, IReadOnlyDictionary{string, int}?)"/>
    /// <exception cref="ArgumentException">The encoding name is not one of the above, or an extra special id collides.</exception>
    public static BpeTokenizer CreateForEncoding(string encodingName, IReadOnlyDictionary<string, int>? extraSpecialTokens = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(encodingName);
        if (!TiktokenEncodings.TryParse(encodingName, out var encoding))
            throw new ArgumentException($"Unknown encoding '{encodingName}'; expected one of: {TiktokenEncodings.Names}.", nameof(encodingName));
        return CreateForEncoding(encoding, extraSpecialTokens);
    }

    /// <inheritdoc cref="CreateForEncoding(string, IReadOnlyDictionary{string, int}?)"/>
    public static BpeTokenizer CreateForEncoding(TiktokenEncoding encoding, IReadOnlyDictionary<string, int>? extraSpecialTokens = null)
    {
        if (!Enum.IsDefined(encoding)) throw new ArgumentException($"Unknown encoding value {(int)encoding}.", nameof(encoding));
        return extraSpecialTokens is null || extraSpecialTokens.Count == 0
            ? TiktokenDataPackages.Get(encoding)
            : TiktokenDataPackages.Build(encoding, extraSpecialTokens);
    }

    /// <summary>Loads a <c>.tiktoken</c> rank file for one of OpenAI's encodings (pattern and special tokens come from <paramref name="encoding"/>).</summary>
    /// <exception cref="FormatException">A malformed line (bad base64, duplicate rank or token, gap); the message has the line number.</exception>
    public static BpeTokenizer LoadTiktoken(string path, TiktokenEncoding encoding)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        return LoadTiktoken(stream, encoding, path);
    }

    /// <inheritdoc cref="LoadTiktoken(string, TiktokenEncoding)"/>
    public static BpeTokenizer LoadTiktoken(Stream stream, TiktokenEncoding encoding) => LoadTiktoken(stream, encoding, "<stream>");

    private static BpeTokenizer LoadTiktoken(Stream stream, TiktokenEncoding encoding, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var pattern = TiktokenEncodings.Pattern(encoding);
        var tokens = TiktokenFile.Read(new LineReader(stream, source), endLine: null);
        var expected = TiktokenEncodings.ExpectedRanks(encoding);
        if (tokens.Length != expected)
            throw new FormatException($"{source}: has {tokens.Length} ranks; the {encoding} encoding has {expected}.");
        return new BpeTokenizer(BpeModel.FromRanks(tokens), pattern, TiktokenEncodings.SpecialTokens(encoding), null);
    }

    /// <summary>Loads any <c>.tiktoken</c> rank file with the given pattern and special tokens.</summary>
    /// <exception cref="FormatException">A malformed line (bad base64, duplicate rank or token, gap); the message has the line number.</exception>
    public static BpeTokenizer LoadTiktoken(string path, SplitPattern pattern, IReadOnlyDictionary<string, int>? specialTokens = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = File.OpenRead(path);
        return LoadTiktoken(stream, pattern, specialTokens, path);
    }

    /// <inheritdoc cref="LoadTiktoken(string, SplitPattern, IReadOnlyDictionary{string, int}?)"/>
    public static BpeTokenizer LoadTiktoken(Stream stream, SplitPattern pattern, IReadOnlyDictionary<string, int>? specialTokens = null) =>
        LoadTiktoken(stream, pattern, specialTokens, "<stream>");

    private static BpeTokenizer LoadTiktoken(Stream stream, SplitPattern pattern, IReadOnlyDictionary<string, int>? specialTokens, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(pattern);
        var tokens = TiktokenFile.Read(new LineReader(stream, source), endLine: null);
        return new BpeTokenizer(BpeModel.FromRanks(tokens), pattern, specialTokens, null);
    }

    /// <summary>
    /// Loads GPT-2's <c>encoder.json</c>/<c>vocab.json</c> and <c>vocab.bpe</c>/<c>merges.txt</c> the way tiktoken does
    /// (byte ranks from the merge order, checked against the vocabulary); <c>&lt;|endoftext|&gt;</c> becomes a special token.
    /// </summary>
    /// <exception cref="FormatException">The files disagree or are malformed (file and line in the message).</exception>
    public static BpeTokenizer LoadGpt2(string vocabJsonPath, string mergesTxtPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(vocabJsonPath);
        ArgumentException.ThrowIfNullOrEmpty(mergesTxtPath);
        var (tokens, specials) = Gpt2VocabFiles.Read(vocabJsonPath, mergesTxtPath);
        return new BpeTokenizer(BpeModel.FromRanks(tokens), SplitPattern.Gpt2, specials, null);
    }

    /// <summary>Loads a tokenizer saved by <see cref="Save(string)"/> that must be a BPE tokenizer.</summary>
    /// <exception cref="FormatException">The file is malformed, or it holds another kind of tokenizer.</exception>
    public static BpeTokenizer Load(string path) =>
        TokenizerFile.Load(path) as BpeTokenizer ?? throw new FormatException($"{path}: is not a BPE tokenizer file.");

    /// <inheritdoc cref="Load(string)"/>
    public static BpeTokenizer Load(Stream stream) =>
        TokenizerFile.Load(stream) as BpeTokenizer ?? throw new FormatException("<stream>: is not a BPE tokenizer file.");

    /// <summary>Writes the tokenizer to <paramref name="path"/> in our versioned text format, atomically (temporary file, then rename over).</summary>
    public void Save(string path) => TokenizerFile.Write(path, writer => BpeTokenizerFile.Write(writer, this, _model));

    /// <summary>Writes the tokenizer's versioned text format (UTF-8, magic line first) to <paramref name="stream"/>, which stays open.</summary>
    public void Save(Stream stream) => TokenizerFile.Write(stream, writer => BpeTokenizerFile.Write(writer, this, _model));

    /// <summary>Writes the ordinary tokens as a <c>.tiktoken</c> rank file, atomically (special tokens are not part of that format).</summary>
    /// <exception cref="InvalidOperationException">Two learned tokens have the same bytes (a rank file cannot hold both).</exception>
    public void SaveTiktoken(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.Write(path, SaveTiktoken);
    }

    /// <inheritdoc cref="SaveTiktoken(string)"/>
    public void SaveTiktoken(Stream stream) => TokenizerFile.Write(stream, writer => TiktokenFile.Write(writer, _model));

    /// <summary>
    /// Writes a trained tokenizer as Hugging Face's byte-level BPE files, <c>vocab.json</c> and <c>merges.txt</c> (GPT-2's
    /// printable byte alphabet), each atomically. Microsoft.ML.Tokenizers' <c>BpeTokenizer.Create(new BpeOptions(vocab,
    /// merges) { ByteLevel = true, PreTokenizer = ... })</c> then gives our ids. Ids stay ours (0..255 are byte values);
    /// special tokens are in neither file: pass <see cref="SpecialTokens"/> to the loader.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tokenizer has a rank table rather than learned merges (use <see cref="SaveTiktoken(string)"/>).</exception>
    public void SaveVocabAndMerges(string vocabJsonPath, string mergesTxtPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(vocabJsonPath);
        ArgumentException.ThrowIfNullOrEmpty(mergesTxtPath);
        using var vocab = new MemoryStream();
        using var merges = new MemoryStream();
        Gpt2VocabFiles.Write(vocab, merges, _model); // in memory first: a rank table throws before any file is touched
        AtomicFile.Write(vocabJsonPath, s => s.Write(vocab.GetBuffer(), 0, (int)vocab.Length));
        AtomicFile.Write(mergesTxtPath, s => s.Write(merges.GetBuffer(), 0, (int)merges.Length));
    }

    /// <inheritdoc cref="SaveVocabAndMerges(string, string)"/>
    public void SaveVocabAndMerges(Stream vocabJson, Stream mergesTxt)
    {
        ArgumentNullException.ThrowIfNull(vocabJson);
        ArgumentNullException.ThrowIfNull(mergesTxt);
        Gpt2VocabFiles.Write(vocabJson, mergesTxt, _model);
    }

    internal BpeModel Model => _model;

    internal static BpeTokenizer Create(BpeModel model, SplitPattern pattern, IReadOnlyDictionary<string, int> specials, int? vocabularySize) =>
        new(model, pattern, specials, vocabularySize);

    // ---------------------------------------------------------------- encode

    /// <summary>Encodes <paramref name="text"/>, treating special-token strings as <paramref name="mode"/> says (by default as text, tiktoken's <c>encode_ordinary</c>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="ArgumentException">A special token occurs and <paramref name="mode"/> is <see cref="SpecialTokenMode.Disallowed"/>.</exception>
    public int[] Encode(string text, SpecialTokenMode mode = SpecialTokenMode.AsText)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encode(text.AsSpan(), mode);
    }

    /// <inheritdoc cref="Encode(string, SpecialTokenMode)"/>
    public int[] Encode(ReadOnlySpan<char> text, SpecialTokenMode mode = SpecialTokenMode.AsText)
    {
        var buffer = IdBuffer.RentForThread();
        EncodeCore(text, mode, buffer);
        return buffer.ToArray();
    }

    /// <summary>Number of ids that <see cref="Encode(string, SpecialTokenMode)"/> returns, without allocating them.</summary>
    /// <remarks>The mode has no default so that <c>CountTokens(text)</c> stays the <see cref="Tokenizer"/> overload (special tokens allowed).</remarks>
    public int CountTokens(string text, SpecialTokenMode mode)
    {
        ArgumentNullException.ThrowIfNull(text);
        return CountTokens(text.AsSpan(), mode);
    }

    /// <inheritdoc cref="CountTokens(string, SpecialTokenMode)"/>
    public int CountTokens(ReadOnlySpan<char> text, SpecialTokenMode mode)
    {
        var buffer = IdBuffer.RentForThread();
        EncodeCore(text, mode, buffer);
        return buffer.Count;
    }

    /// <summary>Encodes many texts in parallel over the cores; result <c>i</c> is the encoding of <c>texts[i]</c>.</summary>
    /// <param name="texts">The texts; none may be null.</param>
    /// <param name="mode">How special-token strings are treated.</param>
    /// <param name="maxDegreeOfParallelism">Worker count; -1 (default) means all cores.</param>
    public int[][] EncodeBatch(IReadOnlyList<string> texts, SpecialTokenMode mode = SpecialTokenMode.AsText, int maxDegreeOfParallelism = -1) =>
        BatchEncoding.EncodeBatch(texts, mode, maxDegreeOfParallelism, EncodeCore);

    internal void EncodeCore(ReadOnlySpan<char> text, SpecialTokenMode mode, IdBuffer output)
    {
        if (mode == SpecialTokenMode.AsText || _specialMatcher.Count == 0)
        {
            EncodeOrdinary(text, output);
            return;
        }
        var cache = _specialMatcher.NewCache();
        var pos = 0;
        while (true)
        {
            var at = _specialMatcher.FindNext(text, pos, cache, out var length, out var id, out var token);
            if (at < 0)
            {
                EncodeOrdinary(text[pos..], output);
                return;
            }
            if (mode == SpecialTokenMode.Disallowed)
                throw new ArgumentException($"The text contains the special token '{token}' at index {at}; pass SpecialTokenMode.Allowed to encode it as id {id}, or AsText to encode it as text.", nameof(text));
            EncodeOrdinary(text[pos..at], output);
            output.Add(id);
            pos = at + length;
        }
    }

    private struct PieceEncoder : IPieceSink
    {
        public BpeModel Model;
        public IdBuffer Output;
        public PieceCache Cache;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void OnPiece(ReadOnlySpan<byte> piece) => Model.EncodePiece(piece, Output, Cache);
    }

    private void EncodeOrdinary(ReadOnlySpan<char> text, IdBuffer output)
    {
        var encoder = new PieceEncoder { Model = _model, Output = output, Cache = PieceCache.For(_model) };
        ChunkSplitter.Split(text, Pattern, ref encoder);
    }

    // ---------------------------------------------------------------- decode

    /// <summary>The exact bytes the ids stand for (UTF-8 of the text for whole sequences; may cut a character).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, VocabularySize) or unused.</exception>
    public byte[] DecodeToBytes(ReadOnlySpan<int> ids)
    {
        var result = GC.AllocateUninitializedArray<byte>(checked((int)GetByteCount(ids)));
        CopyTokenBytes(ids, result);
        return result;
    }

    /// <inheritdoc cref="DecodeToBytes(ReadOnlySpan{int})"/>
    public byte[] DecodeToBytes(IEnumerable<int> ids) => DecodeToBytes(Interop.CharDecoder.AsSpan(ids));

    /// <summary>Decodes ids to a string; invalid UTF-8 becomes U+FFFD (one per maximal invalid subpart), as tiktoken does.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, VocabularySize) or unused.</exception>
    public string Decode(ReadOnlySpan<int> ids)
    {
        // Decode into a pooled buffer, so only the string itself is allocated.
        var total = checked((int)GetByteCount(ids));
        if (total <= 512)
        {
            Span<byte> small = stackalloc byte[512];
            return Utf8Conversion.GetString(small[..CopyTokenBytes(ids, small[..total])]);
        }
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(total);
        try
        {
            return Utf8Conversion.GetString(buffer.AsSpan(0, CopyTokenBytes(ids, buffer.AsSpan(0, total))));
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Number of bytes that <see cref="DecodeToBytes(ReadOnlySpan{int})"/> returns for <paramref name="ids"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, VocabularySize) or unused.</exception>
    public long GetByteCount(ReadOnlySpan<int> ids)
    {
        var lengths = _decodeLength;
        long total = 0;
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)lengths.Length || lengths[id] < 0) ThrowBadId(id);
            total += lengths[id];
        }
        return total;
    }

    /// <summary>Writes the bytes of <paramref name="ids"/> into <paramref name="destination"/> without allocating; returns the count written.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, VocabularySize) or unused.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="GetByteCount"/>.</exception>
    public int DecodeToBytes(ReadOnlySpan<int> ids, Span<byte> destination)
    {
        var total = GetByteCount(ids);
        if (total > destination.Length)
            throw new ArgumentException($"The destination holds {destination.Length} bytes; the ids decode to {total}.", nameof(destination));
        return CopyTokenBytes(ids, destination[..(int)total]); // never write past the decoded bytes
    }

    /// <summary>The decode kernel: ids already validated and <paramref name="destination"/> long enough.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int CopyTokenBytes(ReadOnlySpan<int> ids, Span<byte> destination)
    {
        ref var source = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(_decodeBytes);
        ref var output = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(destination);
        ref var starts = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(_decodeStart);
        ref var lengths = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(_decodeLength);
        var at = 0;
        var end = destination.Length;
        foreach (var id in ids)
        {
            var length = Unsafe.Add(ref lengths, id);
            ref var from = ref Unsafe.Add(ref source, Unsafe.Add(ref starts, id));
            if (length <= 16 && at + 16 <= end)
            {
                // One 16-byte copy: the table has 16 spare bytes at its end, and the bytes written past this token are
                // overwritten by the next one (tokens near the end of the destination take the exact path).
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref output, at), Unsafe.ReadUnaligned<System.Runtime.Intrinsics.Vector128<byte>>(ref from));
            }
            else
            {
                Unsafe.CopyBlockUnaligned(ref Unsafe.Add(ref output, at), ref from, (uint)length);
            }
            at += length;
        }
        return at;
    }

    private void ThrowBadId(int id) =>
        throw new ArgumentOutOfRangeException("ids", id, $"Token id {id} is not in this tokenizer (vocabulary size {_vocabularySize}; unused ids have no bytes).");
}
