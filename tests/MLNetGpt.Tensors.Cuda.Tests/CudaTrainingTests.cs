// A GPT trained on CudaBackend (ILGPU's CPU accelerator) against the same run on CpuBackend, and models and checkpoints
// moving between the two: weights saved from one load, evaluate, generate and resume training on the other.
using MLNetGpt.Models;
using MLNetGpt.Models.Training;

namespace MLNetGpt.Tensors.Cuda.Tests;

[TestClass]
public sealed class CudaTrainingTests
{
    // Awkward and tiny (the CPU accelerator is slow): C=20 with two heads of 10, T=11, V=37, dropout on, biases, tied head.
    private static readonly GptConfig Config = new()
    {
        VocabularySize = 37, BlockSize = 11, LayerCount = 2, HeadCount = 2, EmbeddingSize = 20, Dropout = 0.1f, Bias = true,
    };

    private static readonly TrainingOptions Recipe = new()
    {
        MaxIters = 20, BatchSize = 3, LearningRate = 1e-2f, MinLearningRate = 1e-3f, WarmupIters = 2, WeightDecay = 0.1f,
        GradientClip = 1.0f, EvalInterval = 10, EvalIters = 2, LogInterval = 1, Seed = 11,
    };

    private static readonly int[] Train = Corpus(3000, 1), Val = Corpus(400, 2);

    // A learnable sequence: mostly a fixed cycle, with noise, so the loss falls within 20 steps.
    private static int[] Corpus(int n, int seed)
    {
        var rng = new Random(seed);
        var t = new int[n];
        for (int i = 0; i < n; i++) t[i] = rng.NextDouble() < 0.8 ? (i * 7) % 37 : rng.Next(37);
        return t;
    }

    private sealed class Losses : IProgress<TrainingProgress>
    {
        public readonly List<float> Steps = [];
        public void Report(TrainingProgress value) => Steps.Add(value.TrainLoss);
    }

    private static (List<float> Losses, TrainingResult Result, GptModel Model) Run(IComputeBackend backend, int steps = 20)
    {
        var model = GptModel.Create(Config, backend, seed: 5);
        var losses = new Losses();
        var result = LanguageModelTrainer.Train(model, Train, Val, Recipe with { MaxIters = steps }, losses);
        return (losses.Steps, result, model);
    }

    [TestMethod]
    public void TwentyTrainingStepsMatchTheCpuBackend()
    {
        var cpu = Run(CpuBackend.Create(1));
        var gpu = Run(Gpu.Backend);
        Assert.AreEqual(20, cpu.Losses.Count);
        Assert.AreEqual(20, gpu.Losses.Count);
        Assert.IsTrue(cpu.Losses[^1] < cpu.Losses[0] - 0.3f, $"the run learns: {cpu.Losses[0]} → {cpu.Losses[^1]}");
        for (int i = 0; i < 20; i++)
            Assert.AreEqual(cpu.Losses[i], gpu.Losses[i], 1e-4f, $"loss at step {i + 1}");
        Assert.AreEqual(cpu.Result.FinalTrainLoss, gpu.Result.FinalTrainLoss, 1e-4, "estimated train loss");
        Assert.AreEqual(cpu.Result.FinalValLoss!.Value, gpu.Result.FinalValLoss!.Value, 1e-4, "estimated validation loss");
        // The trained weights themselves: the GPU model's host copy after CopyToHost.
        Gpu.Backend.CopyToHost(gpu.Model.Parameters.Span);
        // Looser than the losses: AdamW divides each gradient by its own running magnitude, so a gradient near zero whose last
        // bits differ (another summation order) still moves its weight by up to the learning rate (1e-2) either way.
        Tests.Gpu.AssertClose(cpu.Model.Parameters.Span, gpu.Model.Parameters.Span, 2e-3, "weights after 20 steps");
    }

    [TestMethod]
    public void ModelsMoveBetweenCpuAndGpuBackends()
    {
        var (_, _, gpuModel) = Run(Gpu.Backend, steps: 5);
        var tokens = Train.AsSpan(0, 2 * Config.BlockSize).ToArray();
        var gpuLogits = new float[tokens.Length * Config.VocabularySize];
        gpuModel.ComputeLogits(tokens, 2, Config.BlockSize, gpuLogits);

        // GPU → CPU: the saved weights are the device's (SaveWeights copies them back first).
        var saved = new MemoryStream();
        gpuModel.SaveWeights(saved);
        saved.Position = 0;
        var onCpu = LanguageModel.Load(saved, CpuBackend.Create(1));
        var cpuLogits = new float[gpuLogits.Length];
        onCpu.ComputeLogits(tokens, 2, Config.BlockSize, cpuLogits);
        Tests.Gpu.AssertClose(cpuLogits, gpuLogits, 1e-5, "logits of the GPU-trained model, on the CPU");

        // CPU → GPU: the loaded weights are copied to the device.
        saved.Position = 0;
        var backOnGpu = LanguageModel.Load(saved, Gpu.Backend);
        var gpuLogits2 = new float[gpuLogits.Length];
        backOnGpu.ComputeLogits(tokens, 2, Config.BlockSize, gpuLogits2);
        Tests.Gpu.AssertBitwise(gpuLogits, gpuLogits2, "logits after the round trip");

        // Generation (KV-cache decoding, packed weights on the device): greedy tokens equal the CPU's.
        var greedy = new Models.Sampling.SamplingOptions { MaxNewTokens = 8, Temperature = 0f };
        int[][] prompts = [[1, 8, 15], [30]];
        var onGpuText = Models.Sampling.TextGenerator.Generate(gpuModel, prompts, greedy);
        var onCpuText = Models.Sampling.TextGenerator.Generate(onCpu, prompts, greedy);
        for (int i = 0; i < prompts.Length; i++)
            CollectionAssert.AreEqual(onCpuText[i], onGpuText[i], $"greedy continuation of prompt {i}");
    }

    private sealed class TransferLog : IProgress<TrainingProgress>
    {
        public readonly List<long> Bytes = [];
        public void Report(TrainingProgress value) => Bytes.Add(Gpu.Backend.TransferredBytes);
    }

    [TestMethod]
    public void ATrainingStepKeepsItsTensorsOnTheDevice()
    {
        // Steps 3 to 6 of a run without evaluation (gradient clipping on): each may copy its token ids and targets in and its
        // losses out; never the parameters, gradients, AdamW moments, activations, or the gradient norm (the clip's factor
        // stays on the device).
        var model = GptModel.Create(Config, Gpu.Backend, seed: 5);
        var log = new TransferLog();
        LanguageModelTrainer.Train(model, Train, null, Recipe with { MaxIters = 6, EvalInterval = 0 }, log);
        Assert.AreEqual(6, log.Bytes.Count);
        long perStep = (log.Bytes[5] - log.Bytes[2]) / 3;
        int bt = Recipe.BatchSize * Config.BlockSize;
        long bound = 8L * bt * sizeof(int) + 2L * bt * sizeof(float); // ids (several uses), losses
        long parameters = (long)model.Parameters.Span.Length * sizeof(float);
        Assert.IsTrue(bound < parameters / 4, "the bound is far below any tensor of the model");
        Assert.IsTrue(perStep <= bound, $"a training step moved {perStep} bytes between host and device (bound {bound}; the parameters are {parameters})");
        Assert.IsTrue(perStep >= bt * sizeof(float), $"a step reads its losses back: {perStep} bytes");
    }

    [TestMethod]
    public void DecodingKeepsTheCacheOnTheDevice()
    {
        // The same generation run for 1 and for 9 new tokens: the 8 extra decoding steps may move the logits to the host and
        // a few ints (token positions, cache rows) to the device, not the KV cache or the activations.
        var model = GptModel.Create(Config, Gpu.Backend, seed: 5);
        var generator = Models.Sampling.TextGenerator.Create(model, maxBatchSize: 2);
        int[][] prompts = [[1, 8, 15], [30]];
        long Bytes(int newTokens)
        {
            long before = Gpu.Backend.TransferredBytes;
            generator.Generate(prompts, new Models.Sampling.SamplingOptions { MaxNewTokens = newTokens, Temperature = 0f });
            return Gpu.Backend.TransferredBytes - before;
        }
        Bytes(1); // warm: the decoder is made and attached on first use
        long perStep = (Bytes(9) - Bytes(1)) / 8;
        int b = prompts.Length, logits = b * Config.VocabularySize * sizeof(float);
        long cache = 2L * Config.LayerCount * b * Config.BlockSize * Config.EmbeddingSize * sizeof(float);
        Assert.IsTrue(perStep >= logits, $"a step moves at least the logits ({logits} bytes): {perStep}");
        Assert.IsTrue(perStep <= logits + 64 * b * Config.LayerCount, $"a decoding step moved {perStep} bytes; logits are {logits}, the cache {cache}");
    }

    [TestMethod]
    public void CheckpointsResumeAcrossBackends()
    {
        // 6 steps on the GPU, checkpoint, then 4 more on the GPU and, from the checkpoint, 4 more on the CPU.
        var model = GptModel.Create(Config, Gpu.Backend, seed: 5);
        var recipe = Recipe with { MaxIters = 10 };
        var trainer = LanguageModelTrainer.Create(model, Train, Val, recipe with { MaxIters = 6 });
        trainer.Run();
        var checkpoint = new MemoryStream();
        trainer.SaveCheckpoint(checkpoint);

        checkpoint.Position = 0;
        var onGpu = LanguageModelTrainer.Resume(checkpoint, Train, Val, Gpu.Backend, recipe);
        var gpuLosses = new Losses();
        onGpu.Run(gpuLosses);
        checkpoint.Position = 0;
        var onCpu = LanguageModelTrainer.Resume(checkpoint, Train, Val, CpuBackend.Create(1), recipe);
        var cpuLosses = new Losses();
        onCpu.Run(cpuLosses);
        Assert.AreEqual(4, gpuLosses.Steps.Count);
        for (int i = 0; i < 4; i++) Assert.AreEqual(cpuLosses.Steps[i], gpuLosses.Steps[i], 1e-4f, $"loss at step {7 + i}");
    }
}
