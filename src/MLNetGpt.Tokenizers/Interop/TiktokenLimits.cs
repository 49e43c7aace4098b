// How TiktokenTokenizer cuts an encoding at a token budget: piece by piece, never inside a character.
namespace MLNetGpt.Tokenizers.Interop;

/// <summary>
/// The token-budget rules of Microsoft.ML.Tokenizers' <c>TiktokenTokenizer</c> (2.0.1), so that <c>EncodeToIds</c> with a
/// maximum, <c>CountTokens</c> with a maximum and <c>GetIndexByTokenCount(FromEnd)</c> return the same counts and indices.
/// Pieces (special tokens and split-pattern matches) are taken whole while they fit; in the piece that does not fit,
/// tokens are taken one by one, except that tokens sharing a character (byte-level tokens that cut it) are taken
/// together or not at all. Offsets are absolute UTF-16 indices.
/// </summary>
internal static class TiktokenLimits
{
    /// <summary>Rejects a token budget below one, as every budgeted member of the Tokenizer API does.</summary>
    public static void CheckBudget(int maxTokenCount)
    {
        if (maxTokenCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxTokenCount), maxTokenCount, "The maximum number of tokens must be greater than zero.");
    }

    /// <summary>
    /// How many leading tokens of a piece fit in <paramref name="budget"/> (&gt; 0); <paramref name="consumedEnd"/> is where
    /// the taken tokens end (<paramref name="pieceEnd"/> when all fit; the piece start when none does).
    /// </summary>
    public static int TakeFromStart(ReadOnlySpan<TokenSpan> tokens, int budget, int pieceStart, int pieceEnd, out int consumedEnd)
    {
        if (tokens.Length <= budget)
        {
            consumedEnd = pieceEnd;
            return tokens.Length;
        }
        // The same walk as TiktokenTokenizer.EncodeToIdsResult: a token whose successor starts inside it (they share a
        // character) is taken only together with every later token that starts before its end.
        consumedEnd = pieceStart;
        int taken;
        for (taken = 0; taken < budget; taken++)
        {
            var overlapEnd = tokens[taken].End;
            if (tokens[taken + 1].Start < overlapEnd)
            {
                var j = taken + 2;
                while (j < tokens.Length && tokens[j].Start < overlapEnd) j++;
                if (j > budget) break;
                taken = j - 1;
            }
            consumedEnd = tokens[taken].End;
        }
        return taken;
    }

    /// <summary>
    /// How many trailing tokens of a piece fit in <paramref name="budget"/> (&gt; 0); <paramref name="start"/> is where the
    /// taken tokens start (<paramref name="pieceStart"/> when all fit; the piece end when none does).
    /// </summary>
    public static int TakeFromEnd(ReadOnlySpan<TokenSpan> tokens, int budget, int pieceStart, int pieceEnd, out int start)
    {
        if (tokens.Length <= budget)
        {
            start = pieceStart;
            return tokens.Length;
        }
        var index = tokens.Length - budget;
        while (index < tokens.Length && tokens[index].Start < tokens[index - 1].End) index++;
        start = index >= tokens.Length ? pieceEnd : tokens[index].Start;
        return tokens.Length - index;
    }

    /// <summary>Collects ids from the start up to a budget (EncodeToIds and CountTokens with a maximum, GetIndexByTokenCount).</summary>
    public struct FromStart : IPieceTokensSink
    {
        public int Budget;
        public int Count;
        public int CharsConsumed;
        public List<int>? Ids;

        public bool OnPiece(int pieceStart, int pieceEnd, ReadOnlySpan<TokenSpan> tokens)
        {
            var taken = TakeFromStart(tokens, Budget - Count, pieceStart, pieceEnd, out var consumedEnd);
            if (Ids is not null)
                for (var i = 0; i < taken; i++) Ids.Add(tokens[i].Id);
            Count += taken;
            CharsConsumed = consumedEnd;
            return consumedEnd == pieceEnd && Count < Budget;
        }
    }

    /// <summary>Records every piece's tokens, for the walk from the end (GetIndexByTokenCountFromEnd).</summary>
    public struct AllPieces : IPieceTokensSink
    {
        public List<(int Start, int End, TokenSpan[] Tokens)> Pieces;

        public bool OnPiece(int pieceStart, int pieceEnd, ReadOnlySpan<TokenSpan> tokens)
        {
            Pieces.Add((pieceStart, pieceEnd, tokens.ToArray()));
            return true;
        }

        /// <summary>TiktokenTokenizer's LastIndexOf over the recorded pieces: the index where the kept suffix starts.</summary>
        public readonly int IndexFromEnd(int budget, out int tokenCount)
        {
            tokenCount = 0;
            for (var p = Pieces.Count - 1; p >= 0; p--)
            {
                var (start, end, tokens) = Pieces[p];
                tokenCount += TakeFromEnd(tokens, budget - tokenCount, start, end, out var index);
                if (index > start || tokenCount >= budget) return index;
            }
            return 0;
        }
    }
}
