// The public face of every language model (bigram, GPT): sizes, config, weights I/O, logits, evaluation.
using MLNetGpt.Tensors;

namespace MLNetGpt.Models;

/// <summary>
/// A next-token model over token ids in [0, <see cref="VocabularySize"/>). Implemented by <see cref="BigramModel"/> and
/// <see cref="GptModel"/>; train it with <see cref="Training.LanguageModelTrainer"/>, sample with <see cref="Sampling.TextGenerator"/>,
/// load it with <see cref="LanguageModel.Load(Stream, IComputeBackend?)"/>. Instances are not thread-safe (they own scratch buffers).
/// </summary>
public interface ILanguageModel
{
    /// <summary>"bigram" or "gpt".</summary>
    string Kind { get; }

    /// <summary>Vocabulary size V.</summary>
    int VocabularySize { get; }

    /// <summary>Longest context T the model accepts.</summary>
    int BlockSize { get; }

    /// <summary>Number of trainable floats (tied weights counted once).</summary>
    long ParameterCount { get; }

    /// <summary>The configuration the model was built from (serializable with <see cref="LanguageModelConfig.ToJson"/>).</summary>
    LanguageModelConfig Config { get; }

    /// <summary>The kernels the model runs on.</summary>
    IComputeBackend Backend { get; }

    /// <summary>Writes the weights as safetensors (F32, GPT-2 tensor names, config in the metadata) to <paramref name="destination"/>.</summary>
    void SaveWeights(Stream destination);

    /// <summary>Writes the weights as safetensors to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    void SaveWeights(string path);

    /// <summary>
    /// Eval-mode forward pass: logits[B,T,V] for tokens[B,T] (no dropout). 1 ≤ <paramref name="length"/> ≤ <see cref="BlockSize"/>.
    /// </summary>
    void ComputeLogits(ReadOnlySpan<int> tokens, int batchSize, int length, Span<float> logits);

    /// <summary>
    /// Mean cross-entropy (nats per token, eval mode) over consecutive non-overlapping windows of <see cref="BlockSize"/> tokens:
    /// window w predicts tokens[wT+1 .. wT+T] from tokens[wT .. wT+T-1]. Windows are processed <paramref name="batchSize"/> at a time,
    /// at most <paramref name="maxBatches"/> batches (0 or negative: all windows). The corpus needs at least BlockSize + 1 tokens.
    /// </summary>
    double EvaluateLoss(ReadOnlySpan<int> tokens, int batchSize, int maxBatches, CancellationToken cancellationToken = default);
}
