// FsCheck property: a single flipped bit anywhere in a saved model .zip loads and generates identically, or throws; never a crash, hang or silent change.
using System.Text.Json;

namespace MLNetGpt.Tests;

[TestClass]
public sealed class BitFlipPropertyTests
{
    private const int Cases = 60;
    private static readonly string[] Prompts = ["ROMEO:", "", "First Citizen:\n"];

    [TestMethod]
    public void ASingleFlippedBitGivesIdenticalGenerationsOrAnException()
    {
        var (ml, model) = TinyModels.Gpt;
        using var dir = new TempDirectory();
        string modelPath = Path.Combine(dir.Path, "model.zip");
        ml.Model.Save(model, TinyModels.Corpus(ml, 10).Schema, modelPath);
        string promptsPath = Path.Combine(dir.Path, "prompts.json"), expectedPath = Path.Combine(dir.Path, "expected.json");
        string outputPath = Path.Combine(dir.Path, "bit-flips.json");
        File.WriteAllText(promptsPath, JsonSerializer.Serialize(Prompts));
        File.WriteAllText(expectedPath, JsonSerializer.Serialize(TinyModels.Generate(ml, model, Prompts)));

        // In a child process: a crash (or a hang, which the child runner bounds) shows as a missing report there.
        var report = ChildProcess.Run(["bit-flips", modelPath, promptsPath, expectedPath, outputPath, Cases.ToString(System.Globalization.CultureInfo.InvariantCulture)], outputPath);
        Console.WriteLine(report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

        Assert.IsNull(report["failure"], $"a flipped bit changed the output without an exception: {report["failure"]}; bits {report["different"]}");
        int tried = report["tried"]!.GetValue<int>(), identical = report["identical"]!.GetValue<int>();
        int thrown = report["exceptions"]!.AsObject().Sum(p => p.Value!.GetValue<int>());
        Assert.AreEqual(Cases, tried, "every case ran (none shrank: shrinking only follows a failure)");
        Assert.AreEqual(tried, identical + thrown);
        // Most of the archive is compressed weights: most flips must be caught, so the property is not passing vacuously.
        Assert.IsTrue(thrown >= Cases / 2, $"only {thrown} of {Cases} flips were rejected");
    }
}
