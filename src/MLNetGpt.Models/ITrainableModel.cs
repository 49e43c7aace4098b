// What the trainer and the generator need from a model beyond its public face: arenas, a training step, and a decoder.
using MLNetGpt.Tensors;

namespace MLNetGpt.Models;

/// <summary>Internal training and decoding surface shared by <see cref="BigramModel"/> and <see cref="GptModel"/>.</summary>
internal interface ITrainableModel : ILanguageModel
{
    /// <summary>All parameters (GPT-2 names).</summary>
    Arena Parameters { get; }

    /// <summary>Gradients, same layout as <see cref="Parameters"/>.</summary>
    Arena Gradients { get; }

    /// <summary>
    /// Training-mode forward and backward over inputs/targets [B,T]: gradients are ADDED (scaled by <paramref name="lossScale"/>,
    /// 1/accumulation steps) so micro-batches accumulate. Returns the mean loss of this micro-batch.
    /// <paramref name="dropoutSeed"/> seeds every dropout mask of this pass.
    /// </summary>
    float ForwardBackward(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batchSize, int length, float lossScale, ulong dropoutSeed);

    /// <summary>Eval-mode mean loss over inputs/targets [B,T] (targets of -1 are ignored).</summary>
    float ForwardLoss(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int batchSize, int length);

    /// <summary>A decoder with its own KV cache for up to <paramref name="maxBatch"/> rows.</summary>
    IIncrementalDecoder CreateDecoder(int maxBatch);
}

/// <summary>Incremental decoding: prefill a row's context, then append one token to many rows at once.</summary>
internal interface IIncrementalDecoder
{
    /// <summary>Largest number of rows.</summary>
    int MaxBatch { get; }

    /// <summary>
    /// The kernels this decoder runs on: the model's backend unless set. Decoders running at the same time on different
    /// threads each need their own (a backend is not reentrant); results are bitwise the same on any CPU backend.
    /// </summary>
    IComputeBackend Backend { get; set; }

    /// <summary>
    /// Another decoder over the same model with its own KV cache for <paramref name="maxBatch"/> rows that shares this one's
    /// copy of the weights (<see cref="RefreshWeights"/> on either refreshes both).
    /// </summary>
    IIncrementalDecoder CreateSibling(int maxBatch);

    /// <summary>
    /// Re-reads the model's parameters. A decoder may keep a copy of the weights in a faster layout; it makes that copy when
    /// created and again here. Call it before decoding whenever the parameters may have changed since.
    /// </summary>
    void RefreshWeights();

    /// <summary>
    /// Resets row <paramref name="row"/> and feeds it <paramref name="tokens"/> (1 ≤ length ≤ BlockSize) at positions 0..n-1;
    /// writes the logits of the last position into <paramref name="logits"/>[V].
    /// </summary>
    void Prefill(int row, ReadOnlySpan<int> tokens, Span<float> logits);

    /// <summary>
    /// <see cref="Prefill(int, ReadOnlySpan{int}, Span{float})"/> for several rows in one pass: row rows[i] gets the next
    /// lengths[i] tokens of <paramref name="tokens"/> (the rows' contexts, concatenated); logits[i·V..] receives its last
    /// position's logits. Each row's result is the same as prefilling it alone (row-wise kernels).
    /// </summary>
    void Prefill(ReadOnlySpan<int> rows, ReadOnlySpan<int> tokens, ReadOnlySpan<int> lengths, Span<float> logits);

    /// <summary>
    /// Appends tokens[b] at position positions[b] to rows 0..B-1 (each row's cache must hold positions 0..positions[b]-1, and
    /// positions[b] &lt; BlockSize); writes logits[B,V].
    /// </summary>
    void Decode(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, int batchSize, Span<float> logits);
}
