// The generator through ML.NET: PredictionEngine equals Transform, thread-safe Generate, stop sequences, id column, helpers, third-party views.
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetGpt.Tests;

[TestClass]
public sealed class GenerationTests
{
    private static TextGenerationOptions Options(int maxNewTokens = 12) => TinyModels.Generator.Options with { MaxNewTokens = maxNewTokens };

    [TestMethod]
    public void APredictionEngineGivesTheSameGenerationsAsTransformInTheSameOrder()
    {
        var ml = new MLContext(seed: 0);
        var model = TinyModels.WithGeneration(Options());
        var prompts = TinyModels.Prompts(12);
        var viaTransform = TinyModels.Generate(ml, model, prompts);

        // A PredictionEngine numbers its calls 0, 1, 2, ...: call r is row r of a view.
        using var engine = ml.Model.CreatePredictionEngine<PromptRow, GeneratedRow>(model);
        var viaEngine = prompts.Select(p => engine.Predict(new PromptRow { Text = p }).Generated).ToList();
        CollectionAssert.AreEqual(viaTransform, viaEngine);
        // A new engine starts again at 0.
        using var second = ml.Model.CreatePredictionEngine<PromptRow, GeneratedRow>(model);
        Assert.AreEqual(viaTransform[0], second.Predict(new PromptRow { Text = prompts[0] }).Generated);
        Assert.IsTrue(viaTransform.All(g => g.Length == 12));
    }

    [TestMethod]
    public void GenerateIsSafeFromEightThreadsAndEqualsTheSingleThreadedResults()
    {
        var generator = TextGenerationModel.Find(TinyModels.WithGeneration(Options(10))).Generator;
        var prompts = TinyModels.Prompts(16);
        var expected = prompts.Select((p, r) => generator.Generate(p, r)).ToArray();
        // Generate(prompt, r) is row r of a Transform.
        CollectionAssert.AreEqual(TinyModels.Generate(new MLContext(0), TinyModels.WithGeneration(Options(10)), prompts), expected);

        const int Threads = 8;
        var results = new string[Threads, prompts.Length];
        var errors = new List<Exception>();
        using var go = new ManualResetEventSlim();
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            try
            {
                go.Wait();
                for (int i = 0; i < prompts.Length; i++)
                {
                    int r = (i + 3 * t) % prompts.Length; // each thread in another order
                    results[t, r] = generator.Generate(prompts[r], r);
                }
            }
            catch (Exception e)
            {
                lock (errors) errors.Add(e);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        go.Set();
        // A bound that only keeps a deadlock from hanging the suite.
        foreach (var t in threads) Assert.IsTrue(t.Join(TimeSpan.FromMinutes(2)), "a generating thread did not finish");
        Assert.IsEmpty(errors, string.Join("\n", errors));
        for (int t = 0; t < Threads; t++)
            for (int r = 0; r < prompts.Length; r++)
                Assert.AreEqual(expected[r], results[t, r], $"thread {t}, row {r}");
    }

    [TestMethod]
    public void AnEmptyPromptStartsFromTheEmptyPromptText()
    {
        var generator = TinyModels.Generator;
        Assert.AreEqual("\n", generator.Options.EmptyPromptText);
        Assert.AreEqual(generator.Generate("\n", 3), generator.Generate("", 3));
        Assert.AreEqual(TinyModels.Generate(new MLContext(0), TinyModels.Gpt.Model, ["\n"])[0], TinyModels.Generate(new MLContext(0), TinyModels.Gpt.Model, [""])[0]);
    }

    [TestMethod]
    public void StopSequencesCutTheOutputBeforeTheirFirstOccurrence()
    {
        var ml = new MLContext(seed: 0);
        var prompts = TinyModels.Prompts(20);
        var free = TinyModels.Generate(ml, TinyModels.WithGeneration(Options(40)), prompts);
        foreach (var stop in new[] { "e", "the", " " })
        {
            var cut = TinyModels.Generate(ml, TinyModels.WithGeneration(Options(40) with { StopSequences = [stop] }), prompts);
            for (int r = 0; r < prompts.Length; r++)
            {
                int at = free[r].IndexOf(stop, StringComparison.Ordinal);
                // Rows sample from their own streams, so stopping one early changes nothing before the stop.
                Assert.AreEqual(at < 0 ? free[r] : free[r][..at], cut[r], $"stop '{stop}', row {r}");
            }
        }
        Assert.IsTrue(free.Count(f => f.Contains('e')) > 10, "the stop sequences occur in the free generations");
    }

    [TestMethod]
    public void GreedyDecodingDependsOnlyOnThePrompt()
    {
        var ml = new MLContext(seed: 0);
        var greedy = TinyModels.Generate(ml, TinyModels.WithGeneration(Options(12) with { Temperature = 0 }), ["ROMEO:", "To be", "ROMEO:"]);
        Assert.AreEqual(greedy[0], greedy[2]);
        Assert.AreNotEqual(greedy[0], greedy[1]);
        var reseeded = TinyModels.Generate(ml, TinyModels.WithGeneration(Options(12) with { Temperature = 0, Seed = 99 }), ["ROMEO:"]);
        Assert.AreEqual(greedy[0], reseeded[0]);
    }

    [TestMethod]
    public void TheGeneratedIdsColumnDecodesToTheGeneratedText()
    {
        var ml = new MLContext(seed: 3);
        var model = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
            .Append(ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt(5) with
            {
                OutputTokenColumnName = "GeneratedIds",
                Generation = new TextGenerationOptions { MaxNewTokens = 9 },
            }))
            .Fit(TinyModels.Corpus(ml, 5_000));
        var output = model.Transform(TinyModels.PromptView(ml, ["ROMEO:", ""]));
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Int32), output.Schema["GeneratedIds"].Type);
        var ids = output.GetColumn<int[]>("GeneratedIds").ToList();
        var texts = output.GetColumn<string>("Generated").ToList();
        var tokenizer = model.LastTransformer.Tokenizer;
        for (int r = 0; r < 2; r++)
        {
            Assert.HasCount(9, ids[r]);
            Assert.AreEqual(tokenizer.Decode(ids[r]), texts[r]);
        }
    }

    public sealed class QuestionRow
    {
        public string Question { get; set; } = "";
    }

    public sealed class QuestionAndAnswer
    {
        public string Question { get; set; } = "";

        public string Generated { get; set; } = "";
    }

    [TestMethod]
    public void TheGenerateHelperTakesAnotherPromptColumnAndOverridesOptions()
    {
        var (_, model) = TinyModels.Gpt;
        var ml = new MLContext(seed: 0);
        var questions = ml.Data.LoadFromEnumerable(new[] { new QuestionRow { Question = "ROMEO:" }, new QuestionRow { Question = "MENENIUS" } });
        var options = Options(7);
        var rows = ml.Data.CreateEnumerable<QuestionAndAnswer>(ml.TextGeneration.Generate(model, questions, "Question", options), reuseRowObject: false).ToList();
        CollectionAssert.AreEqual(new[] { "ROMEO:", "MENENIUS" }, rows.Select(r => r.Question).ToArray());
        CollectionAssert.AreEqual(TinyModels.Generate(ml, TinyModels.WithGeneration(options), ["ROMEO:", "MENENIUS"]), rows.Select(r => r.Generated).ToList());

        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.TextGeneration.Generate(model, questions, "Prompt"));
        Assert.Contains("Could not find input column 'Prompt'", e.Message);
        Assert.AreEqual("promptColumnName", e.ParamName);
        // WithGenerationOptions copies the chain: the original keeps its settings and shares the weights.
        var overridden = ml.TextGeneration.WithGenerationOptions(model, options);
        Assert.AreEqual(7, TextGenerationModel.Find(overridden).Generator.Options.MaxNewTokens);
        Assert.AreEqual(24, TinyModels.Generator.Options.MaxNewTokens);
        Assert.AreSame(TinyModels.Generator.Model, TextGenerationModel.Find(overridden).Generator.Model);
    }

    [TestMethod]
    public void FindLocatesTheGeneratorAndRejectsAModelWithout()
    {
        var (ml, model) = TinyModels.Gpt;
        var (generator, index, steps) = TextGenerationModel.Find(model);
        Assert.AreEqual(1, index);
        Assert.HasCount(2, steps);
        Assert.IsInstanceOfType<TextTokenizingTransformer>(steps[0]);
        Assert.AreSame(TinyModels.Generator, generator);
        var tokenizerOnly = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(TinyModels.Corpus(ml, 100));
        var e = Assert.ThrowsExactly<ArgumentException>(() => TextGenerationModel.Find(tokenizerOnly));
        Assert.Contains("no TextGenerationTransformer", e.Message);
    }

    /// <summary>A strict third-party view written only against the public contracts: text only as ReadOnlyMemory&lt;char&gt;, getters only for active columns.</summary>
    private sealed class StrictTextView(string column, string[] values) : IDataView
    {
        public string[] Values { get; } = values;

        public bool CanShuffle => false;

        public DataViewSchema Schema { get; } = BuildSchema(column);

        private static DataViewSchema BuildSchema(string column)
        {
            var builder = new DataViewSchema.Builder();
            builder.AddColumn(column, TextDataViewType.Instance);
            return builder.ToSchema();
        }

        public long? GetRowCount() => null;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
            new Cursor(this, columnsNeeded.Any());

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            [GetRowCursor(columnsNeeded, rand)];

        private sealed class Cursor(StrictTextView view, bool active) : DataViewRowCursor
        {
            private int _row = -1;

            public override DataViewSchema Schema => view.Schema;

            public override long Position => _row;

            public override long Batch => 0;

            public override bool IsColumnActive(DataViewSchema.Column column) => active;

            public override bool MoveNext() => ++_row < view.Values.Length;

            public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_row, 0);

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (!active) throw new InvalidOperationException("inactive");
                ValueGetter<ReadOnlyMemory<char>> getter = (ref ReadOnlyMemory<char> v) => v = view.Values[_row].AsMemory();
                return getter as ValueGetter<TValue> ?? throw new InvalidOperationException($"type {typeof(TValue).Name}");
            }
        }
    }

    [TestMethod]
    public void AThirdPartyViewFeedsTheTokenizerAndTheGenerator()
    {
        var model = TinyModels.WithGeneration(Options(6));
        string[] prompts = ["ROMEO:", "MENENIUS", ""];
        var output = model.Transform(new StrictTextView("Text", prompts));
        using var cursor = output.GetRowCursor(output.Schema);
        var tokens = cursor.GetGetter<VBuffer<int>>(output.Schema["Tokens"]);
        var generated = cursor.GetGetter<ReadOnlyMemory<char>>(output.Schema["Generated"]);
        var text = cursor.GetGetter<ReadOnlyMemory<char>>(output.Schema["Text"]);
        var tokenizer = TinyModels.Generator.Tokenizer;
        var outputs = new List<string>();
        while (cursor.MoveNext())
        {
            VBuffer<int> ids = default;
            ReadOnlyMemory<char> g = default, t = default;
            tokens(ref ids);
            generated(ref g);
            text(ref t);
            Assert.AreEqual(t.ToString(), tokenizer.Decode(ids.DenseValues()));
            outputs.Add(g.ToString());
        }
        CollectionAssert.AreEqual(TinyModels.Generate(new MLContext(0), model, prompts), outputs);
    }
}
