// Schema errors in ML.NET's wording, raised by Fit and GetOutputSchema of the whole chain before anything trains.
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetGpt.Models.Training;
using MLNetGpt.Tokenizers;

namespace MLNetGpt.Tests;

[TestClass]
public sealed class SchemaTests
{
    public sealed class PromptOnly
    {
        public string Prompt { get; set; } = "";
    }

    public sealed class NumericText
    {
        public float Text { get; set; }
    }

    /// <summary>
    /// A trainer that would run a million steps: its progress handler counts reports and cancels at the first, so a schema
    /// check that came too late shows as a report (and a returned model) instead of a hang.
    /// </summary>
    private sealed class WouldTrainForHours : IDisposable
    {
        private readonly CancellationTokenSource _cancel = new();
        private int _reports;

        public WouldTrainForHours(Func<GptTrainer.Options, GptTrainer.Options>? change = null)
        {
            var options = TinyModels.TinyGpt(1_000_000) with
            {
                LogInterval = 1,
                CancellationToken = _cancel.Token,
                Progress = new SynchronousProgress<TrainingProgress>(_ =>
                {
                    Interlocked.Increment(ref _reports);
                    _cancel.Cancel();
                }),
            };
            Options = change is null ? options : change(options);
        }

        public GptTrainer.Options Options { get; }

        public int Reports => Volatile.Read(ref _reports);

        public void Dispose() => _cancel.Dispose();
    }

    /// <summary>The rows of a BPE tokenizer that learns 4,096 ids (seconds of work that must not start).</summary>
    private static TextTokenizingEstimator SlowTokenizer(MLContext ml, string outputColumn = "Tokens", string inputColumn = "Text") =>
        ml.Transforms.Text.TokenizeIntoBpeIds(outputColumn, inputColumn, new BpeTrainerOptions { VocabularySize = 4096 });

    [TestMethod]
    public void AMissingTextColumnFailsInFitAndInGetOutputSchemaBeforeAnyTraining()
    {
        var ml = new MLContext(seed: 1);
        var log = new LogCapture(ml);
        using var trainer = new WouldTrainForHours();
        var data = ml.Data.LoadFromEnumerable([new PromptOnly { Prompt = TinyModels.Text() }]);
        var pipeline = SlowTokenizer(ml).Append(ml.TextGeneration.Trainers.Gpt(trainer.Options));

        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pipeline.Fit(data));
        Assert.Contains("Could not find input column 'Text'", e.Message);
        Assert.Contains("Columns present: Prompt", e.Message);
        var shape = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pipeline.GetOutputSchema(Shapes.Of(data.Schema)));
        Assert.AreEqual(e.Message, shape.Message);
        Assert.AreEqual(0, trainer.Reports, "the trainer reported progress: training started");
        Assert.IsEmpty(log.FromMLNetGpt, "a step logged work: " + string.Join("; ", log.FromMLNetGpt.Select(m => m.RawMessage)));
    }

    [TestMethod]
    public void AMissingTokenColumnFailsBeforeTheTokenizerBeforeItTrains()
    {
        var ml = new MLContext(seed: 1);
        var log = new LogCapture(ml);
        using var trainer = new WouldTrainForHours(o => o with { TokenColumnName = "Ids" });
        var data = TinyModels.Corpus(ml);
        var pipeline = SlowTokenizer(ml).Append(ml.TextGeneration.Trainers.Gpt(trainer.Options));

        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pipeline.Fit(data));
        Assert.Contains("Could not find input column 'Ids'", e.Message);
        Assert.Contains("Tokens", e.Message, "the columns present include the tokenizer's output");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pipeline.GetOutputSchema(Shapes.Of(data.Schema)));
        Assert.AreEqual(0, trainer.Reports);
        Assert.IsEmpty(log.FromMLNetGpt, "the BPE tokenizer was fitted before the chain's schema was checked");
    }

    [TestMethod]
    public void ATokenColumnOfTheWrongTypeFailsWithMLNetsMismatchWording()
    {
        var ml = new MLContext(seed: 1);
        using var trainer = new WouldTrainForHours(o => o with { TokenColumnName = "Text" });
        var data = TinyModels.Corpus(ml);
        var pipeline = SlowTokenizer(ml).Append(ml.TextGeneration.Trainers.Gpt(trainer.Options));
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pipeline.Fit(data));
        Assert.Contains("Schema mismatch for input column 'Text': expected Vector<Int32>", e.Message);
        var shape = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pipeline.GetOutputSchema(Shapes.Of(data.Schema)));
        Assert.Contains("Schema mismatch for input column 'Text'", shape.Message);
        Assert.AreEqual(0, trainer.Reports);
    }

    [TestMethod]
    public void ATextColumnOfTheWrongTypeFailsInTheTokenizer()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable([new NumericText { Text = 1 }]);
        var tokenizer = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text");
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => tokenizer.Fit(data));
        Assert.Contains("Schema mismatch for input column 'Text'", e.Message);
        Assert.Contains("Single", e.Message);
        var shape = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => tokenizer.GetOutputSchema(Shapes.Of(data.Schema)));
        Assert.Contains("Schema mismatch for input column 'Text'", shape.Message);
    }

    [TestMethod]
    public void ATokenColumnThatNoTokenizerProducedIsRefusedWithAHint()
    {
        var ml = new MLContext(seed: 1);
        var ids = ml.Data.LoadFromEnumerable([new IdsRow { Tokens = Enumerable.Range(0, 100).Select(i => i % 7).ToArray() }]);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Int32), ids.Schema["Tokens"].Type, "the right type: only its origin is wrong");
        using var trainer = new WouldTrainForHours();
        var gpt = ml.TextGeneration.Trainers.Gpt(trainer.Options);
        foreach (var e in new[]
        {
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => gpt.GetOutputSchema(Shapes.Of(ids.Schema))),
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => gpt.Fit(ids)),
        })
        {
            Assert.Contains("Column 'Tokens' was not produced by a tokenizer step", e.Message);
            Assert.Contains("add mlContext.Transforms.Text.TokenizeIntoCharacterIds or TokenizeIntoBpeIds", e.Message);
        }
        Assert.AreEqual(0, trainer.Reports);
    }

    [TestMethod]
    public void AFittedChainRefusesDataWithoutItsInputColumn()
    {
        var (ml, model) = TinyModels.Gpt;
        var data = ml.Data.LoadFromEnumerable([new PromptOnly { Prompt = "ROMEO:" }]);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.Transform(data));
        Assert.Contains("Could not find input column 'Text'", e.Message);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => model.GetOutputSchema(data.Schema));
        var generator = TinyModels.Generator;
        var noTokens = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => generator.GetOutputSchema(data.Schema));
        Assert.Contains("Could not find input column 'Tokens'", noTokens.Message);
    }

    [TestMethod]
    [DataRow("HeadCount")]
    [DataRow("Device:cuda")]
    [DataRow("Device:tpu")]
    [DataRow("Resume")]
    [DataRow("Generation")]
    public void InvalidOptionsFailBeforeTraining(string what)
    {
        var ml = new MLContext(seed: 1);
        using var trainer = new WouldTrainForHours(o => what switch
        {
            "HeadCount" => o with { HeadCount = 3 }, // 16 channels do not split into 3 heads
            "Device:cuda" => o with { Device = "cuda:99" }, // no machine has a 100th GPU: unusable with or without a driver
            "Device:tpu" => o with { Device = "tpu" },
            "Resume" => o with { ResumeFromCheckpoint = Path.Combine(Path.GetTempPath(), "mlnetgpt-no-such-checkpoint.safetensors") },
            _ => o with { Generation = new TextGenerationOptions { GenerationBatchSize = 0 } },
        });
        var log = new LogCapture(ml);
        var pipeline = SlowTokenizer(ml).Append(ml.TextGeneration.Trainers.Gpt(trainer.Options));
        var e = Assert.Throws<Exception>(() => pipeline.Fit(TinyModels.Corpus(ml)));
        switch (what)
        {
            case "HeadCount":
                Assert.IsInstanceOfType<ArgumentException>(e);
                Assert.Contains("3", e.Message);
                break;
            case "Device:cuda":
                Assert.IsInstanceOfType<InvalidOperationException>(e);
                Assert.Contains("Device 'cuda:99' was asked for, but the GPU cannot be used", e.Message);
                Assert.Contains("FallbackToCpu", e.Message);
                break;
            case "Device:tpu":
                Assert.Contains("Unknown device 'tpu'; available: cpu, reference, cuda, cuda:N", e.Message);
                break;
            case "Resume":
                Assert.IsInstanceOfType<FileNotFoundException>(e);
                Assert.Contains("mlnetgpt-no-such-checkpoint.safetensors", e.Message);
                break;
            default:
                Assert.IsInstanceOfType<ArgumentOutOfRangeException>(e);
                Assert.Contains("GenerationBatchSize", e.Message);
                break;
        }
        Assert.AreEqual(0, trainer.Reports);
        Assert.IsEmpty(log.FromMLNetGpt, "the tokenizer was fitted before the options were checked");
    }

    [TestMethod]
    public void TooLittleDataForTheBlockSizeIsAClearError()
    {
        var ml = new MLContext(seed: 1);
        var pipeline = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Append(ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt(1)));
        var e = Assert.ThrowsExactly<ArgumentException>(() => pipeline.Fit(TinyModels.PromptView(ml, ["too short"])));
        Assert.Contains("9 tokens; block size 16 needs at least 17", e.Message);
    }
}
