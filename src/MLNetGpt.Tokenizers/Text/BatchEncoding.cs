// Encoding many texts in parallel over the cores, for the tokenizers' EncodeBatch.
using System.Collections.Concurrent;

namespace MLNetGpt.Tokenizers.Text;

/// <summary>Appends the ids of <paramref name="text"/> to <paramref name="output"/>.</summary>
internal delegate void EncodeInto(ReadOnlySpan<char> text, SpecialTokenMode mode, IdBuffer output);

internal static class BatchEncoding
{
    public static int[][] EncodeBatch(IReadOnlyList<string> texts, SpecialTokenMode mode, int maxDegreeOfParallelism, EncodeInto encode)
    {
        ArgumentNullException.ThrowIfNull(texts);
        for (var i = 0; i < texts.Count; i++)
            if (texts[i] is null) throw new ArgumentException($"texts[{i}] is null.", nameof(texts));
        var results = new int[texts.Count][];
        var options = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism };
        // Ranges of texts rather than single texts so that tiny texts do not pay a scheduling cost each.
        var rangeSize = Math.Max(1, Math.Min(256, texts.Count / (4 * Environment.ProcessorCount)));
        Parallel.ForEach(Partitioner.Create(0, texts.Count, rangeSize), options, range =>
        {
            var buffer = IdBuffer.RentForThread();
            for (var i = range.Item1; i < range.Item2; i++)
            {
                buffer.Clear();
                encode(texts[i].AsSpan(), mode, buffer);
                results[i] = buffer.ToArray();
            }
        });
        return results;
    }
}
