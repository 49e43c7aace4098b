// Batched generation with a KV cache: the rows' prompts are prefilled into their own cache rows in one pass, then all rows
// advance together, one batched forward pass per new token; rows whose cache is full are rebuilt together. The rows of a
// batch are split over the cores (one decoder per core). Each row draws from its own seeded stream, so output does not depend on batching.
using MLNetGpt.Models.Data;
using MLNetGpt.Tensors;

namespace MLNetGpt.Models.Sampling;

/// <summary>
/// Generates token ids from an <see cref="ILanguageModel"/>. One generator per model holds the KV cache and all buffers
/// for up to <see cref="MaxBatchSize"/> rows and reuses them across calls (not thread-safe). Larger requests run in chunks.
/// Context: a row's context is its prompt cropped to the last BlockSize tokens; within a block the result equals full
/// recomputation. Before a row's cache fills, it is rebuilt from its last BlockSize/2 tokens (so the model always sees
/// between BlockSize/2 and BlockSize tokens), which costs one prefill every BlockSize/2 tokens instead of nanoGPT's full
/// recomputation of the last BlockSize tokens at every step. Rebuilds happen at check points every BlockSize/4 generated
/// tokens (the first one as soon as the cache is full, when the prompt filled it), so a row's output depends only on its
/// own prompt, and the rows of a batch are rebuilt together. With a multi-threaded CPU backend the rows of a batch are split
/// into one contiguous share per thread, each decoded by its own single-threaded decoder (sharing one copy of the weights).
/// </summary>
public sealed class TextGenerator
{
    private readonly Worker[] _workers;
    private readonly IComputeBackend[] _serialBackends; // one single-threaded backend per worker (empty: no splitting)
    private readonly int _v;

    private TextGenerator(ITrainableModel model, int maxBatchSize)
    {
        Model = model;
        MaxBatchSize = maxBatchSize;
        _v = model.VocabularySize;
        // Data-parallel decoding: a batch's rows are independent, so each core can run its share of them through
        // single-threaded kernels, with one hand-off per call instead of one per kernel and no cache lines moving between
        // cores. Decoding-sized kernels are too small to split well (WorkerPool keeps them on one thread), so this is how
        // a batch uses every core. Results are the same bits: every kernel computes a row the same way at any thread count.
        int k = model.Backend is CpuBackend cpu ? Math.Clamp(cpu.ThreadCount, 1, maxBatchSize) : 1;
        int capacity = (maxBatchSize + k - 1) / k;
        _workers = new Worker[k];
        _workers[0] = new Worker(model, k == 1 ? model.CreateDecoder(maxBatchSize) : model.CreateDecoder(Math.Max(capacity, 1)));
        for (int i = 1; i < k; i++) _workers[i] = new Worker(model, _workers[0].Decoder.CreateSibling(capacity));
        _serialBackends = k == 1 ? [] : Enumerable.Range(0, k).Select(_ => (IComputeBackend)CpuBackend.Create(1, ((CpuBackend)model.Backend).Width)).ToArray();
    }

    /// <summary>The model (its current parameters are used at every call).</summary>
    public ILanguageModel Model { get; }

    /// <summary>Rows generated together in one forward pass.</summary>
    public int MaxBatchSize { get; }

    /// <summary>Creates a generator for <paramref name="model"/> with a KV cache for <paramref name="maxBatchSize"/> rows.</summary>
    public static TextGenerator Create(ILanguageModel model, int maxBatchSize = 8)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (maxBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(maxBatchSize), maxBatchSize, "Batch size must be at least 1.");
        if (model is not ITrainableModel m) throw new ArgumentException($"Model of type {model.GetType().Name} is not supported.", nameof(model));
        return new TextGenerator(m, maxBatchSize);
    }

    /// <summary>One-off convenience: creates a generator sized for the prompts and runs <see cref="Generate(IReadOnlyList{int[]}, SamplingOptions, ReadOnlySpan{long}, CancellationToken)"/>.</summary>
    public static IReadOnlyList<int[]> Generate(ILanguageModel model, IReadOnlyList<int[]> prompts, SamplingOptions options,
        ReadOnlySpan<long> rowIds = default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        return Create(model, Math.Clamp(prompts.Count, 1, 64)).Generate(prompts, options, rowIds, cancellationToken);
    }

    /// <summary>Generates for one prompt with row id <paramref name="rowId"/>.</summary>
    public int[] Generate(int[] prompt, SamplingOptions options, long rowId = 0, CancellationToken cancellationToken = default) =>
        Generate([prompt], options, [rowId], cancellationToken)[0];

    /// <summary>
    /// Generates up to <see cref="SamplingOptions.MaxNewTokens"/> new tokens after each prompt (returned without the prompt;
    /// a stop token ends its row and is included). Row i draws from a stream seeded by (options.Seed, rowIds[i]) — rowIds
    /// empty means i — so a row's tokens do not depend on the batch it runs in. Prompts must be non-empty with ids in [0, V);
    /// longer prompts are cropped to the last BlockSize tokens. Cancellation throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public IReadOnlyList<int[]> Generate(IReadOnlyList<int[]> prompts, SamplingOptions options, ReadOnlySpan<long> rowIds = default,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!rowIds.IsEmpty && rowIds.Length != prompts.Count)
            throw new ArgumentException($"rowIds has {rowIds.Length} entries but there are {prompts.Count} prompts.", nameof(rowIds));
        for (int i = 0; i < prompts.Count; i++)
        {
            var p = prompts[i] ?? throw new ArgumentNullException(nameof(prompts), $"Prompt {i} is null.");
            if (p.Length == 0) throw new ArgumentException($"Prompt {i} is empty; pass at least one token (for example the id of a newline).", nameof(prompts));
            for (int j = 0; j < p.Length; j++)
                if ((uint)p[j] >= (uint)_v) throw new ArgumentOutOfRangeException(nameof(prompts), p[j], $"Token id {p[j]} at index {j} of prompt {i} is outside [0,{_v}).");
        }
        // The parameters may have changed since the last call (training between samples); the workers share one copy.
        _workers[0].Decoder.Backend = Model.Backend;
        _workers[0].Decoder.RefreshWeights();
        var ids = new long[prompts.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = rowIds.IsEmpty ? i : rowIds[i];
        var results = new int[prompts.Count][];
        for (int start = 0; start < prompts.Count; start += MaxBatchSize)
        {
            int n = Math.Min(MaxBatchSize, prompts.Count - start);
            if (n == 1 || _workers.Length == 1)
            {
                // One row cannot be split; alone, worker 0 uses the model's backend (all its threads, for the larger calls).
                _workers[0].Decoder.Backend = Model.Backend;
                _workers[0].GenerateChunk(prompts, start, n, options, ids, results, cancellationToken);
                continue;
            }
            int parts = Math.Min(_workers.Length, n);
            var tasks = new Task[parts - 1];
            for (int w = 0; w < parts; w++)
            {
                var (from, to) = WorkerPool.Partition(n, parts, w);
                var worker = _workers[w];
                worker.Decoder.Backend = _serialBackends[w];
                if (w == 0) continue;
                tasks[w - 1] = Task.Factory.StartNew(() => worker.GenerateChunk(prompts, start + from, to - from, options, ids, results, cancellationToken),
                    cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
            var (s0, e0) = WorkerPool.Partition(n, parts, 0);
            try
            {
                _workers[0].GenerateChunk(prompts, start + s0, e0 - s0, options, ids, results, cancellationToken);
            }
            finally
            {
                // Every worker owns buffers of this generator: wait for all of them even when one failed.
                try { Task.WaitAll(tasks); }
                catch (AggregateException e) when (e.InnerExceptions.Count == 1) { System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw(); }
            }
        }
        return results;
    }

    /// <summary>One decoder with its KV cache, logits, sampler and prefill queue; generates a chunk of rows on one thread.</summary>
    private sealed class Worker
    {
        private readonly TokenSampler _sampler;
        private readonly float[] _logits, _prefillLogits;
        private readonly int[] _tokens, _positions, _prefillRows, _prefillLengths, _prefillTokens;
        private int _queuedRows, _queuedTokens; // rows and tokens waiting in the _prefill* buffers
        private readonly int _v, _blockSize;

        public Worker(ITrainableModel model, IIncrementalDecoder decoder)
        {
            Decoder = decoder;
            int rows = decoder.MaxBatch;
            _v = model.VocabularySize;
            _blockSize = model.BlockSize;
            _sampler = new TokenSampler(_v);
            _logits = new float[rows * _v];
            _prefillLogits = new float[rows * _v];
            _prefillRows = new int[rows];
            _prefillLengths = new int[rows];
            _prefillTokens = new int[rows * _blockSize];
            _tokens = new int[rows];
            _positions = new int[rows];
        }

        public IIncrementalDecoder Decoder { get; }

        public void GenerateChunk(IReadOnlyList<int[]> prompts, int start, int n, SamplingOptions options, long[] rowIds,
            int[][] results, CancellationToken ct)
        {
            var stop = options.StopTokens.Count == 0 ? null : new HashSet<int>(options.StopTokens);
            var rngs = new SplitMixRandom[n];
            var history = new List<int>[n]; // context + generated tokens (for rebuilding a full cache)
            var generated = new List<int>[n];
            var done = new bool[n];
            int keep = Math.Max(1, _blockSize / 2), stride = Math.Max(1, _blockSize / 4);
            _queuedRows = 0; _queuedTokens = 0; // a cancelled call may have left rows queued
            for (int r = 0; r < n; r++)
            {
                long id = rowIds[start + r];
                rngs[r] = SplitMixRandom.Create(SplitMixRandom.Derive(options.Seed, (ulong)id));
                var prompt = prompts[start + r];
                var context = prompt.AsSpan(Math.Max(0, prompt.Length - _blockSize));
                history[r] = [.. context];
                generated[r] = new List<int>(Math.Min(options.MaxNewTokens, 4096));
                done[r] = options.MaxNewTokens == 0;
                if (done[r]) continue;
                QueuePrefill(r, context);
            }
            ct.ThrowIfCancellationRequested();
            RunPrefills();

            var refill = new bool[n];
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                int active = 0, decodeRows = 0;
                for (int r = 0; r < n; r++)
                {
                    refill[r] = false;
                    if (done[r]) { _tokens[r] = 0; _positions[r] = 0; continue; }
                    int tok = _sampler.Sample(_logits.AsSpan(r * _v, _v), options, rngs[r]);
                    generated[r].Add(tok);
                    history[r].Add(tok);
                    if (generated[r].Count >= options.MaxNewTokens || (stop is not null && stop.Contains(tok)))
                    {
                        done[r] = true; _tokens[r] = 0; _positions[r] = 0;
                        continue;
                    }
                    active++;
                    // Refill at the first check point (every `stride` tokens) from which the cache would fill within the next
                    // stride tokens, or at once if it is full. Check points depend only on the count of generated tokens, which all
                    // rows of a batch share, so rows refill on the same steps and are rebuilt together in one pass.
                    int pos = _positions[r];
                    if (pos >= _blockSize || (generated[r].Count % stride == 0 && pos + stride > _blockSize))
                    {
                        refill[r] = true; _tokens[r] = 0; _positions[r] = 0;
                        continue;
                    }
                    _tokens[r] = tok;
                    decodeRows = r + 1;
                }
                if (active == 0) break;
                // Rows past the last decoding row are skipped; finished or refilling rows inside the range decode a dummy token at
                // position 0 of their own cache, which the refill below (or nothing, for finished rows) overwrites.
                if (decodeRows > 0) Decoder.Decode(_tokens, _positions, decodeRows, _logits);
                for (int r = 0; r < n; r++)
                {
                    if (done[r]) continue;
                    if (refill[r])
                    {
                        var h = history[r];
                        QueuePrefill(r, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(h)[(h.Count - keep)..]);
                    }
                    else _positions[r]++;
                }
                RunPrefills();
            }
            for (int r = 0; r < n; r++) results[start + r] = [.. generated[r]];
        }

        // Rows to (re)build are queued and prefilled together in one pass (the same logits as one at a time, in fewer, larger products).
        private void QueuePrefill(int row, ReadOnlySpan<int> context)
        {
            _prefillRows[_queuedRows] = row;
            _prefillLengths[_queuedRows++] = context.Length;
            context.CopyTo(_prefillTokens.AsSpan(_queuedTokens));
            _queuedTokens += context.Length;
        }

        private void RunPrefills()
        {
            if (_queuedRows == 0) return;
            Decoder.Prefill(_prefillRows.AsSpan(0, _queuedRows), _prefillTokens.AsSpan(0, _queuedTokens), _prefillLengths.AsSpan(0, _queuedRows), _prefillLogits);
            for (int i = 0; i < _queuedRows; i++)
            {
                int r = _prefillRows[i];
                _prefillLogits.AsSpan(i * _v, _v).CopyTo(_logits.AsSpan(r * _v, _v));
                _positions[r] = _prefillLengths[i];
            }
            _queuedRows = 0; _queuedTokens = 0;
        }
    }
}
