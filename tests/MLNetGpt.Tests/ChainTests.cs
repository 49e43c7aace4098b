// Our steps anywhere among ML.NET's own transforms, and the cursors ML.NET asks for (CreateEnumerable, TakeRows, cursor sets).
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Text;

namespace MLNetGpt.Tests;

[TestClass]
public sealed class ChainTests
{
    public sealed class MixedRow
    {
        public string Text { get; set; } = "";

        public string Copy { get; set; } = "";

        public string[] Both { get; set; } = [];
    }

    [TestMethod]
    public void OurStepsSitAnywhereAmongMLNetsTransforms()
    {
        var ml = new MLContext(seed: 5);
        var pipeline = ml.Transforms.Text.NormalizeText("Normalized", "Text", TextNormalizingEstimator.CaseMode.Lower)
            .Append(ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Normalized"))
            .Append(ml.TextGeneration.Trainers.Gpt(TinyModels.TinyGpt(10) with { Generation = new TextGenerationOptions { MaxNewTokens = 8 } }))
            .Append(ml.Transforms.CopyColumns("Copy", "Generated"))
            .Append(ml.Transforms.Concatenate("Both", "Normalized", "Generated"))
            .Append(ml.Transforms.SelectColumns("Text", "Copy", "Both"));
        var model = pipeline.Fit(TinyModels.Corpus(ml, 10_000));

        // The tokenizer learned from the normalizer's output: no capital letters.
        var generator = TextGenerationModel.Find(model).Generator;
        Assert.IsFalse(generator.Tokenizer.Decode(Enumerable.Range(0, generator.Model.VocabularySize)).Any(char.IsUpper));

        string[] prompts = ["ROMEO:", "First Citizen:", ""];
        var output = model.Transform(TinyModels.PromptView(ml, prompts));
        CollectionAssert.AreEqual(new[] { "Text", "Copy", "Both" }, output.Schema.Select(c => c.Name).ToArray());
        var rows = ml.Data.CreateEnumerable<MixedRow>(output, reuseRowObject: false).ToList();
        Assert.HasCount(prompts.Length, rows);
        for (int r = 0; r < prompts.Length; r++)
        {
            Assert.AreEqual(prompts[r], rows[r].Text);
            Assert.AreEqual(8, rows[r].Copy.Length);
            // Row r of the generator is Generate(its normalized prompt, r).
            Assert.AreEqual(generator.Generate(prompts[r].ToLowerInvariant(), r), rows[r].Copy);
            CollectionAssert.AreEqual(new[] { prompts[r].ToLowerInvariant(), rows[r].Copy }, rows[r].Both);
        }
    }

    [TestMethod]
    public void MLNetsRowFiltersAfterTheGeneratorKeepEachRowsGeneration()
    {
        var ml = new MLContext(seed: 0);
        var model = TinyModels.WithGeneration(TinyModels.Generator.Options with { MaxNewTokens = 6, GenerationBatchSize = 4 });
        var output = model.Transform(TinyModels.PromptView(ml, TinyModels.Prompts(12)));
        var all = output.GetColumn<string>("Generated").ToList();
        CollectionAssert.AreEqual(all.Take(3).ToList(), ml.Data.TakeRows(output, 3).GetColumn<string>("Generated").ToList());
        CollectionAssert.AreEqual(all.Skip(5).ToList(), ml.Data.SkipRows(output, 5).GetColumn<string>("Generated").ToList());
    }

    private static IDataView PromptFile(MLContext ml, string path, int rows)
    {
        File.WriteAllLines(path, Enumerable.Range(0, rows).Select(i => TinyModels.Prompts(5)[i % 5].Replace("\n", " ") + new string('a', 1 + i % 7))); // no blank lines: the loader skips them
        return ml.Data.CreateTextLoader(new TextLoader.Options
        {
            Separators = ['\t'],
            Columns = [new TextLoader.Column("Text", DataKind.String, 0)],
        }).Load(path);
    }

    /// <summary>Every row of every cursor of the set, the cursors read at the same time (a cursor set may be fed by one reader).</summary>
    private static (List<string> Rows, int Cursors) ReadCursorSet(IDataView view, Func<DataViewRowCursor, Func<string>> reader, int n)
    {
        var cursors = view.GetRowCursorSet(view.Schema, n);
        var rows = new List<string>();
        var errors = new List<Exception>();
        var threads = cursors.Select(cursor => new Thread(() =>
        {
            try
            {
                using (cursor)
                {
                    var read = reader(cursor);
                    while (cursor.MoveNext())
                    {
                        string row = read();
                        lock (rows) rows.Add(row);
                    }
                }
            }
            catch (Exception e)
            {
                lock (errors) errors.Add(e);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        // A bound that only keeps a deadlocked cursor set from hanging the suite.
        foreach (var t in threads) Assert.IsTrue(t.Join(TimeSpan.FromMinutes(2)), "a cursor of the set did not finish");
        Assert.IsEmpty(errors, string.Join("\n", errors));
        return (rows, cursors.Length);
    }

    private static Func<string> TextAndGenerated(DataViewRowCursor cursor)
    {
        var text = cursor.GetGetter<ReadOnlyMemory<char>>(cursor.Schema["Text"]);
        var generated = cursor.GetGetter<ReadOnlyMemory<char>>(cursor.Schema["Generated"]);
        ReadOnlyMemory<char> t = default, g = default;
        return () =>
        {
            text(ref t);
            generated(ref g);
            return $"{t}\t{g}";
        };
    }

    private static Func<string> TextAndIds(DataViewRowCursor cursor)
    {
        var text = cursor.GetGetter<ReadOnlyMemory<char>>(cursor.Schema["Text"]);
        var ids = cursor.GetGetter<VBuffer<int>>(cursor.Schema["Tokens"]);
        ReadOnlyMemory<char> t = default;
        VBuffer<int> v = default;
        return () =>
        {
            text(ref t);
            ids(ref v);
            return $"{t}\t{string.Join(",", v.DenseValues())}";
        };
    }

    private static List<string> ReadSequentially(IDataView view, Func<DataViewRowCursor, Func<string>> reader)
    {
        using var cursor = view.GetRowCursor(view.Schema);
        var read = reader(cursor);
        var rows = new List<string>();
        while (cursor.MoveNext()) rows.Add(read());
        return rows;
    }

    [TestMethod]
    public void ACursorSetOverTheGeneratorGivesTheSameRowsAsOneCursor()
    {
        var ml = new MLContext(seed: 0);
        using var dir = new TempDirectory();
        var data = PromptFile(ml, Path.Combine(dir.Path, "prompts.tsv"), 300);
        var output = TinyModels.WithGeneration(TinyModels.Generator.Options with { MaxNewTokens = 4, GenerationBatchSize = 8 }).Transform(data);
        var sequential = ReadSequentially(output, TextAndGenerated);
        Assert.HasCount(300, sequential);
        var (rows, cursors) = ReadCursorSet(output, TextAndGenerated, 4);
        // A batched step keeps one cursor (its batches already use every core; splitting would renumber the rows).
        Assert.AreEqual(1, cursors);
        CollectionAssert.AreEqual(sequential, rows);
    }

    [TestMethod]
    public void ACursorSetOverTheTokenizerSplitsWithItsSourceAndLosesNothing()
    {
        var ml = new MLContext(seed: 0);
        using var dir = new TempDirectory();
        var data = PromptFile(ml, Path.Combine(dir.Path, "prompts.tsv"), 3_000);
        var output = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(TinyModels.Corpus(ml)).Transform(data);
        var sequential = ReadSequentially(output, TextAndIds);
        Assert.HasCount(3_000, sequential);
        var (rows, cursors) = ReadCursorSet(output, TextAndIds, 4);
        Assert.IsGreaterThan(1, cursors, "ML.NET's text loader splits, and the row-by-row tokenizer with it");
        CollectionAssert.AreEquivalent(sequential, rows);
    }

    [TestMethod]
    public void ATokenizerStepShufflesWithItsSourceAndABatchedGeneratorDoesNot()
    {
        var ml = new MLContext(seed: 0);
        var source = TinyModels.PromptView(ml, TinyModels.Prompts(10));
        var tokenizer = TextGenerationModel.Find(TinyModels.Gpt.Model).Steps[0];
        Assert.AreEqual(source.CanShuffle, tokenizer.Transform(source).CanShuffle);
        // Row r is sampled from (seed, r): a shuffled view would hand rows other streams, so the generator's view refuses.
        Assert.IsFalse(TinyModels.Gpt.Model.Transform(source).CanShuffle);
    }
}
