// Small shared helpers for the model tests: tiny configurations, random tokens, the Tiny Shakespeare corpus as ids.
using MLNetGpt.Models;
using MLNetGpt.Models.Data;
using MLNetGpt.Testing;
using MLNetGpt.Tensors;

namespace MLNetGpt.Models.Tests;

internal static class TestModels
{
    public static IComputeBackend Backend => CpuBackend.Create(1);

    public static GptConfig TinyGpt(int vocab = 65, int block = 16, bool bias = true, Activation activation = Activation.Gelu, float dropout = 0f, bool tie = true) => new()
    {
        VocabularySize = vocab, BlockSize = block, LayerCount = 2, HeadCount = 2, EmbeddingSize = 32,
        Bias = bias, Activation = activation, Dropout = dropout, TieWeights = tie,
    };

    public static int[] RandomTokens(int count, int vocab, ulong seed)
    {
        var rng = SplitMixRandom.Create(seed);
        var t = new int[count];
        for (int i = 0; i < count; i++) t[i] = rng.NextInt(vocab);
        return t;
    }

    private static readonly Lazy<(CharVocabulary Vocabulary, int[] Tokens)> Shakespeare = new(() =>
    {
        string text = File.ReadAllText(TestData.TinyShakespearePath);
        var vocab = CharVocabulary.Create(text);
        return (vocab, vocab.Encode(text));
    });

    public static CharVocabulary ShakespeareVocabulary => Shakespeare.Value.Vocabulary;

    public static int[] ShakespeareTokens => Shakespeare.Value.Tokens;

    public static float MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.AreEqual(a.Length, b.Length, "length");
        float m = 0;
        for (int i = 0; i < a.Length; i++) m = MathF.Max(m, MathF.Abs(a[i] - b[i]));
        return m;
    }
}
