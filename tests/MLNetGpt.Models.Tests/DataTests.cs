// Data: locating Tiny Shakespeare (path, env var, verified cache, offline and checksum errors), vocabulary, split, batches.
using System.Net;
using MLNetGpt.Models.Data;
using MLNetGpt.Testing;

namespace MLNetGpt.Models.Tests;

[TestClass]
public sealed class DataTests
{
    [TestMethod]
    public void SharedCorpusHasTheCanonicalChecksumAndVocabulary()
    {
        Assert.AreEqual(TinyShakespeare.Sha256, TestData.TinyShakespeareSha256, "the tests' copy of the constant");
        using var fs = File.OpenRead(TestData.TinyShakespearePath);
        Assert.AreEqual(TinyShakespeare.Sha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(fs)));
        var vocab = TestModels.ShakespeareVocabulary;
        Assert.AreEqual(65, vocab.Size);
        Assert.AreEqual('\n', vocab.Characters[0]);
        Assert.AreEqual(1_115_394, TestModels.ShakespeareTokens.Length);
        Assert.AreEqual("First Citizen:", vocab.Decode(TestModels.ShakespeareTokens.AsSpan(0, 14)));
        var ex = Assert.ThrowsExactly<ArgumentException>(() => vocab.Encode("café"));
        StringAssert.Contains(ex.Message, "index 3");
    }

    [TestMethod]
    public void LocatePrefersThePathThenTheEnvironmentThenAVerifiedCache()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mlnetgpt-data-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            Assert.AreEqual(TestData.TinyShakespearePath, TinyShakespeare.Locate(TestData.TinyShakespearePath, dir));
            Assert.ThrowsExactly<FileNotFoundException>(() => TinyShakespeare.Locate(Path.Combine(dir, "missing.txt"), dir));
            // A verified cache hit needs no network (the client would fail).
            File.Copy(TestData.TinyShakespearePath, Path.Combine(dir, TinyShakespeare.CacheFileName));
            if (Environment.GetEnvironmentVariable(TinyShakespeare.EnvironmentVariable) is null)
                Assert.AreEqual(Path.Combine(dir, TinyShakespeare.CacheFileName), TinyShakespeare.Locate(null, dir, Offline()));
            // A corrupted cache is refused with instructions.
            File.AppendAllText(Path.Combine(dir, TinyShakespeare.CacheFileName), "x");
            if (Environment.GetEnvironmentVariable(TinyShakespeare.EnvironmentVariable) is null)
            {
                var ex = Assert.ThrowsExactly<InvalidDataException>(() => TinyShakespeare.Locate(null, dir, Offline()));
                StringAssert.Contains(ex.Message, TinyShakespeare.EnvironmentVariable);
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void OfflineAndWrongDownloadsFailWithInstructionsAndWriteNothing()
    {
        if (Environment.GetEnvironmentVariable(TinyShakespeare.EnvironmentVariable) is not null) return; // the variable wins
        string dir = Path.Combine(Path.GetTempPath(), "mlnetgpt-data-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var offline = Assert.ThrowsExactly<IOException>(() => TinyShakespeare.Locate(null, dir, Offline()));
            StringAssert.Contains(offline.Message, "offline");
            StringAssert.Contains(offline.Message, TinyShakespeare.EnvironmentVariable);
            var wrong = Assert.ThrowsExactly<InvalidDataException>(() => TinyShakespeare.Locate(null, dir, Serving("not shakespeare")));
            StringAssert.Contains(wrong.Message, "SHA-256");
            Assert.IsFalse(File.Exists(Path.Combine(dir, TinyShakespeare.CacheFileName)));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void TheRightDownloadIsAcceptedAndCached()
    {
        if (Environment.GetEnvironmentVariable(TinyShakespeare.EnvironmentVariable) is not null) return; // the variable wins
        string text = File.ReadAllText(TestData.TinyShakespearePath);
        string dir = Path.Combine(Path.GetTempPath(), "mlnetgpt-data-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            string path = TinyShakespeare.Locate(null, dir, Serving(text));
            Assert.AreEqual(Path.Combine(dir, TinyShakespeare.CacheFileName), path);
            Assert.AreEqual(1_115_394, File.ReadAllText(path).Length);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void SplitIsContiguousNinetyTen()
    {
        var tokens = Enumerable.Range(0, 1000).ToArray();
        var (train, val) = DataSplit.TrainValidation(tokens);
        Assert.AreEqual(900, train.Length);
        Assert.AreEqual(100, val.Length);
        Assert.AreEqual(899, train[^1]);
        Assert.AreEqual(900, val[0]);
        Assert.ThrowsExactly<ArgumentException>(() => DataSplit.TrainValidation([]));
    }

    [TestMethod]
    public void BatchesAreShiftedWindowsAndSeeded()
    {
        var tokens = Enumerable.Range(0, 500).ToArray();
        var a = BatchSampler.Create(tokens, 4, 8, 9);
        var b = BatchSampler.Create(tokens, 4, 8, 9);
        var x = new int[32]; var y = new int[32]; var x2 = new int[32]; var y2 = new int[32];
        for (int i = 0; i < 10; i++)
        {
            a.Next(x, y);
            b.Next(x2, y2);
            CollectionAssert.AreEqual(x, x2);
            for (int r = 0; r < 4; r++)
                for (int t = 0; t < 8; t++)
                {
                    Assert.AreEqual(x[r * 8 + t] + 1, y[r * 8 + t]);
                    if (t > 0) Assert.AreEqual(x[r * 8 + t - 1] + 1, x[r * 8 + t]);
                }
        }
        ulong state = a.Random.State;
        a.Next(x, y);
        b.Random.State = state;
        b.Next(x2, y2);
        CollectionAssert.AreEqual(x, x2, "restored state replays the stream");
        Assert.ThrowsExactly<ArgumentException>(() => BatchSampler.Create(new int[8], 1, 8, 0));
    }

    [TestMethod]
    public void RandomIntegersAreUniformEnough()
    {
        var rng = SplitMixRandom.Create(1);
        var counts = new int[10];
        for (int i = 0; i < 100_000; i++) counts[rng.NextInt(10)]++;
        foreach (int c in counts) Assert.AreEqual(10_000, c, 400);
    }

    private static HttpClient Offline() => new(new Handler(_ => throw new HttpRequestException("network unreachable")));

    private static HttpClient Serving(string text) => new(new Handler(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(text) }));

    private sealed class Handler(Func<HttpRequestMessage, HttpResponseMessage> respond) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(respond(request));
    }
}
