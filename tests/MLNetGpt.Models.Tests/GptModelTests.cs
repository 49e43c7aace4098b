// GPT behaviour: initial loss ≈ ln V, one batch overfits, GPT-2 names and counts, dropout, accumulation and allocation-free steps.
using MLNetGpt.Models.Training;
using MLNetGpt.Tensors;

namespace MLNetGpt.Models.Tests;

[TestClass]
public sealed class GptModelTests
{
    [TestMethod]
    public void InitialLossIsCloseToLogOfVocabularySize()
    {
        var model = GptModel.Create(TestModels.TinyGpt(), TestModels.Backend, seed: 7);
        var tokens = TestModels.RandomTokens(8 * 16 + 1, 65, 3);
        double loss = model.EvaluateLoss(tokens, batchSize: 4, maxBatches: 0);
        Assert.AreEqual(Math.Log(65), loss, 0.05, $"initial loss {loss}");
    }

    [TestMethod]
    public void SingleBatchOverfits()
    {
        var model = GptModel.Create(TestModels.TinyGpt(), TestModels.Backend, seed: 11);
        int b = 4, t = 16;
        var all = TestModels.RandomTokens(b * t + 1, 65, 5);
        var inputs = all[..(b * t)];
        var targets = all[1..];
        var m = Arena.Create(model.Parameters.Layout);
        var v = Arena.Create(model.Parameters.Layout);
        var options = new TrainingOptions { WeightDecay = 0f, GradientClip = 1f };
        var clip = new float[1];
        float loss = float.NaN;
        for (int step = 1; step <= 300; step++)
        {
            model.Gradients.Clear();
            loss = ((ITrainableModel)model).ForwardBackward(inputs, targets, b, t, 1f, 0);
            AdamWOptimizer.Step(model, m, v, options, 3e-3f, step, clip);
        }
        loss = ((ITrainableModel)model).ForwardLoss(inputs, targets, b, t);
        Assert.IsTrue(loss < 0.1f, $"loss after 300 steps on one batch: {loss}");
    }

    [TestMethod]
    public void ParametersUseGpt2NamesShapesAndCounts()
    {
        var config = TestModels.TinyGpt(vocab: 50, block: 10, bias: true) with { LayerCount = 1 };
        var model = GptModel.Create(config, TestModels.Backend);
        var names = model.Parameters.Layout.Slices.Select(s => s.Name + s.ShapeText).ToArray();
        CollectionAssert.AreEquivalent(new[]
        {
            "wte.weight[50,32]", "wpe.weight[10,32]",
            "h.0.ln_1.weight[32]", "h.0.ln_1.bias[32]", "h.0.attn.c_attn.weight[96,32]", "h.0.attn.c_attn.bias[96]",
            "h.0.attn.c_proj.weight[32,32]", "h.0.attn.c_proj.bias[32]", "h.0.ln_2.weight[32]", "h.0.ln_2.bias[32]",
            "h.0.mlp.c_fc.weight[128,32]", "h.0.mlp.c_fc.bias[128]", "h.0.mlp.c_proj.weight[32,128]", "h.0.mlp.c_proj.bias[32]",
            "ln_f.weight[32]", "ln_f.bias[32]",
        }, names);
        // Decaying (2-D) tensors come first, so AdamW runs as two calls.
        var decays = model.Parameters.Layout.Slices.Select(s => s.Decays).ToArray();
        Assert.AreEqual(6, decays.TakeWhile(d => d).Count(), "wte, wpe and four linear weights");
        Assert.IsTrue(decays.Skip(6).All(d => !d));
        // 50·32 + 10·32 + 2·(32+32) + (96·32+96) + (32·32+32) + (128·32+128) + (32·128+32) + (32+32)
        Assert.AreEqual(1600 + 320 + 128 + 3168 + 1056 + 4224 + 4128 + 64, model.ParameterCount);
        var untied = GptModel.Create(config with { TieWeights = false, Bias = false }, TestModels.Backend);
        Assert.IsTrue(untied.Parameters.Layout.Contains("lm_head.weight"));
        Assert.IsFalse(untied.Parameters.Layout.Contains("ln_f.bias"));
    }

    [TestMethod]
    public void InitializationFollowsGpt2()
    {
        var config = TestModels.TinyGpt() with { EmbeddingSize = 64, LayerCount = 8 };
        var model = GptModel.Create(config, TestModels.Backend, seed: 3);
        static double Std(Span<float> s) { double m = 0, q = 0; foreach (var x in s) { m += x; q += x * x; } m /= s.Length; return Math.Sqrt(q / s.Length - m * m); }
        Assert.AreEqual(0.02, Std(model.Parameters["h.0.mlp.c_fc.weight"]), 0.002);
        Assert.AreEqual(0.02 / Math.Sqrt(16), Std(model.Parameters["h.0.mlp.c_proj.weight"]), 0.0005);
        Assert.AreEqual(1f, model.Parameters["h.3.ln_2.weight"][5]);
        Assert.AreEqual(0f, model.Parameters["h.3.mlp.c_fc.bias"][5]);
    }

    [TestMethod]
    public void DropoutChangesTrainingLossDeterministicallyAndNotEvaluation()
    {
        var model = GptModel.Create(TestModels.TinyGpt(dropout: 0.3f), TestModels.Backend, seed: 2);
        var t = (ITrainableModel)model;
        var all = TestModels.RandomTokens(2 * 16 + 1, 65, 9);
        var x = all[..32];
        var y = all[1..];
        float eval1 = t.ForwardLoss(x, y, 2, 16), eval2 = t.ForwardLoss(x, y, 2, 16);
        float a = t.ForwardBackward(x, y, 2, 16, 1f, 100), b = t.ForwardBackward(x, y, 2, 16, 1f, 100), c = t.ForwardBackward(x, y, 2, 16, 1f, 101);
        Assert.AreEqual(eval1, eval2);
        Assert.AreEqual(a, b, "same dropout seed, same loss");
        Assert.AreNotEqual(a, c, "different dropout seed");
        Assert.AreNotEqual(eval1, a, "dropout active in training mode");
    }

    [TestMethod]
    public void GradientAccumulationOfHalvesEqualsTheWholeBatch()
    {
        var model = GptModel.Create(TestModels.TinyGpt(), TestModels.Backend, seed: 4);
        var t = (ITrainableModel)model;
        var all = TestModels.RandomTokens(4 * 16 + 1, 65, 1);
        var x = all[..64];
        var y = all[1..];
        model.Gradients.Clear();
        t.ForwardBackward(x, y, 4, 16, 1f, 0);
        var whole = model.Gradients.Span.ToArray();
        model.Gradients.Clear();
        t.ForwardBackward(x[..32], y[..32], 2, 16, 0.5f, 0);
        t.ForwardBackward(x[32..], y[32..], 2, 16, 0.5f, 0);
        Assert.IsTrue(TestModels.MaxAbsDiff(whole, model.Gradients.Span) < 1e-5f);
    }

    [TestMethod]
    public void TrainingStepAllocatesNothingAfterWarmup()
    {
        // Kernels that do nothing isolate the model code: forward, loss, backward, clipping and AdamW must not allocate.
        var model = GptModel.Create(TestModels.TinyGpt(dropout: 0.1f), new NullBackend(), seed: 4);
        var t = (ITrainableModel)model;
        var all = TestModels.RandomTokens(4 * 16 + 1, 65, 1);
        var x = all[..64];
        var y = all[1..];
        var m = Arena.Create(model.Parameters.Layout);
        var v = Arena.Create(model.Parameters.Layout);
        var options = new TrainingOptions();
        var clip = new float[1];
        t.ForwardBackward(x, y, 4, 16, 1f, 0);
        int step = 1;
        MLNetGpt.Tensors.Tests.AllocationProbe.AssertNoAllocation(null, "5 training steps", () =>
        {
            for (int i = 0; i < 5; i++, step++)
            {
                model.Gradients.Clear();
                t.ForwardBackward(x, y, 4, 16, 1f, (ulong)step);
                AdamWOptimizer.Step(model, m, v, options, 1e-3f, step, clip);
            }
        });
    }

    [TestMethod]
    public void EvaluationWithoutTrainingActivationsGivesTheSameBits()
    {
        // Three layers: the evaluation layout shares one layer's buffers and alternates two block inputs (0,1,0,1).
        var config = TestModels.TinyGpt() with { LayerCount = 3 };
        var tokens = TestModels.RandomTokens(3 * 16 + 1, 65, 8);
        float[] Logits(GptModel m)
        {
            var logits = new float[3 * 16 * 65];
            m.ComputeLogits(tokens, 3, 16, logits);
            return logits;
        }
        var fresh = GptModel.Create(config, TestModels.Backend, seed: 3);
        float[] shared = Logits(fresh);
        double sharedLoss = fresh.EvaluateLoss(tokens, batchSize: 3, maxBatches: 0);

        var trained = GptModel.Create(config, TestModels.Backend, seed: 3);
        ((ITrainableModel)trained).ForwardBackward(tokens[..48], tokens[1..], 3, 16, 1f, 0); // builds the full arena, used from now on
        CollectionAssert.AreEqual(shared, Logits(trained));
        Assert.AreEqual(sharedLoss, trained.EvaluateLoss(tokens, batchSize: 3, maxBatches: 0));
        Assert.IsTrue(shared.Distinct().Count() > 1000, "the logits are not degenerate");
    }

    [TestMethod]
    public void WithBackendSharesTheWeightsAndAllocatesNoGradientsUntilTraining()
    {
        var model = GptModel.Create(TestModels.TinyGpt(), TestModels.Backend, seed: 2);
        var other = (GptModel)LanguageModel.WithBackend(model, ReferenceBackend.Instance);
        Assert.AreSame(model.Parameters, other.Parameters);
        Assert.AreSame(ReferenceBackend.Instance, other.Backend);
        var tokens = TestModels.RandomTokens(16, 65, 4);
        float[] a = new float[16 * 65], b = new float[16 * 65];
        model.ComputeLogits(tokens, 1, 16, a);
        other.ComputeLogits(tokens, 1, 16, b);
        Assert.IsTrue(TestModels.MaxAbsDiff(a, b) < 1e-5f, "the same weights on other kernels");
        Assert.IsNull(typeof(GptModel).GetField("_gradients", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(model),
            "evaluating allocates no gradients");
    }

    [TestMethod]
    public void LoadingFromANonSeekableStreamGivesTheSameWeights()
    {
        var model = GptModel.Create(TestModels.TinyGpt(), TestModels.Backend, seed: 6);
        using var ms = new MemoryStream();
        model.SaveWeights(ms);
        var seekable = (GptModel)LanguageModel.Load(new MemoryStream(ms.ToArray()), TestModels.Backend);
        var streamed = (GptModel)LanguageModel.Load(new NonSeekable(ms.ToArray()), TestModels.Backend);
        CollectionAssert.AreEqual(model.Parameters.Data, seekable.Parameters.Data);
        CollectionAssert.AreEqual(model.Parameters.Data, streamed.Parameters.Data);
    }

    private sealed class NonSeekable(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [TestMethod]
    public void BadInputsGiveClearErrors()
    {
        var model = GptModel.Create(TestModels.TinyGpt(block: 8), TestModels.Backend);
        var logits = new float[20 * 65];
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.ComputeLogits(new int[10], 1, 10, logits));
        StringAssert.Contains(ex.Message, "block size 8");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.ComputeLogits([1, 70], 1, 2, logits));
        var evalEx = Assert.ThrowsExactly<ArgumentException>(() => model.EvaluateLoss(new int[5], 2, 1));
        StringAssert.Contains(evalEx.Message, "block size + 1");
        Assert.ThrowsExactly<FormatException>(() => GptConfig.FromJson("""{"kind":"gpt","n_layer":2,"n_heads":3}"""));
        Assert.ThrowsExactly<ArgumentException>(() => GptModel.Create(new GptConfig { EmbeddingSize = 30, HeadCount = 4 }));
    }

    [TestMethod]
    public void ConfigJsonRoundTrips()
    {
        var config = TestModels.TinyGpt(activation: Activation.Relu, dropout: 0.2f);
        string json = config.ToJson();
        StringAssert.Contains(json, "\"kind\":\"gpt\"");
        StringAssert.Contains(json, "\"activation\":\"relu\"");
        Assert.IsFalse(json.Contains("\"Kind\"", StringComparison.Ordinal), $"the discriminator is written once, as \"kind\": {json}");
        Assert.IsFalse(new BigramConfig().ToJson().Contains("\"Kind\"", StringComparison.Ordinal));
        Assert.AreEqual<LanguageModelConfig>(config, LanguageModelConfig.FromJson(json));
        Assert.AreEqual<LanguageModelConfig>(new BigramConfig { VocabularySize = 5 }, LanguageModelConfig.FromJson("""{"vocab_size":5,"kind":"bigram"}"""));
    }
}
