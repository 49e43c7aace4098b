// Every byte of a checkpoint is checked: random bit flips are refused (FsCheck), as are lying safetensors tables and NaN weights.
using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using MLNetGpt.Models.Serialization;
using MLNetGpt.Models.Training;

namespace MLNetGpt.Models.Tests;

[TestClass]
public sealed class CheckpointIntegrityTests
{
    private static readonly (int[] Train, int[] Val) Data = (TestModels.RandomTokens(2000, 20, 1), TestModels.RandomTokens(400, 20, 2));

    private static readonly TrainingOptions Recipe = new()
    {
        MaxIters = 6, BatchSize = 2, WarmupIters = 1, EvalInterval = 3, EvalIters = 1, LogInterval = 1, Seed = 9,
    };

    // A small checkpoint after 3 of 6 steps, and the losses the remaining steps give when it is resumed intact.
    private static readonly Lazy<(byte[] Bytes, float[] Losses)> Saved = new(() =>
    {
        var config = new GptConfig { VocabularySize = 20, BlockSize = 4, LayerCount = 1, HeadCount = 1, EmbeddingSize = 8 };
        var trainer = LanguageModelTrainer.Create(GptModel.Create(config, TestModels.Backend, 4), Data.Train, Data.Val, Recipe with { MaxIters = 3 });
        trainer.Run();
        using var ms = new MemoryStream();
        trainer.SaveCheckpoint(ms);
        var bytes = ms.ToArray();
        return (bytes, RemainingLosses(bytes));
    });

    private static float[] RemainingLosses(byte[] checkpoint)
    {
        var trainer = LanguageModelTrainer.Resume(new MemoryStream(checkpoint), Data.Train, Data.Val, TestModels.Backend, Recipe);
        var losses = new List<float>();
        trainer.Run(new SyncProgress(p => losses.Add(p.TrainLoss)));
        return [.. losses];
    }

    /// <summary>Resumes damaged bytes: true when they are refused with a clear error or behave exactly as the original.</summary>
    private static bool RefusedOrIdentical(byte[] damaged)
    {
        try
        {
            return RemainingLosses(damaged).SequenceEqual(Saved.Value.Losses);
        }
        catch (InvalidDataException e)
        {
            return e.Message.Contains("'stream'", StringComparison.Ordinal); // names the file
        }
    }

    [TestMethod]
    public void RandomBitFlipsAreRefusedNeverCrashOrResumeSilently()
    {
        var bytes = Saved.Value.Bytes;
        long bits = 8L * bytes.Length;
        // One to three flipped bits anywhere in the file; any other exception than InvalidDataException fails the property.
        var flips = Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, (int)bits - 1), n));
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithReplay(20250113, 7), Prop.ForAll(flips.ToArbitrary(), positions =>
        {
            var damaged = (byte[])bytes.Clone();
            foreach (int bit in positions) damaged[bit / 8] ^= (byte)(1 << (bit % 8));
            return RefusedOrIdentical(damaged);
        }));
    }

    [TestMethod]
    public void AFlipInEachPartOfTheFileIsRefusedAsDamage()
    {
        var bytes = Saved.Value.Bytes;
        int headerEnd = 8 + (int)BitConverter.ToUInt64(bytes, 0);
        string header = Encoding.UTF8.GetString(bytes, 8, headerEnd - 8);
        int checksumDigit = 8 + header.IndexOf(SafeTensorsFile.ChecksumKey, StringComparison.Ordinal) + SafeTensorsFile.ChecksumKey.Length + 5;
        int stepDigit = 8 + header.IndexOf("\"step\":\"", StringComparison.Ordinal) + 8;
        // The weights, the first moments, the second moments (each a third of the data), a metadata digit and the checksum itself.
        int data = bytes.Length - headerEnd;
        foreach (int at in new[] { headerEnd + 3, headerEnd + data / 2, bytes.Length - 2, stepDigit, checksumDigit })
        {
            var damaged = (byte[])bytes.Clone();
            damaged[at] ^= 0x01; // '0' <-> '1' in a digit, a low mantissa bit in a float: the quietest possible damage
            var e = Assert.ThrowsExactly<InvalidDataException>(() => LanguageModelTrainer.Resume(new MemoryStream(damaged), Data.Train, Data.Val), $"byte {at}");
            StringAssert.Contains(e.Message, "checksum", $"byte {at}");
        }
    }

    [TestMethod]
    public void ACheckpointWithoutChecksumOrOfVersion1IsRefused()
    {
        var json = HeaderOf(Saved.Value.Bytes, out var data);
        var meta = (JsonObject)json["__metadata__"]!;
        meta.Remove(SafeTensorsFile.ChecksumKey);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => LanguageModelTrainer.Resume(new MemoryStream(Build(json, data)), Data.Train, Data.Val));
        StringAssert.Contains(e.Message, SafeTensorsFile.ChecksumKey);
        meta["format_version"] = "1";
        var v1 = Assert.ThrowsExactly<InvalidDataException>(() => LanguageModelTrainer.Resume(new MemoryStream(Build(json, data)), Data.Train, Data.Val));
        StringAssert.Contains(v1.Message, "format_version '1'");
    }

    [TestMethod]
    public void OverlappingGappedOrTrailingDataIsRefused()
    {
        var model = GptModel.Create(TestModels.TinyGpt(vocab: 30, block: 8), TestModels.Backend);
        using var ms = new MemoryStream();
        model.SaveWeights(ms);
        var json = HeaderOf(ms.ToArray(), out var data);
        Assert.IsNotNull(LanguageModel.Load(new MemoryStream(Build(json, data))), "the rebuilt file loads");

        // Two tensors of equal size sharing bytes: the second reads the first one's values, and its own go unread.
        var (first, second) = AdjacentSameSize(json);
        var overlapping = json.DeepClone().AsObject();
        overlapping[second]!["data_offsets"] = json[first]!["data_offsets"]!.DeepClone();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => LanguageModel.Load(new MemoryStream(Build(overlapping, data))));
        StringAssert.Contains(e.Message, "overlaps");

        // Bytes after the last tensor, and a tensor table that skips bytes.
        var trailing = Assert.ThrowsExactly<InvalidDataException>(() => LanguageModel.Load(new MemoryStream([.. Build(json, data), 0, 0, 0, 0])));
        StringAssert.Contains(trailing.Message, "after the end");
        var gapped = json.DeepClone().AsObject();
        foreach (var p in gapped.Where(p => p.Key != "__metadata__"))
        {
            var o = p.Value!["data_offsets"]!.AsArray();
            o[0] = o[0]!.GetValue<long>() + 4;
            o[1] = o[1]!.GetValue<long>() + 4;
        }
        var gap = Assert.ThrowsExactly<InvalidDataException>(() => LanguageModel.Load(new MemoryStream(Build(gapped, [.. new byte[4], .. data]))));
        StringAssert.Contains(gap.Message, "gap");
    }

    [TestMethod]
    public void NonFiniteWeightsAreRefusedNamingTheTensor()
    {
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            var model = GptModel.Create(TestModels.TinyGpt(vocab: 30, block: 8), TestModels.Backend);
            var slice = model.Parameters.Layout.Slices[3];
            model.Parameters[slice][5] = bad;
            using var ms = new MemoryStream();
            model.SaveWeights(ms);
            ms.Position = 0;
            var e = Assert.ThrowsExactly<InvalidDataException>(() => LanguageModel.Load(ms));
            StringAssert.Contains(e.Message, $"'{slice.Name}'");
            StringAssert.Contains(e.Message, "index 5");
        }
    }

    [TestMethod]
    public void AHeaderPromisingMoreDataThanTheStreamHoldsAllocatesNothingLarge()
    {
        // A non-seekable stream whose header declares a 2 GB tensor but which ends after a few bytes.
        var json = new JsonObject
        {
            ["__metadata__"] = new JsonObject { ["format"] = "mlnetgpt-weights" },
            ["wte"] = new JsonObject { ["dtype"] = "F32", ["shape"] = new JsonArray(500_000_000), ["data_offsets"] = new JsonArray(0L, 2_000_000_000L) },
        };
        var bytes = Build(json, new byte[64]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => LanguageModel.Load(new NonSeekable(bytes)));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        StringAssert.Contains(e.Message, "truncated");
        Assert.IsTrue(allocated < 16 << 20, $"allocated {allocated >> 20} MiB for a {bytes.Length}-byte stream");
    }

    private static (string, string) AdjacentSameSize(JsonObject json)
    {
        var tensors = json.Where(p => p.Key != "__metadata__")
            .Select(p => (Name: p.Key, Begin: p.Value!["data_offsets"]![0]!.GetValue<long>(), End: p.Value!["data_offsets"]![1]!.GetValue<long>()))
            .OrderBy(t => t.Begin).ToList();
        for (int i = 1; i < tensors.Count; i++)
            if (tensors[i].End - tensors[i].Begin == tensors[i - 1].End - tensors[i - 1].Begin && tensors[i].End > tensors[i].Begin)
                return (tensors[i - 1].Name, tensors[i].Name);
        throw new AssertFailedException("no two adjacent tensors of the same size");
    }

    private static JsonObject HeaderOf(byte[] file, out byte[] data)
    {
        int length = (int)BitConverter.ToUInt64(file, 0);
        data = file[(8 + length)..];
        return JsonNode.Parse(Encoding.UTF8.GetString(file, 8, length).TrimEnd(' '))!.AsObject();
    }

    private static byte[] Build(JsonObject header, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        var file = new byte[8 + padded + data.Length];
        BitConverter.GetBytes((ulong)padded).CopyTo(file, 0);
        json.CopyTo(file, 8);
        file.AsSpan(8 + json.Length, padded - json.Length).Fill((byte)' ');
        data.CopyTo(file, 8 + padded);
        return file;
    }

    private sealed class NonSeekable(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
