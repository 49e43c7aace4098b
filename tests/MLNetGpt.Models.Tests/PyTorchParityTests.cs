// Checks the GPT against reference values exported by bench/pytorch/make_fixture.py: logits, loss, every gradient, AdamW steps.
using MLNetGpt.Models.Serialization;
using MLNetGpt.Models.Training;
using MLNetGpt.Tensors;

namespace MLNetGpt.Models.Tests;

[TestClass]
public sealed class PyTorchParityTests
{
    private static (GptModel Model, SafeTensorsFile File, int[] Inputs, int[] Targets, int B, int T) Load(string name, IComputeBackend backend)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", name);
        using var fs = File.OpenRead(path);
        var file = SafeTensorsFile.Read(fs, path);
        fs.Position = 0;
        var model = (GptModel)LanguageModel.Load(fs, backend);
        var shape = file.Tensors["fixture.inputs"].Shape;
        int[] inputs = file.ReadFloats("fixture.inputs").Select(f => (int)f).ToArray();
        int[] targets = file.ReadFloats("fixture.targets").Select(f => (int)f).ToArray();
        return (model, file, inputs, targets, shape[0], shape[1]);
    }

    private static IComputeBackend Backend(string name) => name == "reference" ? ReferenceBackend.Instance : CpuBackend.Create(2);

    [TestMethod]
    [DataRow("gpt_gelu_bias_tied.safetensors", "reference")]
    [DataRow("gpt_gelu_bias_tied.safetensors", "cpu")]
    [DataRow("gpt_relu_nobias_untied.safetensors", "reference")]
    [DataRow("gpt_relu_nobias_untied.safetensors", "cpu")]
    public void LogitsLossAndGradientsMatchPyTorch(string fixture, string backend)
    {
        var (model, file, inputs, targets, b, t) = Load(fixture, Backend(backend));
        var logits = new float[b * t * model.VocabularySize];
        model.ComputeLogits(inputs, b, t, logits);
        float logitDiff = TestModels.MaxAbsDiff(logits, file.ReadFloats("expected.logits"));
        Assert.IsTrue(logitDiff < 1e-5f, $"logits differ by {logitDiff}");

        model.Gradients.Clear();
        float loss = ((ITrainableModel)model).ForwardBackward(inputs, targets, b, t, 1f, 0);
        float expectedLoss = file.ReadFloats("expected.loss")[0];
        Assert.AreEqual(expectedLoss, loss, 1e-5f, "loss");
        foreach (var s in model.Parameters.Layout.Slices)
        {
            var expected = file.ReadFloats("grad." + s.Name);
            var actual = model.Gradients[s];
            float scale = expected.Max(MathF.Abs);
            float diff = TestModels.MaxAbsDiff(actual, expected);
            Assert.IsTrue(diff <= 1e-4f * MathF.Max(scale, 1e-2f), $"gradient of {s.Name} differs by {diff} (max |g| {scale})");
        }
    }

    [TestMethod]
    [DataRow("gpt_gelu_bias_tied.safetensors")]
    [DataRow("gpt_relu_nobias_untied.safetensors")]
    public void AdamWStepsWithClippingMatchPyTorch(string fixture)
    {
        var (model, file, inputs, targets, b, t) = Load(fixture, CpuBackend.Create(2));
        var trainable = (ITrainableModel)model;
        var expected = file.ReadFloats("expected.adamw_losses");
        var options = new TrainingOptions { Beta1 = 0.9f, Beta2 = 0.99f, WeightDecay = 0.1f, GradientClip = 1f };
        var clip = new float[1];
        var m = Arena.Create(model.Parameters.Layout);
        var v = Arena.Create(model.Parameters.Layout);
        for (int step = 1; step <= expected.Length; step++)
        {
            model.Gradients.Clear();
            float loss = trainable.ForwardBackward(inputs, targets, b, t, 1f, 0);
            Assert.AreEqual(expected[step - 1], loss, 2e-4f, $"loss before step {step}");
            AdamWOptimizer.Step(trainable, m, v, options, 1e-2f, step, clip);
        }
    }
}
