// Generations do not depend on batch size or thread count; seeds come from new MLContext(seed) unless the options fix them.
using System.Reflection;
using Microsoft.ML;

namespace MLNetGpt.Tests;

[TestClass]
public sealed class DeterminismTests
{
    private static readonly string[] Prompts = TinyModels.Prompts(40);

    [TestMethod]
    public void GenerationsDoNotDependOnTheGenerationBatchSize()
    {
        var ml = new MLContext(seed: 0);
        var options = TinyModels.Generator.Options with { MaxNewTokens = 20 };
        var baseline = TinyModels.Generate(ml, TinyModels.WithGeneration(options with { GenerationBatchSize = 1 }), Prompts);
        foreach (int batch in new[] { 4, 32 })
            CollectionAssert.AreEqual(baseline, TinyModels.Generate(ml, TinyModels.WithGeneration(options with { GenerationBatchSize = batch }), Prompts), $"batch size {batch}");
        Assert.IsTrue(baseline.All(g => g.Length == 20));
        // Rows are seeded by (seed, row): the same prompt at another row differs, and another seed differs.
        Assert.AreEqual(Prompts[0], Prompts[15]);
        Assert.AreNotEqual(baseline[0], baseline[15]);
        CollectionAssert.AreNotEqual(baseline, TinyModels.Generate(ml, TinyModels.WithGeneration(options with { Seed = 7 }), Prompts));
    }

    /// <summary>Runs <paramref name="action"/> with the kernels' serial threshold at 0, so tiny shapes take the parallel partitions too.</summary>
    private static void WithParallelKernels(Action action)
    {
        var field = typeof(MLNetGpt.Tensors.CpuBackend).Assembly.GetType("MLNetGpt.Tensors.WorkerPool")?
            .GetField("MinParallelWork", BindingFlags.NonPublic | BindingFlags.Static);
        Assert.IsNotNull(field, "MLNetGpt.Tensors.WorkerPool.MinParallelWork was renamed; update this test");
        object saved = field.GetValue(null)!;
        field.SetValue(null, 0L);
        try
        {
            action();
        }
        finally
        {
            field.SetValue(null, saved);
        }
    }

    [TestMethod]
    [DoNotParallelize] // lowers a process-wide kernel threshold for its duration
    public void TrainingAndGenerationDoNotDependOnTheThreadCount()
    {
        (byte[] Weights, List<string> Generations, double Loss) Run(int threads)
        {
            var ml = new MLContext(seed: 21);
            var model = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
                .Append(ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt(10) with
                {
                    Threads = threads,
                    Generation = new TextGenerationOptions { MaxNewTokens = 15, GenerationBatchSize = 4 },
                }))
                .Fit(TinyModels.Corpus(ml, 10_000));
            Assert.AreEqual(threads, ((MLNetGpt.Tensors.CpuBackend)model.LastTransformer.Model.Backend).ThreadCount);
            return (TinyModels.Weights(model), TinyModels.Generate(ml, model, Prompts[..12]), model.LastTransformer.TrainingResult!.LastStepLoss);
        }
        WithParallelKernels(() =>
        {
            var one = Run(1);
            var two = Run(2);
            Assert.AreEqual(one.Loss, two.Loss);
            CollectionAssert.AreEqual(one.Weights, two.Weights, "trained weights differ between 1 and 2 threads");
            CollectionAssert.AreEqual(one.Generations, two.Generations);

            // The same weights generating on 1 and 2 threads (WithDevice shares them with a model on a new backend).
            var (ml, model) = TinyModels.Gpt;
            var (generator, index, steps) = TextGenerationModel.Find(model);
            List<string> On(int threads) => TinyModels.Generate(ml, new Microsoft.ML.Data.TransformerChain<ITransformer>(steps[0], generator.WithDevice("cpu", threads)), Prompts[..12]);
            var single = On(1);
            CollectionAssert.AreEqual(single, On(2));
            CollectionAssert.AreEqual(TinyModels.Generate(ml, model, Prompts[..12]), single);
        });
    }

    private static ITransformer Fit(int contextSeed, int? seed = null, long? generationSeed = null)
    {
        var ml = new MLContext(contextSeed);
        return ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
            .Append(ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt(5) with
            {
                Seed = seed,
                Generation = new TextGenerationOptions { MaxNewTokens = 20, Seed = generationSeed },
            }))
            .Fit(TinyModels.Corpus(ml, 10_000));
    }

    private static List<string> Generations(ITransformer model) => TinyModels.Generate(new MLContext(0), model, Prompts[..6]);

    [TestMethod]
    public void SeedsComeFromTheMLContextSeed()
    {
        var a = Fit(5);
        var again = Fit(5);
        var other = Fit(6);
        CollectionAssert.AreEqual(TinyModels.Weights(a), TinyModels.Weights(again));
        CollectionAssert.AreEqual(Generations(a), Generations(again));
        CollectionAssert.AreNotEqual(TinyModels.Weights(a), TinyModels.Weights(other));
        CollectionAssert.AreNotEqual(Generations(a), Generations(other));
        // The trainer fills in the generation seed it drew, and it is saved with the model.
        long? seed = TextGenerationModel.Find(a).Generator.Options.Seed;
        Assert.IsNotNull(seed);
        Assert.AreEqual(seed, TextGenerationModel.Find(again).Generator.Options.Seed);
        Assert.AreNotEqual(seed, TextGenerationModel.Find(other).Generator.Options.Seed);
    }

    [TestMethod]
    public void OptionSeedsOverrideTheMLContextSeed()
    {
        // Options.Seed fixes initialization and batches: the same weights under any context seed.
        var a = Fit(5, seed: 42);
        var b = Fit(6, seed: 42);
        CollectionAssert.AreEqual(TinyModels.Weights(a), TinyModels.Weights(b));
        // Sampling has its own seed (Generation.Seed); left null, it still comes from the context.
        CollectionAssert.AreNotEqual(Generations(a), Generations(b));
        var c = Fit(7, seed: 42, generationSeed: 9);
        var d = Fit(8, seed: 42, generationSeed: 9);
        CollectionAssert.AreEqual(Generations(c), Generations(d));
        Assert.AreEqual(9L, TextGenerationModel.Find(c).Generator.Options.Seed);
        CollectionAssert.AreNotEqual(TinyModels.Weights(a), TinyModels.Weights(Fit(5, seed: 43)));
    }
}
