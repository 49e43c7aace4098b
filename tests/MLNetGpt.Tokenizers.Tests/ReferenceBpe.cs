// Plain reference implementations (minbpe's training loop and tiktoken's merge loop, written naively) to test the fast ones.
using System.Text;

namespace MLNetGpt.Tokenizers.Tests;

internal static class ReferenceBpe
{
    /// <summary>minbpe RegexTokenizer.train: recount all pairs each step in an insertion-ordered dict; max count, first inserted on ties.</summary>
    public static (int, int)[] TrainMinbpe(string text, int vocabularySize, SplitPattern pattern)
    {
        var chunks = pattern.Split(text).Select(c => Encoding.UTF8.GetBytes(c).Select(b => (int)b).ToList()).ToList();
        var merges = new List<(int, int)>();
        for (var m = 0; m < vocabularySize - 256; m++)
        {
            var counts = new Dictionary<(int, int), int>();
            var order = new List<(int, int)>();
            foreach (var chunk in chunks)
            {
                for (var i = 0; i + 1 < chunk.Count; i++)
                {
                    var pair = (chunk[i], chunk[i + 1]);
                    if (counts.TryGetValue(pair, out var c)) counts[pair] = c + 1;
                    else
                    {
                        counts[pair] = 1;
                        order.Add(pair);
                    }
                }
            }
            if (order.Count == 0) break;
            var best = order[0];
            foreach (var pair in order)
                if (counts[pair] > counts[best]) best = pair;
            var id = 256 + m;
            merges.Add(best);
            foreach (var chunk in chunks)
            {
                for (var i = 0; i + 1 < chunk.Count; i++)
                {
                    if (chunk[i] == best.Item1 && chunk[i + 1] == best.Item2)
                    {
                        chunk[i] = id;
                        chunk.RemoveAt(i + 1);
                    }
                }
            }
        }
        return merges.ToArray();
    }

    /// <summary>tiktoken's byte_pair_encode on one piece, with a plain dictionary from token bytes to rank.</summary>
    public static List<int> EncodePieceTiktoken(Dictionary<string, int> ranks, byte[] piece)
    {
        var latin1 = Encoding.Latin1;
        if (ranks.TryGetValue(latin1.GetString(piece), out var whole)) return [whole];
        var parts = piece.Select(b => new[] { b }).ToList();
        while (parts.Count > 1)
        {
            var bestRank = int.MaxValue;
            var at = -1;
            for (var i = 0; i + 1 < parts.Count; i++)
            {
                if (ranks.TryGetValue(latin1.GetString([.. parts[i], .. parts[i + 1]]), out var r) && r < bestRank)
                {
                    bestRank = r;
                    at = i;
                }
            }
            if (at < 0) break;
            parts[at] = [.. parts[at], .. parts[at + 1]];
            parts.RemoveAt(at + 1);
        }
        return parts.Select(p => ranks[latin1.GetString(p)]).ToList();
    }

    public static Dictionary<string, int> RankDictionary(BpeTokenizer tokenizer)
    {
        var ranks = new Dictionary<string, int>();
        for (var id = 0; id < tokenizer.OrdinaryTokenCount; id++) ranks[Encoding.Latin1.GetString(tokenizer.GetTokenBytes(id))] = id;
        return ranks;
    }
}
