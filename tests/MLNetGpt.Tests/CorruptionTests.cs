// Damaged model .zip files: every corrupted, truncated, missing, oversized or newer side entry fails Model.Load with a message naming it.
using Microsoft.ML;

namespace MLNetGpt.Tests;

[TestClass]
public sealed class CorruptionTests
{
    private const string Tokenizer = "TransformerChain/Transform_000";
    private const string Generator = "TransformerChain/Transform_001";
    private static readonly string[] Prompts = ["ROMEO:", "", "MENENIUS a"];

    private static TempDirectory _dir = null!;
    private static string _model = null!;

    [ClassInitialize]
    public static void SaveModel(TestContext _)
    {
        _dir = new TempDirectory();
        _model = Path.Combine(_dir.Path, "model.zip");
        var (ml, model) = TinyModels.Gpt;
        ml.Model.Save(model, TinyModels.Corpus(ml, 10).Schema, _model);
    }

    [ClassCleanup]
    public static void Cleanup() => _dir.Dispose();

    private static string Copy(string name) => Path.Combine(_dir.Path, name + ".zip");

    /// <summary>
    /// Both ways of loading fail: ML.NET's Model.Load with a wrapper whose innermost exception is an InvalidDataException
    /// containing <paramref name="expected"/>, and TextGenerationModel.Load with that same exception, unwrapped.
    /// </summary>
    private static string AssertRejected(string path, string expected)
    {
        var wrapped = Assert.Throws<Exception>(() => new MLContext(1).Model.Load(path, out _));
        var cause = TextGenerationModel.Unwrap(wrapped);
        Assert.IsInstanceOfType<InvalidDataException>(cause, cause.ToString());
        Assert.Contains(expected, cause.Message);
        var direct = Assert.ThrowsExactly<InvalidDataException>(() => TextGenerationModel.Load(new MLContext(1), path, out _));
        Assert.AreEqual(cause.Message, direct.Message);
        return cause.Message;
    }

    [TestMethod]
    public void ARewrittenButUnchangedArchiveLoadsAndGeneratesTheSame()
    {
        // The control for every test below: rewriting the entries through System.IO.Compression is harmless by itself.
        string copy = ModelZip.Rewrite(_model, Copy("unchanged"), entries => entries);
        var (ml, model) = TinyModels.Gpt;
        var loaded = TextGenerationModel.Load(new MLContext(2), copy, out var schema);
        Assert.AreEqual("Text", schema[0].Name);
        CollectionAssert.AreEqual(TinyModels.Generate(ml, model, Prompts), TinyModels.Generate(ml, loaded, Prompts));
    }

    [TestMethod]
    [DataRow(0)]
    [DataRow(1)]
    [DataRow(2)]
    public void AFlippedBitInTheWeightsIsRejectedNamingTheEntry(int where)
    {
        string entry = Generator + "/weights.safetensors";
        int length = ModelZip.Entry(_model, entry).Length;
        // The safetensors header, the middle of the tensors, the last byte.
        int index = new[] { 3, length / 2, length - 1 }[where];
        string copy = ModelZip.ReplaceEntry(_model, Copy("weights-bit"), entry, b => ModelZip.FlipBit(b, index, where + 2));
        string message = AssertRejected(copy, $"entry '{entry}' is damaged: its SHA-256 does not match the manifest");
        Assert.Contains($"'{Generator}/Model.key'", message);
    }

    [TestMethod]
    [DataRow(Tokenizer)]
    [DataRow(Generator)]
    public void AFlippedBitInATokenizerIsRejectedNamingTheEntry(string step)
    {
        string entry = step + "/tokenizer.txt";
        int length = ModelZip.Entry(_model, entry).Length;
        string copy = ModelZip.ReplaceEntry(_model, Copy("tokenizer-bit"), entry, b => ModelZip.FlipBit(b, length / 2, 1));
        AssertRejected(copy, $"entry '{entry}' is damaged: its SHA-256 does not match the manifest");
    }

    [TestMethod]
    [DataRow(Tokenizer)]
    [DataRow(Generator)]
    public void AFlippedBitInsideAManifestIsRejected(string step)
    {
        string entry = step + "/Model.key";
        var key = ModelZip.Entry(_model, entry);
        // A byte inside the JSON: the manifest is still the same length, so only its SHA-256 can tell.
        string copy = ModelZip.ReplaceEntry(_model, Copy("manifest-bit"), entry, b => ModelZip.FlipBit(b, ModelZip.ManifestOffset + 20, 0));
        Assert.IsTrue(ModelZip.ManifestLength(key) > 20, "the flipped byte lies inside the manifest");
        Assert.AreEqual(key.Length, ModelZip.Entry(copy, entry).Length);
        AssertRejected(copy, $"'{entry}' is damaged: the SHA-256 of its manifest does not match");
    }

    [TestMethod]
    [DataRow("weights.safetensors")]
    [DataRow("tokenizer.txt")]
    public void ATruncatedSideEntryIsRejectedWithBothLengths(string name)
    {
        string entry = Generator + "/" + name;
        int length = ModelZip.Entry(_model, entry).Length;
        string copy = ModelZip.ReplaceEntry(_model, Copy("truncated"), entry, b => b[..(length / 2)]);
        AssertRejected(copy, $"entry '{entry}' holds {length / 2} bytes, but the manifest says {length}");
    }

    [TestMethod]
    public void AnEntryLongerThanItsManifestSaysIsRejected()
    {
        string entry = Generator + "/weights.safetensors";
        int length = ModelZip.Entry(_model, entry).Length;
        string copy = ModelZip.ReplaceEntry(_model, Copy("longer"), entry, b => [.. b, 0, 0, 0]);
        AssertRejected(copy, $"entry '{entry}' holds {length + 3} bytes, but the manifest says {length}");
    }

    [TestMethod]
    public void ATruncatedManifestIsRejected()
    {
        string entry = Generator + "/Model.key";
        var key = ModelZip.Entry(_model, entry);
        int manifestLength = ModelZip.ManifestLength(key);
        // Cut the body inside the manifest and keep ML.NET's header consistent, so our reader meets the short body.
        var body = key.AsSpan(0x100, sizeof(int) + manifestLength / 2).ToArray();
        string copy = ModelZip.ReplaceEntry(_model, Copy("short-manifest"), entry, b => ModelZip.ReplaceBody(b, body));
        AssertRejected(copy, $"'{entry}' is truncated inside its manifest");
    }

    [TestMethod]
    [DataRow("weights.safetensors")]
    [DataRow("tokenizer.txt")]
    public void SameLengthGarbageIsRejected(string name)
    {
        string entry = Generator + "/" + name;
        var random = new Random(20261130);
        string copy = ModelZip.ReplaceEntry(_model, Copy("garbage"), entry, b =>
        {
            var garbage = new byte[b.Length];
            random.NextBytes(garbage);
            return garbage;
        });
        Assert.AreEqual(ModelZip.Entry(_model, entry).Length, ModelZip.Entry(copy, entry).Length);
        AssertRejected(copy, $"entry '{entry}' is damaged: its SHA-256 does not match the manifest");
    }

    [TestMethod]
    [DataRow(Generator + "/weights.safetensors")]
    [DataRow(Generator + "/tokenizer.txt")]
    [DataRow(Tokenizer + "/tokenizer.txt")]
    public void AMissingEntryIsRejectedNamingIt(string entry)
    {
        string copy = ModelZip.RemoveEntry(_model, Copy("missing"), entry);
        AssertRejected(copy, $"entry '{entry}' is missing from the archive");
    }

    [TestMethod]
    public void AnEntryTheManifestDoesNotListIsRejected()
    {
        string entry = Generator + "/Model.key";
        string copy = ModelZip.ReplaceEntry(_model, Copy("unlisted"), entry,
            b => ModelZip.EditManifest(b, m => m["entries"]!.AsObject().Remove("weights.safetensors")));
        AssertRejected(copy, "its manifest lists no entry 'weights.safetensors'");
    }

    [TestMethod]
    public void AManifestClaimingAHugeLengthIsRejectedBeforeReading()
    {
        const long Huge = 1L << 40; // a terabyte: rejected from the manifest alone, as nothing of that size could be read
        string entry = Generator + "/Model.key";
        string copy = ModelZip.ReplaceEntry(_model, Copy("huge"), entry,
            b => ModelZip.EditManifest(b, m => m["entries"]!["weights.safetensors"]!["length"] = Huge));
        string message = AssertRejected(copy, $"entry 'weights.safetensors' is {Huge} bytes by the manifest, but at most");
        // The bound is what the saved configuration implies (4 bytes a parameter plus 1 MiB of header room), far below.
        long parameters = TinyModels.Generator.ParameterCount;
        Assert.Contains($"at most {4 * parameters + (1 << 20)} bytes fit this step's configuration", message);
    }

    [TestMethod]
    public void AnOversizedEntryWithAConsistentManifestIsRejectedByTheBound()
    {
        // 8 MiB of zeros (compressed: a few KB) that the manifest lists truthfully: only the configuration's bound stops it.
        string weights = Generator + "/weights.safetensors", key = Generator + "/Model.key";
        var big = new byte[8 << 20];
        string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(big));
        string copy = ModelZip.Rewrite(_model, Copy("oversized"), entries => entries.Select(e => ModelZip.Normalize(e.Name) switch
        {
            var n when n == weights => (e.Name, big),
            var n when n == key => (e.Name, ModelZip.EditManifest(e.Bytes, m =>
            {
                m["entries"]!["weights.safetensors"]!["length"] = big.Length;
                m["entries"]!["weights.safetensors"]!["sha256"] = hash;
            })),
            _ => e,
        }).ToList());
        AssertRejected(copy, $"entry 'weights.safetensors' is {big.Length} bytes by the manifest, but at most");
    }

    [TestMethod]
    public void ABombIsRejectedUnderAMemoryCapWithoutBeingInflated()
    {
        // 1 GiB of zeros, deflated to about 1 MB, listed truthfully (length and SHA-256) in a re-hashed manifest: loading in a
        // child process whose GC heap is capped at 128 MiB must fail with the bound's message, not run out of memory.
        string weights = Generator + "/weights.safetensors", key = Generator + "/Model.key";
        const long size = 1L << 30;
        var zeros = new byte[1 << 20];
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        for (long done = 0; done < size; done += zeros.Length) sha.AppendData(zeros);
        string hash = Convert.ToHexStringLower(sha.GetHashAndReset());
        string bomb = Copy("bomb");
        using (var source = System.IO.Compression.ZipFile.OpenRead(_model))
        using (var target = System.IO.Compression.ZipFile.Open(bomb, System.IO.Compression.ZipArchiveMode.Create))
        {
            foreach (var e in source.Entries)
            {
                string name = ModelZip.Normalize(e.FullName);
                using var output = target.CreateEntry(e.FullName, System.IO.Compression.CompressionLevel.Fastest).Open();
                if (name == weights)
                {
                    for (long done = 0; done < size; done += zeros.Length) output.Write(zeros);
                    continue;
                }
                using var input = e.Open();
                using var copy = new MemoryStream();
                input.CopyTo(copy);
                byte[] bytes = name == key
                    ? ModelZip.EditManifest(copy.ToArray(), m =>
                    {
                        m["entries"]!["weights.safetensors"]!["length"] = size;
                        m["entries"]!["weights.safetensors"]!["sha256"] = hash;
                    })
                    : copy.ToArray();
                output.Write(bytes);
            }
        }
        Assert.IsLessThan(16L << 20, new FileInfo(bomb).Length, "the bomb is small on disk");
        var report = ChildProcess.LoadAndGenerate(bomb, ["ROMEO:"], new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x8000000" });
        string error = report["error"]?.GetValue<string>() ?? "";
        StringAssert.Contains(error, $"is {size} bytes by the manifest, but at most");
    }

    [TestMethod]
    [DataRow(Tokenizer, "mlnetgpt-tokenizer-step")]
    [DataRow(Generator, "mlnetgpt-text-generation-step")]
    public void AModelFromANewerMLNetGptAsksToUpdate(string step, string format)
    {
        string entry = step + "/Model.key";
        Assert.AreEqual((0x00010001u, 0x00010001u), ModelZip.FormatVersions(ModelZip.Entry(_model, entry)), "this build writes format 1");
        string copy = ModelZip.ReplaceEntry(_model, Copy("newer"), entry, b => ModelZip.SetFormatVersion(b, 2));
        string message = AssertRejected(copy, $"'{entry}' was written in {format} format version 2 by a newer MLNetGpt; this MLNetGpt reads version 1.");
        Assert.Contains("Update the MLNetGpt package", message);
    }

    [TestMethod]
    public void AManifestWhoseVersionDisagreesWithTheHeaderIsRejected()
    {
        string entry = Generator + "/Model.key";
        string copy = ModelZip.ReplaceEntry(_model, Copy("version-mismatch"), entry, b => ModelZip.EditManifest(b, m => m["version"] = 3));
        AssertRejected(copy, "its manifest says format version 3, its header 1");
    }

    [TestMethod]
    public void AnInconsistentConfigurationIsRejected()
    {
        // Settings that disagree with the weights (a consistent, re-hashed manifest): the loader compares them.
        string entry = Generator + "/Model.key";
        string copy = ModelZip.ReplaceEntry(_model, Copy("config"), entry,
            b => ModelZip.EditManifest(b, m => m["settings"]!["config"]!["n_embd"] = 32));
        string message = AssertRejected(copy, $"'{entry}': its weights are of a ");
        Assert.Contains("\"n_embd\":32", message);
    }

    [TestMethod]
    public void ATruncatedArchiveFailsToLoad()
    {
        // ML.NET's zip reader owns this one; the point is that it fails instead of loading part of a model.
        byte[] bytes = File.ReadAllBytes(_model);
        foreach (int keep in new[] { 0, 100, bytes.Length / 2, bytes.Length - 10 })
        {
            string cut = Copy("cut-" + keep);
            File.WriteAllBytes(cut, bytes[..keep]);
            Assert.Throws<Exception>(() => TextGenerationModel.Load(new MLContext(1), cut, out _), $"kept {keep} of {bytes.Length} bytes");
        }
    }

    [TestMethod]
    public void NotAZipAndAMissingFileAreErrors()
    {
        string notZip = Copy("not-a-zip");
        File.WriteAllText(notZip, "hello, I am not a zip");
        Assert.Throws<Exception>(() => TextGenerationModel.Load(new MLContext(1), notZip, out _));
        Assert.ThrowsExactly<FileNotFoundException>(() => TextGenerationModel.Load(new MLContext(1), Copy("no-such-model"), out _));
    }
}
