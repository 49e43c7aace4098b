// Argument checks shared by the models' public methods, and the windowed evaluation both models use.
namespace MLNetGpt.Models;

internal static class ModelChecks
{
    /// <summary>Checks tokens[B,T] against the block size and the vocabulary, naming the offending value.</summary>
    public static void Tokens(ReadOnlySpan<int> tokens, int batchSize, int length, int blockSize, int vocabularySize)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Batch size must be at least 1.");
        if (length < 1) throw new ArgumentOutOfRangeException(nameof(length), length, "Sequence length must be at least 1.");
        if (length > blockSize)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"Sequence length {length} is larger than the model's block size {blockSize}.");
        if (tokens.Length < (long)batchSize * length)
            throw new ArgumentException($"tokens holds {tokens.Length} ids but [{batchSize},{length}] needs {(long)batchSize * length}.", nameof(tokens));
        for (int i = 0; i < batchSize * length; i++)
            if ((uint)tokens[i] >= (uint)vocabularySize)
                throw new ArgumentOutOfRangeException(nameof(tokens), tokens[i], $"Token id {tokens[i]} at index {i} is outside the vocabulary [0,{vocabularySize}).");
    }

    /// <summary>Mean loss over consecutive windows of BlockSize tokens (see <see cref="ILanguageModel.EvaluateLoss"/>).</summary>
    public static double EvaluateWindows(ITrainableModel model, ReadOnlySpan<int> tokens, int batchSize, int maxBatches, CancellationToken ct)
    {
        int t = model.BlockSize;
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Batch size must be at least 1.");
        if (tokens.Length < t + 1)
            throw new ArgumentException($"The corpus has {tokens.Length} tokens; evaluation needs at least block size + 1 = {t + 1}.", nameof(tokens));
        int windows = (tokens.Length - 1) / t;
        long limit = maxBatches <= 0 ? windows : Math.Min(windows, (long)maxBatches * batchSize);
        var inputs = new int[batchSize * t];
        var targets = new int[batchSize * t];
        double sum = 0;
        long count = 0;
        for (long w0 = 0; w0 < limit; w0 += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            int b = (int)Math.Min(batchSize, limit - w0);
            for (int r = 0; r < b; r++)
            {
                var src = tokens.Slice((int)((w0 + r) * t), t + 1);
                src[..t].CopyTo(inputs.AsSpan(r * t, t));
                src[1..].CopyTo(targets.AsSpan(r * t, t));
            }
            for (int i = 0; i < b * t; i++)
                if ((uint)inputs[i] >= (uint)model.VocabularySize || (uint)targets[i] >= (uint)model.VocabularySize)
                    throw new ArgumentOutOfRangeException(nameof(tokens), $"A token id in window {w0} is outside the vocabulary [0,{model.VocabularySize}).");
            sum += (double)model.ForwardLoss(inputs, targets, b, t) * b;
            count += b;
        }
        return sum / count;
    }
}
