// Hugging Face GPT-2 import and export against bench/pytorch/make_gpt2_fixture.py: logits and greedy tokens of PyTorch's
// GPT-2 forward on the same weights (F32, sharded F16, BF16), bit-exact export, and an error naming the tensor for each defect.
using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using MLNetGpt.Models.HuggingFace;
using MLNetGpt.Models.Sampling;
using MLNetGpt.Models.Serialization;
using MLNetGpt.Tensors;

namespace MLNetGpt.Models.Tests;

[TestClass]
public sealed class Gpt2CheckpointTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "gpt2-tiny", name);

    private static readonly Lazy<SafeTensorsFile> Reference = new(() =>
    {
        using var fs = File.OpenRead(Fixture("reference.safetensors"));
        return SafeTensorsFile.Read(fs, "reference.safetensors");
    });

    private static int[] Ints(string name) => Reference.Value.ReadFloats(name).Select(f => (int)f).ToArray();

    private static IComputeBackend Backend(string name) => name == "reference" ? ReferenceBackend.Instance : CpuBackend.Create(2);

    [TestMethod]
    public void ConfigJsonGivesGpt2sArchitecture()
    {
        var config = Gpt2Checkpoint.ReadConfig(Fixture("f32"));
        Assert.AreEqual(new GptConfig
        {
            LayerCount = 2, HeadCount = 4, EmbeddingSize = 32, BlockSize = 40, VocabularySize = 80,
            Bias = true, Activation = Activation.Gelu, TieWeights = true, Dropout = 0f,
        }, config);
    }

    [TestMethod]
    [DataRow("f32", "reference")]
    [DataRow("f32", "cpu")]
    [DataRow("f16-sharded", "cpu")]
    [DataRow("bf16", "cpu")]
    public void LogitsMatchPyTorchsGpt2Forward(string folder, string backend)
    {
        var model = Gpt2Checkpoint.Load(Fixture(folder), Backend(backend));
        var shape = Reference.Value.Tensors["tokens"].Shape;
        int b = shape[0], t = shape[1];
        var logits = new float[b * t * model.VocabularySize];
        model.ComputeLogits(Ints("tokens"), b, t, logits);
        var expected = Reference.Value.ReadFloats("logits." + folder.Split('-')[0]);
        float diff = TestModels.MaxAbsDiff(logits, expected);
        Assert.IsTrue(diff < 1e-4f, $"{folder}: logits differ from PyTorch's by {diff}");
        Assert.IsTrue(expected.Max(MathF.Abs) > 1f, "the reference logits are not trivially small");
    }

    [TestMethod]
    [DataRow("f32")]
    [DataRow("f16-sharded")]
    [DataRow("bf16")]
    public void GreedyKvCacheGenerationGivesPyTorchsTokens(string folder)
    {
        var model = Gpt2Checkpoint.Load(Fixture(folder), CpuBackend.Create(2));
        int[] expected = Ints("greedy." + folder.Split('-')[0]);
        var options = new SamplingOptions { MaxNewTokens = expected.Length, Temperature = 0f };
        var generated = TextGenerator.Create(model, 1).Generate(Ints("prompt"), options);
        CollectionAssert.AreEqual(expected, generated);
        Assert.IsTrue(expected.Distinct().Count() > 4, "the reference is not one repeated token");
    }

    [TestMethod]
    public void Fp16AndBf16AreTheF32WeightsRounded()
    {
        var f32 = Gpt2Checkpoint.Load(Fixture("f32"), TestModels.Backend);
        var f16 = Gpt2Checkpoint.Load(Fixture("f16-sharded"), TestModels.Backend);
        var bf16 = Gpt2Checkpoint.Load(Fixture("bf16"), TestModels.Backend);
        var a = f32.Parameters.Data;
        for (int i = 0; i < a.Length; i++)
        {
            Assert.AreEqual((float)(Half)a[i], f16.Parameters.Data[i], $"F16 element {i}");
            // bfloat16 is a float's top 16 bits, rounded to nearest even by PyTorch: within half a unit of its 8-bit mantissa.
            Assert.AreEqual(0u, BitConverter.SingleToUInt32Bits(bf16.Parameters.Data[i]) & 0xFFFF, $"BF16 element {i} has low bits");
            Assert.AreEqual(a[i], bf16.Parameters.Data[i], MathF.Abs(a[i]) / 256f + 1e-30f, $"BF16 element {i}");
        }
    }

    [TestMethod]
    public void ExportWritesHuggingFacesLayoutAndImportsBitForBit()
    {
        using var dir = new TempFolder();
        var model = Gpt2Checkpoint.Load(Fixture("f32"), TestModels.Backend);
        Gpt2Checkpoint.Save(model, dir.Path);

        // The same tensors as the PyTorch-written file, byte for byte, minus the buffers and the tied head.
        var original = ReadAll(Fixture("f32/model.safetensors"));
        var exported = ReadAll(Path.Combine(dir.Path, "model.safetensors"));
        Assert.AreEqual("pt", exported.Metadata["format"]);
        var kept = original.Tensors.Keys.Where(k => !k.EndsWith(".attn.bias", StringComparison.Ordinal)
            && !k.EndsWith(".attn.masked_bias", StringComparison.Ordinal) && k != "lm_head.weight").Order().ToList();
        CollectionAssert.AreEqual(kept, exported.Tensors.Keys.Order().ToList());
        foreach (var name in kept)
        {
            var (o, e) = (original.Tensors[name], exported.Tensors[name]);
            CollectionAssert.AreEqual(o.Shape, e.Shape, name);
            Assert.AreEqual("F32", e.DType, name);
            Assert.IsTrue(original.Data.AsSpan((int)o.Begin, (int)(o.End - o.Begin)).SequenceEqual(exported.Data.AsSpan((int)e.Begin, (int)(e.End - e.Begin))), name);
        }
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "config.json")))!;
        Assert.AreEqual("gelu_new", (string?)config["activation_function"]);
        Assert.AreEqual(40, (int)config["n_positions"]!);

        var back = Gpt2Checkpoint.Load(dir.Path, TestModels.Backend);
        Assert.AreEqual(model.GptConfig, back.GptConfig);
        CollectionAssert.AreEqual(model.Parameters.Data, back.Parameters.Data);
    }

    [TestMethod]
    public void UntiedBiasFreeReluModelsRoundTrip()
    {
        using var dir = new TempFolder();
        var model = GptModel.Create(TestModels.TinyGpt(vocab: 30, block: 8, bias: false, activation: Activation.Relu, tie: false), TestModels.Backend, seed: 5);
        Gpt2Checkpoint.Save(model, dir.Path);
        var back = Gpt2Checkpoint.Load(dir.Path, TestModels.Backend);
        Assert.AreEqual(model.GptConfig with { Bias = true }, back.GptConfig, "GPT-2 always has biases: written as zeros");
        foreach (var s in model.Parameters.Layout.Slices)
            CollectionAssert.AreEqual(model.Parameters[s].ToArray(), back.Parameters[s.Name].ToArray(), s.Name); // the layouts differ: by name
        foreach (var s in back.Parameters.Layout.Slices.Where(s => s.Name.EndsWith(".bias", StringComparison.Ordinal)))
            Assert.IsTrue(back.Parameters[s].IndexOfAnyExcept(0f) < 0, s.Name);
        int[] tokens = TestModels.RandomTokens(16, 30, 3);
        float[] a = new float[16 * 30], b = new float[16 * 30];
        model.ComputeLogits(tokens, 2, 8, a);
        back.ComputeLogits(tokens, 2, 8, b);
        CollectionAssert.AreEqual(a, b);
    }

    [TestMethod]
    public void ImportHoldsTheWeightsOnceNotTheFileAsWell()
    {
        using var dir = new TempFolder();
        // 3.7M parameters (15 MB): reading the file whole, or a tensor list of copies, would show as 15 MB more allocated.
        var config = new GptConfig { VocabularySize = 2000, BlockSize = 64, LayerCount = 4, HeadCount = 4, EmbeddingSize = 256, Bias = true };
        var model = GptModel.Create(config, TestModels.Backend);
        Gpt2Checkpoint.Save(model, dir.Path);
        long parameterBytes = 4L * model.ParameterCount;
        Gpt2Checkpoint.Load(dir.Path, TestModels.Backend); // warm-up: JIT and caches
        long before = GC.GetAllocatedBytesForCurrentThread();
        var back = Gpt2Checkpoint.Load(dir.Path, TestModels.Backend);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.IsTrue(allocated < parameterBytes + (5 << 20), $"import allocated {allocated:N0} bytes for {parameterBytes:N0} bytes of parameters");

        string weights = Path.Combine(dir.Path, "ours.safetensors");
        back.SaveWeights(weights);
        before = GC.GetAllocatedBytesForCurrentThread();
        LanguageModel.Load(weights, TestModels.Backend);
        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.IsTrue(allocated < parameterBytes + (5 << 20), $"LanguageModel.Load allocated {allocated:N0} bytes for {parameterBytes:N0} bytes of parameters");
    }

    // ---------------------------------------------------------------- defects, each named in the error

    [TestMethod]
    public void AMissingTensorIsNamed()
    {
        var e = LoadDefective(t => t.Remove("transformer.h.1.mlp.c_fc.weight"));
        StringAssert.Contains(e.Message, "h.1.mlp.c_fc.weight");
        StringAssert.Contains(e.Message, "no tensor");
    }

    [TestMethod]
    public void AMisShapedTensorIsNamedWithBothShapes()
    {
        var e = LoadDefective(t => t["transformer.h.0.attn.c_proj.weight"] = t["transformer.h.0.attn.c_proj.weight"] with { Shape = [16, 64] });
        StringAssert.Contains(e.Message, "transformer.h.0.attn.c_proj.weight");
        StringAssert.Contains(e.Message, "[16,64]");
        StringAssert.Contains(e.Message, "[32,32]");

        // A Linear-oriented [out,in] c_fc in a Conv1D slot: the shape says so.
        var linear = LoadDefective(t => t["transformer.h.0.mlp.c_fc.weight"] = t["transformer.h.0.mlp.c_fc.weight"] with { Shape = [128, 32] });
        StringAssert.Contains(linear.Message, "[128,32]");
        StringAssert.Contains(linear.Message, "[32,128] (Conv1D: [in,out])");
    }

    [TestMethod]
    public void OtherDefectsAreNamed()
    {
        StringAssert.Contains(LoadDefective(t => t["transformer.wpe.weight"] = t["transformer.wpe.weight"] with { DType = "I32" }).Message, "is I32");
        StringAssert.Contains(LoadDefective(t => t["transformer.extra.weight"] = new Raw("F32", [1], new byte[4])).Message, "'transformer.extra.weight'");
        StringAssert.Contains(LoadDefective(t => t["transformer.ln_f.weight"].Data.AsSpan(8, 4).Fill(0xFF)).Message, "transformer.ln_f.weight' holds NaN");
        StringAssert.Contains(LoadDefective(t => t["lm_head.weight"].Data[100] ^= 1).Message, "differs from wte.weight");
        StringAssert.Contains(LoadDefective(t => t["wte.weight"] = t["transformer.wte.weight"]).Message, "twice");
    }

    [TestMethod]
    public void ConfigSettingsThisGptCannotComputeAreRefusedByName()
    {
        foreach (var (key, value, expected) in new (string, JsonNode?, string)[]
        {
            ("layer_norm_epsilon", 1e-6, "layer_norm_epsilon is 1E-06"),
            ("activation_function", "gelu", "activation_function is 'gelu'"),
            ("n_inner", 100, "n_inner is 100"),
            ("scale_attn_by_inverse_layer_idx", true, "scale_attn_by_inverse_layer_idx"),
            ("model_type", "llama", "model_type is 'llama'"),
            ("n_layer", "two", "'n_layer' is \"two\""),
            ("n_head", 5, "n_embd (32) must be divisible by n_head (5)"),
        })
        {
            using var dir = CopyFixture("f32");
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "config.json")))!.AsObject();
            config[key] = value;
            File.WriteAllText(Path.Combine(dir.Path, "config.json"), config.ToJsonString());
            var e = Assert.ThrowsExactly<InvalidDataException>(() => Gpt2Checkpoint.Load(dir.Path, TestModels.Backend), key);
            StringAssert.Contains(e.Message, expected, key);
            StringAssert.Contains(e.Message, "config.json", key);
        }
    }

    [TestMethod]
    public void MissingFilesAndBadShardNamesAreRefused()
    {
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => Gpt2Checkpoint.Load(Fixture("no-such-folder")));
        using (var dir = CopyFixture("f32"))
        {
            File.Delete(Path.Combine(dir.Path, "model.safetensors"));
            File.WriteAllText(Path.Combine(dir.Path, "pytorch_model.bin"), "pickle");
            var e = Assert.ThrowsExactly<FileNotFoundException>(() => Gpt2Checkpoint.Load(dir.Path));
            StringAssert.Contains(e.Message, "pytorch_model.bin");
        }
        using (var dir = CopyFixture("f16-sharded"))
        {
            string index = Path.Combine(dir.Path, "model.safetensors.index.json");
            string text = File.ReadAllText(index);
            File.WriteAllText(index, text.Replace("\"model-00002-of-00002.safetensors\"", "\"../model-00002-of-00002.safetensors\""));
            StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => Gpt2Checkpoint.Load(dir.Path)).Message, "not a file name");
            File.WriteAllText(index, text);
            File.Delete(Path.Combine(dir.Path, "model-00002-of-00002.safetensors"));
            StringAssert.Contains(Assert.ThrowsExactly<FileNotFoundException>(() => Gpt2Checkpoint.Load(dir.Path)).Message, "model-00002-of-00002.safetensors");
        }
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>One tensor of a safetensors file as raw bytes, to edit and write back.</summary>
    private sealed record Raw(string DType, int[] Shape, byte[] Data);

    private static SafeTensorsFile ReadAll(string path)
    {
        using var fs = File.OpenRead(path);
        return SafeTensorsFile.Read(fs, path);
    }

    /// <summary>Copies the F32 fixture, edits its tensors, and returns the error loading it gives.</summary>
    private static InvalidDataException LoadDefective(Action<Dictionary<string, Raw>> edit)
    {
        using var dir = CopyFixture("f32");
        string path = Path.Combine(dir.Path, "model.safetensors");
        var file = ReadAll(path);
        var tensors = file.Tensors.Values.OrderBy(t => t.Begin).ToDictionary(t => t.Name,
            t => new Raw(t.DType, t.Shape, file.Data.AsSpan((int)t.Begin, (int)(t.End - t.Begin)).ToArray()));
        edit(tensors);
        WriteRaw(path, tensors);
        return Assert.ThrowsExactly<InvalidDataException>(() => Gpt2Checkpoint.Load(dir.Path, TestModels.Backend));
    }

    private static void WriteRaw(string path, Dictionary<string, Raw> tensors)
    {
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var (name, t) in tensors)
        {
            // A changed dtype or shape keeps the bytes, cut or zero-padded to the size the table then needs.
            long elements = t.Shape.Aggregate(1L, (a, d) => a * d);
            var data = t.Data;
            Array.Resize(ref data, (int)(elements * SafeTensorsHeader.ElementSize(t.DType)));
            blobs.Add(data);
            header[name] = new JsonObject
            {
                ["dtype"] = t.DType, ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + data.Length),
            };
            offset += data.Length;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        using var fs = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
        fs.Write(length);
        fs.Write(json);
        foreach (var data in blobs) fs.Write(data);
    }

    private static TempFolder CopyFixture(string folder)
    {
        var dir = new TempFolder();
        foreach (var f in Directory.GetFiles(Fixture(folder))) File.Copy(f, Path.Combine(dir.Path, Path.GetFileName(f)));
        return dir;
    }

    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("mlnetgpt-gpt2-").FullName;

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); }
            catch (IOException) { }
        }
    }
}
