// Tokenizer estimators: character and BPE ids as Vector<Int32> columns, the fitted tokenizer, pretrained files, saving.
using MLNetGpt.Pipelines;
using MLNetGpt.Testing;
using MLNetGpt.Tokenizers;
using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace MLNetGpt.Pipelines.Tests;

[TestClass]
public sealed class TokenizingTests
{
    [TestMethod]
    public void CharacterIdsAreSortedCharacterIndices()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadText("hello world");
        var model = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(data);
        // Sorted distinct characters: ' ' d e h l o r w -> ids 0..7.
        Assert.AreEqual(8, model.Tokenizer.VocabularySize);
        var ids = model.Transform(data).GetColumn<VBuffer<int>>("Tokens").Single().ToArray();
        CollectionAssert.AreEqual(new[] { 3, 2, 4, 4, 5, 0, 7, 5, 6, 4, 1 }, ids);
        Assert.AreEqual("hello world", model.Tokenizer.Decode(ids));
        var column = model.Transform(data).Schema["Tokens"];
        Assert.AreEqual("Vector<Int32>", column.Type.ToString());
        Assert.IsTrue(column.Annotations.TryGetValue<Tokenizer>(AnnotationNames.Tokenizer, out var t) && ReferenceEquals(t, model.Tokenizer));
    }

    [TestMethod]
    public void UnknownCharacterFailsUnlessMapped()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadText("abc");
        var strict = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(data);
        Assert.ThrowsExactly<ArgumentException>(() => strict.Transform(ml.Data.LoadText("abz")).GetColumn<int[]>("Tokens").ToArray());
        var lenient = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text", new CharacterTokenizerEstimatorOptions { MapUnknownCharacters = true }).Fit(data);
        Assert.AreEqual(3, lenient.Transform(ml.Data.LoadText("abz")).GetColumn<int[]>("Tokens").Single().Length);
    }

    [TestMethod]
    public void Gpt2TiktokenEncodesKnownIds()
    {
        var ml = new MLContext(1);
        var est = ml.Transforms.Text.TokenizeIntoBpeIds("Tokens", "Text", TestData.Tokenizers("gpt2.tiktoken"));
        var model = est.Fit(ml.Data.LoadText(""));
        Assert.AreEqual(50257, model.Tokenizer.VocabularySize);
        // tiktoken: enc.encode("Hello world") == [15496, 995]
        CollectionAssert.AreEqual(new[] { 15496, 995 }, model.Transform(ml.Data.LoadText("Hello world")).GetColumn<int[]>("Tokens").Single());
    }

    [TestMethod]
    public void BpeTrainingLearnsMergesThatShortenTheText()
    {
        var ml = new MLContext(1);
        string text = File.ReadAllText(TestData.TinyShakespearePath)[..20_000];
        var data = ml.Data.LoadText(text);
        var model = ml.Transforms.Text.TokenizeIntoBpeIds("Tokens", "Text", new BpeTokenizerEstimatorOptions { VocabularySize = 300 }).Fit(data);
        Assert.AreEqual(300, model.Tokenizer.VocabularySize);
        var ids = model.Transform(data).GetColumn<int[]>("Tokens").Single();
        Assert.IsTrue(ids.Length < text.Length * 0.8, $"{ids.Length} ids for {text.Length} characters");
        Assert.AreEqual(text, model.Tokenizer.Decode(ids));
    }

    [TestMethod]
    public void TokenizerStepRoundTripsThroughModelZip()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadText("To be, or not to be");
        var model = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Append(ml.Transforms.CopyColumns("Copy", "Tokens")).Fit(data);
        string path = Path.Combine(Path.GetTempPath(), "mlnetgpt-tok-" + Guid.NewGuid().ToString("N") + ".zip");
        ml.Model.Save(model, data.Schema, path);
        var loaded = ml.Model.Load(path, out var schema);
        Assert.AreEqual("'Text' (Text)", schema.ToString());
        var expected = model.Transform(data).GetColumn<int[]>("Copy").Single();
        CollectionAssert.AreEqual(expected, loaded.Transform(data).GetColumn<int[]>("Copy").Single());
        Assert.AreEqual("TokenizeIntoIds", ml.Model.Inspect(path).Steps[0].Loader);
        File.Delete(path);
    }

    [TestMethod]
    public void TokenizerNeedsATextColumn()
    {
        var ml = new MLContext(1);
        var est = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text");
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => est.Fit(ml.Data.LoadText("x", "Prompt")));
        StringAssert.Contains(e.Message, "Could not find input column 'Text'. Columns present: 'Prompt' (Text).");
    }
}
