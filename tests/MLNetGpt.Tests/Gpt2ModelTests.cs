// An imported GPT-2 as an ML.NET model: CreateModel's chain generates PyTorch's greedy tokens, saves and loads, evaluates,
// and fine-tunes through InitialModel (weights copied, configuration checked).
using Microsoft.ML;
using MLNetGpt.Models;
using MLNetGpt.Models.HuggingFace;
using MLNetGpt.Tensors;
using MLNetGpt.Testing;
using MLNetGpt.Tokenizers;

namespace MLNetGpt.Tests;

[TestClass]
public sealed class Gpt2ModelTests
{
    private static string Fixture(string name) => Gpt2Fixture.Folder(name);

    // The tiny checkpoint has 80 ids; this tokenizer gives id i to the character '!' + i, so a text spells ids exactly.
    private static readonly CharacterTokenizer Chars = CharacterTokenizer.Create(new string(Enumerable.Range(0, 80).Select(i => (char)('!' + i)).ToArray()));

    private static string Spell(IEnumerable<int> ids) => new(ids.Select(i => (char)('!' + i)).ToArray());

    private static (int[] Prompt, int[] Greedy) Reference() => (Gpt2Fixture.ReferenceIds("prompt"), Gpt2Fixture.ReferenceIds("greedy.f32"));

    private static TextGenerationOptions Greedy(int tokens) => new() { MaxNewTokens = tokens, Temperature = 0f, GenerationBatchSize = 2 };

    [TestMethod]
    public void CreateModelGeneratesPyTorchsGreedyTokensAndSurvivesSaveAndLoad()
    {
        var ml = new MLContext(seed: 1);
        var (prompt, greedy) = Reference();
        var model = ml.TextGeneration.CreateModel(Gpt2Checkpoint.Load(Fixture("f32"), CpuBackend.Create(2)), Chars, options: Greedy(greedy.Length));
        CollectionAssert.AreEqual(new[] { typeof(TextTokenizingTransformer), typeof(TextGenerationTransformer) }, model.Select(t => t.GetType()).ToArray());
        string[] prompts = [Spell(prompt), Spell(prompt[..3])];
        var generated = TinyModels.Generate(ml, model, prompts);
        Assert.AreEqual(Spell(greedy), generated[0]);

        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "gpt2-tiny.zip");
        ml.Model.Save(model, TinyModels.PromptView(ml, []).Schema, path);
        var loaded = TextGenerationModel.Load(new MLContext(seed: 2), path, out var schema);
        Assert.AreEqual("Text", schema[0].Name);
        CollectionAssert.AreEqual(generated, TinyModels.Generate(ml, loaded, prompts));
        var metrics = ml.TextGeneration.Evaluate(loaded, TinyModels.PromptView(ml, [Spell(Enumerable.Range(0, 200).Select(i => i * 7 % 80))]), batchSize: 2);
        Assert.IsTrue(double.IsFinite(metrics.Loss) && metrics.Loss > 0, $"loss {metrics.Loss}");
    }

    [TestMethod]
    public void CreateModelChecksItsArguments()
    {
        var ml = new MLContext(seed: 1);
        var model = Gpt2Checkpoint.Load(Fixture("f32"), CpuBackend.Create(1));
        var big = CharacterTokenizer.Create(new string(Enumerable.Range(0, 100).Select(i => (char)('!' + i)).ToArray()));
        var e = Assert.ThrowsExactly<ArgumentException>(() => ml.TextGeneration.CreateModel(model, big));
        StringAssert.Contains(e.Message, "100 ids but the model only 80");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.TextGeneration.CreateModel(model, Chars, options: new TextGenerationOptions { GenerationBatchSize = 0 }));
    }

    private static IDataView Corpus(MLContext ml) =>
        TinyModels.PromptView(ml, [Spell(Enumerable.Range(0, 3000).Select(i => (i * i + 3 * i) % 80))]);

    private static GptTrainer.Options FineTune(ILanguageModel initial, int steps) => new()
    {
        Model = (GptConfig)initial.Config,
        InitialModel = initial,
        MaxIterations = steps, BatchSize = 2, WarmupIterations = 0, EvalInterval = 0, EvalIterations = 1, LearningRate = 1e-3f,
        Threads = 1, Seed = 3, Generation = Greedy(8),
    };

    [TestMethod]
    public void InitialModelStartsTrainingFromItsWeightsAndLeavesThemUnchanged()
    {
        var ml = new MLContext(seed: 1);
        var initial = Gpt2Checkpoint.Load(Fixture("f32"), CpuBackend.Create(1));
        var before = initial.Parameters.Data.ToArray();
        var pipeline = ml.Transforms.Text.TokenizeIntoBpeIds("Tokens", "Text", Chars);

        // No step: the fitted model is the initial one, bit for bit (and is a copy, not the same arena).
        var unchanged = TextGenerationModel.Find(pipeline.Append(ml.TextGeneration.Trainers.Gpt(FineTune(initial, 0))).Fit(Corpus(ml))).Generator;
        var copy = (GptModel)unchanged.Model;
        Assert.AreNotSame(initial.Parameters, copy.Parameters);
        CollectionAssert.AreEqual(before, copy.Parameters.Data);

        // Three steps with dropout set by the options: the weights move, the initial model's do not.
        var tuned = TextGenerationModel.Find(pipeline.Append(ml.TextGeneration.Trainers.Gpt(FineTune(initial, 3) with { Dropout = 0.1f })).Fit(Corpus(ml))).Generator;
        Assert.AreEqual(0.1f, ((GptConfig)tuned.Config).Dropout);
        CollectionAssert.AreEqual(before, initial.Parameters.Data, "the initial model is not trained");
        Assert.IsFalse(before.AsSpan().SequenceEqual(((GptModel)tuned.Model).Parameters.Data), "training moved the weights");
        Assert.IsTrue(tuned.TrainingResult!.FinalTrainLoss < 10, $"loss {tuned.TrainingResult.FinalTrainLoss}");
    }

    [TestMethod]
    public void InitialModelOfAnotherConfigurationOrWithACheckpointIsRefused()
    {
        var ml = new MLContext(seed: 1);
        var initial = Gpt2Checkpoint.Load(Fixture("f32"), CpuBackend.Create(1));
        var pipeline = ml.Transforms.Text.TokenizeIntoBpeIds("Tokens", "Text", Chars);
        var options = FineTune(initial, 1) with { LayerCount = 3 };
        var e = Assert.ThrowsExactly<ArgumentException>(() => pipeline.Append(ml.TextGeneration.Trainers.Gpt(options)).Fit(Corpus(ml)));
        StringAssert.Contains(e.Message, "InitialModel");
        StringAssert.Contains(e.Message, "n_layer 2 vs 3");
        var both = FineTune(initial, 1) with { ResumeFromCheckpoint = Fixture("reference.safetensors") };
        var e2 = Assert.ThrowsExactly<ArgumentException>(() => pipeline.Append(ml.TextGeneration.Trainers.Gpt(both)).Fit(Corpus(ml)));
        StringAssert.Contains(e2.Message, "not both");
    }
}
