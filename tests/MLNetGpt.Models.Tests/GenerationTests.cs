// KV-cache decoding equals full recomputation; batched generation is independent of batch composition; sampling options behave.
using MLNetGpt.Models.Sampling;
using MLNetGpt.Tensors;

namespace MLNetGpt.Models.Tests;

[TestClass]
public sealed class GenerationTests
{
    private static GptModel Model(int block = 16) => GptModel.Create(TestModels.TinyGpt(block: block), TestModels.Backend, seed: 21);

    [TestMethod]
    [DataRow(SimdWidth.Vector256)] [DataRow(SimdWidth.Vector512)] [DataRow(SimdWidth.Vector128)]
    public void AModelThatOnlyGeneratesKeepsItsBlocksPackedInPlace(SimdWidth width)
    {
        if (!CpuIsa.Supports(width)) Assert.Inconclusive($"{width} is not supported here.");
        var model = GptModel.Create(TestModels.TinyGpt(block: 16), CpuBackend.Create(1, width), seed: 21);
        bool inPlace = width != SimdWidth.Vector128; // 128-bit widths keep the decoder's aligned copy (see UseBlocksPackedInPlace)
        var tokens = TestModels.RandomTokens(2 * 16, 65, 3);
        var before = new float[tokens.Length * 65];
        model.ComputeLogits(tokens, 2, 16, before);
        var original = model.Parameters.Span.ToArray();
        var greedy = new SamplingOptions { MaxNewTokens = 12, Temperature = 0f };
        var generator = TextGenerator.Create(model, 2);
        var first = generator.Generate([5, 6, 7], greedy);
        Assert.AreEqual(inPlace, model.BlocksPacked, "generation packs the block matrices in the model's arena (no second copy)");
        Assert.AreEqual(inPlace, TestModels.MaxAbsDiff(original, model.RawParameters.Span) > 0, "the arena holds another layout now");

        var packedLogits = new float[before.Length];
        model.ComputeLogits(tokens, 2, 16, packedLogits);
        Assert.AreEqual(inPlace, model.BlocksPacked, "the forward reads packed blocks as they are");
        CollectionAssert.AreEqual(before, packedLogits, "the forward over packed blocks gives the same bits");

        CollectionAssert.AreEqual(original, model.Parameters.Span.ToArray(), "Parameters gives the original layout back, bit for bit");
        Assert.IsFalse(model.BlocksPacked);
        CollectionAssert.AreEqual(first, generator.Generate([5, 6, 7], greedy), "packed again for the next generation, same tokens");
        Assert.AreEqual(inPlace, model.BlocksPacked);

        // Training unpacks; from then on a decoder keeps its own packed copy.
        model.ForwardBackward(tokens, tokens, 2, 16, 1f, 1);
        Assert.IsFalse(model.BlocksPacked);
        CollectionAssert.AreEqual(first, generator.Generate([5, 6, 7], greedy), "a trained-but-unchanged model generates the same");
        Assert.IsFalse(model.BlocksPacked, "a model with gradients is not packed in place");

        // Saved weights are the original layout, whatever the arena holds when saving.
        var fresh = GptModel.Create(TestModels.TinyGpt(block: 16), CpuBackend.Create(1, width), seed: 21);
        TextGenerator.Create(fresh, 1).Generate([1], greedy);
        Assert.AreEqual(inPlace, fresh.BlocksPacked);
        var saved = new MemoryStream();
        fresh.SaveWeights(saved);
        saved.Position = 0;
        CollectionAssert.AreEqual(original, ((GptModel)LanguageModel.Load(saved, TestModels.Backend)).Parameters.Span.ToArray());
    }

    [TestMethod]
    public void ModelsSharingAnArenaNeverPackItInPlace()
    {
        if (!CpuIsa.Supports(SimdWidth.Vector256)) Assert.Inconclusive("Packing in place needs 256-bit vectors.");
        var model = Model();
        var greedy = new SamplingOptions { MaxNewTokens = 6, Temperature = 0f };
        var alone = TextGenerator.Create(model, 1).Generate([3, 4], greedy);
        Assert.IsTrue(model.BlocksPacked);
        var sibling = (GptModel)LanguageModel.WithBackend(model, TestModels.Backend);
        Assert.IsFalse(model.BlocksPacked, "sharing the arena puts it back in the original layout");
        CollectionAssert.AreEqual(alone, TextGenerator.Create(sibling, 1).Generate([3, 4], greedy));
        CollectionAssert.AreEqual(alone, TextGenerator.Create(model, 1).Generate([3, 4], greedy));
        Assert.IsFalse(model.BlocksPacked || sibling.BlocksPacked, "and it stays so: each decoder keeps its own packed copy");
    }

    [TestMethod]
    public void BlocksThatDoNotPackToTheirSizeStayInTheirLayout()
    {
        // C = 20: c_attn's 60 outputs pack to two panels of 32 (64 rows), more than the matrix holds
        var model = GptModel.Create(TestModels.TinyGpt() with { EmbeddingSize = 20 }, TestModels.Backend, seed: 2);
        var original = model.RawParameters.Span.ToArray();
        TextGenerator.Create(model, 1).Generate([1, 2], new SamplingOptions { MaxNewTokens = 3, Temperature = 0f });
        Assert.IsFalse(model.BlocksPacked);
        CollectionAssert.AreEqual(original, model.RawParameters.Span.ToArray());
    }

    [TestMethod]
    public void KvCacheLogitsEqualFullRecomputationOverAWholeBlock()
    {
        var model = Model();
        int t = model.BlockSize, v = model.VocabularySize;
        var rows = new[] { TestModels.RandomTokens(t, v, 1), TestModels.RandomTokens(t, v, 2), TestModels.RandomTokens(t, v, 3) };
        int[] promptLengths = [1, 5, 16];
        var decoder = ((ITrainableModel)model).CreateDecoder(3);
        var cached = new float[3 * v];
        var full = new float[t * v];
        var positions = new int[3];
        var step = new int[3];
        float worst = 0;
        int checkedPositions = 0;
        // Prefill each row with its own prompt length, then decode all rows together until each has seen a whole block.
        for (int r = 0; r < 3; r++)
        {
            decoder.Prefill(r, rows[r].AsSpan(0, promptLengths[r]), cached.AsSpan(r * v, v));
            model.ComputeLogits(rows[r], 1, promptLengths[r], full.AsSpan(0, promptLengths[r] * v));
            worst = MathF.Max(worst, TestModels.MaxAbsDiff(cached.AsSpan(r * v, v), full.AsSpan((promptLengths[r] - 1) * v, v)));
            positions[r] = promptLengths[r];
        }
        var active = new bool[3];
        for (int i = 0; i < t; i++)
        {
            for (int r = 0; r < 3; r++)
            {
                // A row that has seen the whole block decodes a dummy token at position 0 of its own cache (not checked).
                active[r] = positions[r] < t;
                step[r] = active[r] ? rows[r][positions[r]] : 0;
                if (!active[r]) positions[r] = 0;
            }
            decoder.Decode(step, positions, 3, cached);
            for (int r = 0; r < 3; r++)
            {
                if (!active[r]) { positions[r] = t; continue; }
                int p = positions[r];
                model.ComputeLogits(rows[r], 1, p + 1, full.AsSpan(0, (p + 1) * v));
                worst = MathF.Max(worst, TestModels.MaxAbsDiff(cached.AsSpan(r * v, v), full.AsSpan(p * v, v)));
                checkedPositions++;
                positions[r]++;
            }
        }
        Assert.AreEqual(15 + 11 + 0, checkedPositions, "decoded positions checked");
        Assert.IsTrue(worst < 1e-4f, $"KV-cache logits differ from full recomputation by {worst}");
    }

    [TestMethod]
    public void GreedyGenerationMatchesNaiveFullRecomputationWithinTheBlock()
    {
        var model = Model();
        int v = model.VocabularySize;
        int[] prompt = [3, 14, 15];
        var generated = TextGenerator.Create(model, 1).Generate(prompt, new SamplingOptions { Temperature = 0, MaxNewTokens = 13 });
        var seq = prompt.ToList();
        var logits = new float[16 * v];
        for (int i = 0; i < 13; i++)
        {
            model.ComputeLogits(seq.ToArray(), 1, seq.Count, logits);
            var last = logits.AsSpan((seq.Count - 1) * v, v);
            int best = 0;
            for (int j = 1; j < v; j++) if (last[j] > last[best]) best = j;
            seq.Add(best);
        }
        CollectionAssert.AreEqual(seq.Skip(3).ToArray(), generated);
    }

    [TestMethod]
    public void GreedyGenerationPastTheBlockFollowsTheDocumentedWindowPolicy()
    {
        // TextGenerator's policy, recomputed naively: the model sees a window that grows by one token per step; at check
        // points every BlockSize/4 generated tokens, if the window would reach BlockSize within the next BlockSize/4 tokens
        // (or at once if it is full), it restarts from the last BlockSize/2 tokens of the history.
        var model = Model();
        int v = model.VocabularySize, block = model.BlockSize, keep = block / 2, stride = block / 4;
        int[] prompt = [3, 14, 15, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9];
        const int n = 50;
        var generated = TextGenerator.Create(model, 1).Generate(prompt, new SamplingOptions { Temperature = 0, MaxNewTokens = n });
        var history = prompt.ToList();
        var window = prompt.ToList();
        var logits = new float[block * v];
        int refills = 0;
        for (int g = 1; g <= n; g++)
        {
            model.ComputeLogits(window.ToArray(), 1, window.Count, logits);
            var last = logits.AsSpan((window.Count - 1) * v, v);
            int best = 0;
            for (int j = 1; j < v; j++) if (last[j] > last[best]) best = j;
            Assert.AreEqual(best, generated[g - 1], $"token {g}");
            history.Add(best);
            if (window.Count >= block || (g % stride == 0 && window.Count + stride > block))
            {
                window = history.Skip(history.Count - keep).ToList();
                refills++;
            }
            else window.Add(best);
        }
        Assert.IsTrue(refills >= 3, $"only {refills} refills: the test should cross the block several times");
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    public void BatchOfOneAndBatchOfFourGiveIdenticalTokens(int threads)
    {
        // Needs kernels whose rows are bitwise independent of the number of rows (and of the split across threads).
        var model = GptModel.Create(TestModels.TinyGpt(block: 16), MLNetGpt.Tensors.CpuBackend.Create(threads), seed: 21);
        var prompts = new[] { new[] { 1 }, new[] { 2, 3, 4 }, new[] { 5, 6 }, Enumerable.Range(0, 20).ToArray() };
        var options = new SamplingOptions { MaxNewTokens = 40, Temperature = 1f, TopK = 20, Seed = 99 };
        long[] ids = [10, 11, 12, 13];
        var batched = TextGenerator.Create(model, 4).Generate(prompts, options, ids);
        var single = TextGenerator.Create(model, 1);
        for (int r = 0; r < 4; r++)
            CollectionAssert.AreEqual(single.Generate(prompts[r], options, ids[r]), batched[r], $"row {r}");
        // A different batch composition (rows 3 and 1 only, in a batch of 2) gives the same rows again.
        var pair = TextGenerator.Create(model, 2).Generate([prompts[3], prompts[1]], options, [ids[3], ids[1]]);
        CollectionAssert.AreEqual(batched[3], pair[0]);
        CollectionAssert.AreEqual(batched[1], pair[1]);
        Assert.AreEqual(40, batched[3].Length, "generation goes past the block size");
    }

    [TestMethod]
    public void RowsSplitOverThreadsInUnevenSharesGiveTheSameTokens()
    {
        // 7 prompts, batches of 5 then 2, each split over 3 single-threaded decoders (shares of 2/2/1 and 1/1): every row
        // must equal the row generated alone on the model's own (3-thread) backend, including rows that stop early.
        var model = GptModel.Create(TestModels.TinyGpt(block: 16), MLNetGpt.Tensors.CpuBackend.Create(3), seed: 5);
        var prompts = Enumerable.Range(0, 7).Select(i => Enumerable.Range(1, 1 + i * 3).ToArray()).ToArray();
        var options = new SamplingOptions { MaxNewTokens = 30, Temperature = 0.9f, Seed = 3, StopTokens = [7] };
        var batched = TextGenerator.Create(model, 5).Generate(prompts, options);
        var single = TextGenerator.Create(model, 1);
        for (int r = 0; r < prompts.Length; r++)
            CollectionAssert.AreEqual(single.Generate(prompts[r], options, r), batched[r], $"row {r}");
        Assert.IsTrue(batched.Any(row => row.Length < 30), "some row should stop early at the stop token");
    }

    [TestMethod]
    public void SeedsRowIdsAndStopTokensBehave()
    {
        var model = Model();
        var gen = TextGenerator.Create(model, 2);
        var options = new SamplingOptions { MaxNewTokens = 30, Seed = 5 };
        var a = gen.Generate([1], options, 0);
        CollectionAssert.AreEqual(a, gen.Generate([1], options, 0), "same seed and row id");
        CollectionAssert.AreNotEqual(a, gen.Generate([1], options, 1), "different row id");
        CollectionAssert.AreNotEqual(a, gen.Generate([1], options with { Seed = 6 }, 0), "different seed");
        int stop = a[4];
        int firstStop = Array.IndexOf(a, stop);
        var stopped = gen.Generate([1], options with { StopTokens = [stop] }, 0);
        CollectionAssert.AreEqual(a[..(firstStop + 1)], stopped, "ends with the first stop token, included");
        Assert.AreEqual(0, gen.Generate([1], options with { MaxNewTokens = 0 }, 0).Length);
    }

    [TestMethod]
    public void TopKOfOneIsGreedyAndTinyTopPIsGreedy()
    {
        var model = Model();
        var gen = TextGenerator.Create(model, 1);
        var greedy = gen.Generate([7, 8], new SamplingOptions { MaxNewTokens = 20, Temperature = 0 });
        CollectionAssert.AreEqual(greedy, gen.Generate([7, 8], new SamplingOptions { MaxNewTokens = 20, TopK = 1, Seed = 3 }));
        CollectionAssert.AreEqual(greedy, gen.Generate([7, 8], new SamplingOptions { MaxNewTokens = 20, TopP = 1e-6f, Seed = 4 }));
    }

    [TestMethod]
    public void BigramGenerationUsesTheTableRowOfTheLastToken()
    {
        var model = BigramModel.Create(new BigramConfig { VocabularySize = 10, BlockSize = 4 }, TestModels.Backend, seed: 2);
        var table = model.Parameters.Span;
        var generated = TextGenerator.Generate(model, [[3]], new SamplingOptions { Temperature = 0, MaxNewTokens = 8 })[0];
        int last = 3;
        foreach (int tok in generated)
        {
            var row = table.Slice(last * 10, 10);
            int best = 0;
            for (int j = 1; j < 10; j++) if (row[j] > row[best]) best = j;
            Assert.AreEqual(best, tok);
            last = tok;
        }
    }

    [TestMethod]
    public void BadInputsGiveClearErrors()
    {
        var gen = TextGenerator.Create(Model(), 2);
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => gen.Generate([1], new SamplingOptions { MaxNewTokens = -1 }));
        StringAssert.Contains(ex.Message, "MaxNewTokens");
        Assert.ThrowsExactly<ArgumentException>(() => gen.Generate(Array.Empty<int>(), new SamplingOptions()));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => gen.Generate([1, 99], new SamplingOptions()));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => gen.Generate([1], new SamplingOptions { Temperature = -1 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => gen.Generate([1], new SamplingOptions { TopP = 0 }));
        Assert.ThrowsExactly<ArgumentException>(() => gen.Generate([[1], [2]], new SamplingOptions(), [1L]));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsExactly<OperationCanceledException>(() => gen.Generate([[1]], new SamplingOptions(), default, cts.Token));
    }

    [TestMethod]
    public void GeneratorUsesTheParametersOfEachCall()
    {
        // the decoder keeps packed copies of the weights; a change between calls (training, loading) must be seen
        var model = Model();
        var other = GptModel.Create(TestModels.TinyGpt(block: 16), TestModels.Backend, seed: 99);
        var generator = TextGenerator.Create(model, 2);
        var options = new SamplingOptions { MaxNewTokens = 24, Temperature = 0 };
        int[] prompt = [1, 2, 3];
        var before = generator.Generate(prompt, options);
        other.Parameters.Span.CopyTo(model.Parameters.Span);
        var after = generator.Generate(prompt, options);
        var fresh = TextGenerator.Create(model, 2).Generate(prompt, options);
        CollectionAssert.AreEqual(fresh, after, "same generator after the change vs a new one");
        CollectionAssert.AreNotEqual(before, after, "the change should alter greedy output");
    }
}
