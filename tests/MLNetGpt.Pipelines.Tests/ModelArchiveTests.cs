// The model .zip: third-party steps round trip; corrupt, truncated, traversal, oversized and mismatched archives are rejected.
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using MLNetGpt.Pipelines;

namespace MLNetGpt.Pipelines.Tests;

[TestClass]
public sealed class ModelArchiveTests
{
    private static string TempPath() => Path.Combine(Path.GetTempPath(), "mlnetgpt-model-" + Guid.NewGuid().ToString("N") + ".zip");

    private static (MLContext Ml, string Path) SavedModel()
    {
        var ml = new MLContext(7);
        ml.ComponentCatalog.RegisterLoader(SuffixTransformer.LoaderName, SuffixTransformer.Load);
        var model = new TransformerChain<ITransformer>(new SuffixTransformer("Text", " [end]"));
        var model2 = model.Append(ml.Transforms.CopyColumns("Copy", "Text").Fit(ml.Data.LoadText("")));
        string path = TempPath();
        ml.Model.Save(model2, ml.Data.LoadText("").Schema, path);
        return (ml, path);
    }

    [TestMethod]
    public void ThirdPartyTransformerRoundTripsWithItsFilesAndSchema()
    {
        var (ml, path) = SavedModel();
        var loaded = ml.Model.Load(path, out var schema);
        Assert.AreEqual("'Text' (Text)", schema.ToString());
        Assert.AreEqual(2, loaded.Count);
        var output = loaded.Transform(ml.Data.LoadText("to be"));
        Assert.AreEqual("TO BE [end]", output.GetColumn<string>("Copy").Single());
        var info = ml.Model.Inspect(path);
        Assert.AreEqual(SuffixTransformer.LoaderName, info.Steps[0].Loader);
        Assert.AreEqual("steps/00/suffix.txt", info.Steps[0].Entries.Single().Name);
        Assert.AreEqual(6L, info.Steps[0].Entries.Single().Size);
        File.Delete(path);
    }

    [TestMethod]
    public void UnregisteredLoaderIsAClearError()
    {
        var (_, path) = SavedModel();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => new MLContext(1).Model.Load(path, out _));
        StringAssert.Contains(e.Message, "'Tests.Suffix', which has no registered loader");
        File.Delete(path);
    }

    [TestMethod]
    public void SaveIsAtomicAndLeavesNoTemporaryFiles()
    {
        var (ml, path) = SavedModel();
        byte[] before = File.ReadAllBytes(path);
        var broken = new TransformerChain<ITransformer>(new ThrowingTransformer());
        Assert.ThrowsExactly<IOException>(() => ml.Model.Save(broken, DataViewSchema.Empty, path));
        CollectionAssert.AreEqual(before, File.ReadAllBytes(path));
        Assert.AreEqual(0, Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + ".tmp-*").Length);
        File.Delete(path);
    }

    private sealed class ThrowingTransformer : ITransformer
    {
        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;
        public IDataView Transform(IDataView input) => input;
        public void Save(ModelSaveContext context)
        {
            context.SetLoader("x", 1);
            context.WriteText("half.bin", "partial");
            throw new IOException("disk full");
        }
    }

    /// <summary>Rewrites a saved model's zip with <paramref name="edit"/> applied to (name, bytes) entries.</summary>
    private static string Rewrite(string path, Func<List<(string Name, byte[] Bytes)>, List<(string Name, byte[] Bytes)>> edit)
    {
        var entries = new List<(string, byte[])>();
        using (var zip = ZipFile.OpenRead(path))
            foreach (var e in zip.Entries)
            {
                using var s = e.Open();
                using var ms = new MemoryStream();
                s.CopyTo(ms);
                entries.Add((e.FullName, ms.ToArray()));
            }
        string output = TempPath();
        using (var zip = ZipFile.Open(output, ZipArchiveMode.Create))
            foreach (var (name, bytes) in edit(entries))
            {
                using var s = zip.CreateEntry(name).Open();
                s.Write(bytes);
            }
        return output;
    }

    private static List<(string, byte[])> EditManifest(List<(string Name, byte[] Bytes)> entries, Action<JsonObject> edit) =>
        entries.Select(e =>
        {
            if (e.Name != "manifest.json") return e;
            var json = JsonNode.Parse(e.Bytes)!.AsObject();
            edit(json);
            return (e.Name, Encoding.UTF8.GetBytes(json.ToJsonString()));
        }).ToList();

    private static void AssertRejected(string path, string expected, ModelLoadOptions? options = null)
    {
        var ml = new MLContext(1);
        ml.ComponentCatalog.RegisterLoader(SuffixTransformer.LoaderName, SuffixTransformer.Load);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.Model.Load(path, out _, options));
        StringAssert.Contains(e.Message, expected);
        File.Delete(path);
    }

    [TestMethod]
    public void TruncatedArchiveIsRejected()
    {
        var (_, path) = SavedModel();
        byte[] bytes = File.ReadAllBytes(path);
        foreach (int keep in new[] { 0, 10, bytes.Length / 2, bytes.Length - 5 })
        {
            string cut = TempPath();
            File.WriteAllBytes(cut, bytes[..keep]);
            AssertRejected(cut, "not a valid model .zip");
        }
        File.Delete(path);
    }

    [TestMethod]
    public void CorruptedContentFailsTheHashCheck()
    {
        var (_, path) = SavedModel();
        string bad = Rewrite(path, es => es.Select(e => e.Name.EndsWith("suffix.txt") ? (e.Name, Encoding.UTF8.GetBytes(" [END]")) : e).ToList());
        AssertRejected(bad, "SHA-256");
        File.Delete(path);
    }

    [TestMethod]
    public void SizeMismatchIsRejected()
    {
        var (_, path) = SavedModel();
        string bad = Rewrite(path, es => es.Select(e => e.Name.EndsWith("suffix.txt") ? (e.Name, Encoding.UTF8.GetBytes(" [end] and more")) : e).ToList());
        AssertRejected(bad, "is 15 bytes but the manifest says 6");
        File.Delete(path);
    }

    [TestMethod]
    [DataRow("../evil.txt")]
    [DataRow("/etc/passwd")]
    [DataRow("steps/00/../../evil.txt")]
    [DataRow("C:\\evil.txt")]
    public void PathTraversalEntryIsRejected(string name)
    {
        var (_, path) = SavedModel();
        string bad = Rewrite(path, es => [.. es, (name, "x"u8.ToArray())]);
        AssertRejected(bad, "unsafe name");
        File.Delete(path);
    }

    [TestMethod]
    public void ManifestListingATraversalEntryIsRejected()
    {
        var (_, path) = SavedModel();
        string bad = Rewrite(path, es => EditManifest(es, m => m["steps"]![0]!["entries"]![0]!["name"] = "steps/00/../../x"));
        AssertRejected(bad, "unsafe name");
        File.Delete(path);
    }

    [TestMethod]
    public void OversizedEntryIsRejected()
    {
        var (_, path) = SavedModel();
        string bad = Rewrite(path, es => es.Select(e => e.Name.EndsWith("suffix.txt") ? (e.Name, new byte[100_000]) : e).ToList());
        AssertRejected(bad, "over the limit of 50000 bytes", new ModelLoadOptions { MaxEntryBytes = 50_000 });
        File.Delete(path);
    }

    [TestMethod]
    public void UnknownVersionIsRejected()
    {
        var (_, path) = SavedModel();
        AssertRejected(Rewrite(path, es => EditManifest(es, m => m["version"] = 99)), "unsupported model format version 99; this library reads version 1");
        File.Delete(path);
    }

    [TestMethod]
    public void WrongFormatNameIsRejected()
    {
        var (_, path) = SavedModel();
        AssertRejected(Rewrite(path, es => EditManifest(es, m => m["format"] = "onnx")), "format is 'onnx', expected 'mlnetgpt-model'");
        File.Delete(path);
    }

    [TestMethod]
    public void MissingEntriesAreRejected()
    {
        var (_, path) = SavedModel();
        AssertRejected(Rewrite(path, es => es.Where(e => !e.Name.EndsWith("suffix.txt")).ToList()), "missing entry 'steps/00/suffix.txt'");
        AssertRejected(Rewrite(path, es => es.Where(e => e.Name != "manifest.json").ToList()), "missing entry 'manifest.json'");
        File.Delete(path);
    }

    [TestMethod]
    public void UnlistedEntryIsRejected()
    {
        var (_, path) = SavedModel();
        AssertRejected(Rewrite(path, es => [.. es, ("steps/00/extra.bin", new byte[3])]), "'steps/00/extra.bin' is not listed in the manifest");
        File.Delete(path);
    }

    [TestMethod]
    public void GarbageManifestIsRejected()
    {
        var (_, path) = SavedModel();
        AssertRejected(Rewrite(path, es => es.Select(e => e.Name == "manifest.json" ? (e.Name, "{not json"u8.ToArray()) : e).ToList()), "not valid JSON");
        AssertRejected(Rewrite(path, es => EditManifest(es, m => m["version"] = "one")), "wrong type");
        File.Delete(path);
    }

    [TestMethod]
    public void NotAZipAndMissingFileAreClearErrors()
    {
        string path = TempPath();
        File.WriteAllText(path, "hello, I am not a zip");
        AssertRejected(path, "not a valid model .zip");
        Assert.ThrowsExactly<FileNotFoundException>(() => new MLContext(1).Model.Load(path, out _));
    }
}
