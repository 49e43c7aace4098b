// The README's C# example is samples/QuickStart/QuickStart.cs verbatim, and it runs (with a tiny number of steps).
using MLNetGpt.Testing;

namespace MLNetGpt.Tests;

[TestClass]
public sealed class ReadmeTests
{
    [TestMethod]
    public void ReadmeShowsExactlyTheQuickStartCode()
    {
        string quick = File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "samples", "QuickStart", "QuickStart.cs")).ReplaceLineEndings("\n");
        const string begin = "// README:begin\n", end = "// README:end";
        string region = quick[(quick.IndexOf(begin, StringComparison.Ordinal) + begin.Length)..quick.IndexOf(end, StringComparison.Ordinal)];
        string readme = File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "README.md")).ReplaceLineEndings("\n");
        int section = readme.IndexOf("## The C# API", StringComparison.Ordinal);
        Assert.IsGreaterThanOrEqualTo(0, section, "README has no '## The C# API' section");
        int open = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal) + "```csharp\n".Length;
        string block = readme[open..readme.IndexOf("```", open, StringComparison.Ordinal)];
        Assert.AreEqual(region, block, "README.md's C# example differs from samples/QuickStart/QuickStart.cs");
        StringAssert.Contains(block, "using Microsoft.ML;");
    }

    [TestMethod]
    public void QuickStartRunsEndToEnd()
    {
        using var dir = new TempDirectory();
        string model = Path.Combine(dir.Path, "shakespeare-gpt.zip");
        var generated = QuickStart.Run(TestData.CorpusExcerptPath, model, maxIterations: 3);
        Assert.IsTrue(File.Exists(model));
        Assert.HasCount(2, generated);
        Assert.IsTrue(generated.All(g => g.Length > 0));
    }
}
