// FsCheck properties: CSV/JSONL round trips, split sizes, and that no corruption of a model .zip escapes as anything but a clear error.
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using MLNetGpt.Pipelines;

namespace MLNetGpt.Pipelines.Tests;

[TestClass]
public sealed class PropertyTests
{
    private static readonly Config Quick = Config.QuickThrowOnFailure.WithMaxTest(150).WithReplay(20261122, 5);

    /// <summary>What a string becomes after a UTF-8 round trip (lone surrogates → U+FFFD).</summary>
    private static string Utf8(string s) => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s));

    [TestMethod]
    public void CsvAndJsonLinesRoundTripAnyStrings()
    {
        var ml = new MLContext(1);
        Check.One(Quick, Prop.ForAll<string[]>(values =>
        {
            var rows = (values ?? []).Select(v => new TextRow { Text = v ?? "" }).ToList();
            var view = ml.Data.LoadFromEnumerable(rows);
            string csv = Path.GetTempFileName(), jsonl = Path.GetTempFileName();
            try
            {
                using (var s = File.Create(csv)) ml.Data.SaveAsCsv(view, s);
                using (var s = File.Create(jsonl)) ml.Data.SaveAsJsonLines(view, s);
                var expected = rows.Select(r => Utf8(r.Text)).ToArray();
                var fromCsv = ml.Data.LoadFromCsvFile(csv).GetColumn<string>("Text").ToArray();
                var fromJson = rows.Count == 0 ? [] : ml.Data.LoadFromJsonLinesFile(jsonl).GetColumn<string>("Text").ToArray();
                return expected.SequenceEqual(fromCsv) && expected.SequenceEqual(fromJson);
            }
            finally
            {
                File.Delete(csv);
                File.Delete(jsonl);
            }
        }));
    }

    [TestMethod]
    public void ContiguousSplitCutsAtTheFractionAndLosesNothing()
    {
        var ml = new MLContext(1);
        Check.One(Quick, Prop.ForAll<string, byte>((text, percent) =>
        {
            text ??= "";
            double fraction = (percent % 101) / 100.0;
            var split = ml.Data.TrainTestSplitContiguous(ml.Data.LoadText(text), fraction);
            string train = split.TrainSet.GetColumn<string>("Text").Single(), test = split.TestSet.GetColumn<string>("Text").Single();
            int cut = (int)Math.Floor(text.Length * (1 - fraction));
            bool cutOk = train.Length == cut || (train.Length == cut - 1 && char.IsLowSurrogate(text[cut]));
            return train + test == text && cutOk;
        }));
    }

    [TestMethod]
    public void RandomSplitIsAPartitionInOrder()
    {
        Check.One(Quick, Prop.ForAll<int, byte, byte>((seed, count, percent) =>
        {
            var ml = new MLContext(seed);
            var values = Enumerable.Range(0, count).Select(i => i.ToString()).ToList();
            var split = ml.Data.TrainTestSplit(ml.Data.LoadFromEnumerable(values.Select(v => new TextRow { Text = v }).ToList()), (percent % 101) / 100.0);
            var train = split.TrainSet.GetColumn<string>("Text").ToList();
            var test = split.TestSet.GetColumn<string>("Text").ToList();
            return train.Concat(test).Order(StringComparer.Ordinal).SequenceEqual(values.Order(StringComparer.Ordinal))
                && train.SequenceEqual(values.Where(train.Contains)) && test.SequenceEqual(values.Where(test.Contains));
        }));
    }

    [TestMethod]
    public void AnySingleByteCorruptionOfAModelIsRejectedOrHarmless()
    {
        var ml = new MLContext(7);
        ml.ComponentCatalog.RegisterLoader(SuffixTransformer.LoaderName, SuffixTransformer.Load);
        var model = new TransformerChain<ITransformer>(new SuffixTransformer("Text", " [end]"), ml.Transforms.CopyColumns("Copy", "Text").Fit(ml.Data.LoadText("")));
        string path = Path.Combine(Path.GetTempPath(), "mlnetgpt-fuzz-" + Guid.NewGuid().ToString("N") + ".zip");
        ml.Model.Save(model, ml.Data.LoadText("").Schema, path);
        byte[] original = File.ReadAllBytes(path);
        string corrupt = path + ".bad.zip";
        try
        {
            Check.One(Quick.WithMaxTest(400), Prop.ForAll<int, byte>((position, flip) =>
            {
                var bytes = (byte[])original.Clone();
                int at = (int)((uint)position % (uint)bytes.Length);
                bytes[at] ^= (byte)(flip == 0 ? 1 : flip);
                File.WriteAllBytes(corrupt, bytes);
                try
                {
                    var loaded = ml.Model.Load(corrupt, out _);
                    // Harmless corruption (timestamps, attributes, ...): the model must still behave identically.
                    return loaded.Transform(ml.Data.LoadText("to be")).GetColumn<string>("Copy").Single() == "TO BE [end]";
                }
                catch (InvalidDataException)
                {
                    return true;
                }
            }));
        }
        finally
        {
            File.Delete(path);
            File.Delete(corrupt);
        }
    }
}
