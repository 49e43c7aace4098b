// Entry point for the child-process modes (the tests run them through ChildProcess; `dotnet test` never calls Main):
//   load-and-generate MODEL.zip PROMPTS.json OUT.json  loads a saved model in a fresh runtime with plain mlContext.Model.Load
//                                                      and writes what Transform and PredictionEngine produce.
//   bit-flips MODEL.zip PROMPTS.json EXPECTED.json OUT.json CASES
//                                                      FsCheck: CASES random single-bit flips of the .zip each load and
//                                                      generate identically or throw; writes the tally (a crash or hang
//                                                      of this process is the parent's failure to see).
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.ML;

namespace MLNetGpt.Tests;

public static class Program
{
    public static int Main(string[] args)
    {
        switch (args)
        {
            case ["load-and-generate", var modelPath, var promptsPath, var outputPath]:
                return LoadAndGenerate(modelPath, promptsPath, outputPath);
            case ["bit-flips", var modelPath, var promptsPath, var expectedPath, var outputPath, var cases]:
                return BitFlips(modelPath, promptsPath, expectedPath, outputPath, int.Parse(cases, System.Globalization.CultureInfo.InvariantCulture));
            default:
                Console.Error.WriteLine("usage: load-and-generate MODEL.zip PROMPTS.json OUT.json | bit-flips MODEL.zip PROMPTS.json EXPECTED.json OUT.json CASES (the tests run these through dotnet test)");
                return 2;
        }
    }

    private static int LoadAndGenerate(string modelPath, string promptsPath, string outputPath)
    {
        // Nothing of MLNetGpt may be touched before Model.Load: the point is that loading needs no registration call.
        bool loadedBefore = AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "MLNetGpt");
        var prompts = JsonSerializer.Deserialize<string[]>(File.ReadAllText(promptsPath))!;
        var ml = new MLContext(seed: 7);
        ITransformer model;
        try
        {
            model = ml.Model.Load(modelPath, out _);
        }
        catch (Exception e)
        {
            while (e.InnerException is { } inner) e = inner;
            File.WriteAllText(outputPath, JsonSerializer.Serialize(new { error = $"{e.GetType().Name}: {e.Message}", loadedBefore }));
            return 1;
        }
        var data = ml.Data.LoadFromEnumerable(prompts.Select(p => new PromptRow { Text = p }));
        var viaTransform = ml.Data.CreateEnumerable<GeneratedRow>(model.Transform(data), reuseRowObject: false).Select(r => r.Generated).ToArray();
        using var engine = ml.Model.CreatePredictionEngine<PromptRow, GeneratedRow>(model);
        var viaEngine = prompts.Select(p => engine.Predict(new PromptRow { Text = p }).Generated).ToArray();
        File.WriteAllText(outputPath, JsonSerializer.Serialize(new { transform = viaTransform, engine = viaEngine, loadedBefore }));
        return 0;
    }

    private static int BitFlips(string modelPath, string promptsPath, string expectedPath, string outputPath, int cases)
    {
        var prompts = JsonSerializer.Deserialize<string[]>(File.ReadAllText(promptsPath))!;
        var expected = JsonSerializer.Deserialize<string[]>(File.ReadAllText(expectedPath))!;
        byte[] original = File.ReadAllBytes(modelPath);
        string corrupt = Path.Combine(Path.GetDirectoryName(outputPath)!, "flipped.zip");
        int tried = 0, identical = 0;
        var exceptions = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var examples = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var different = new List<long>();
        bool LoadsIdenticallyOrThrows(long bit)
        {
            tried++;
            var bytes = (byte[])original.Clone();
            bytes[bit / 8] ^= (byte)(1 << (int)(bit % 8));
            File.WriteAllBytes(corrupt, bytes);
            try
            {
                var ml = new MLContext(seed: 7);
                var model = TextGenerationModel.Load(ml, corrupt, out _);
                var data = ml.Data.LoadFromEnumerable(prompts.Select(p => new PromptRow { Text = p }));
                var generated = ml.Data.CreateEnumerable<GeneratedRow>(model.Transform(data), reuseRowObject: false).Select(r => r.Generated).ToArray();
                if (generated.SequenceEqual(expected))
                {
                    identical++;
                    return true;
                }
                different.Add(bit);
                return false;
            }
            catch (Exception e)
            {
                var cause = TextGenerationModel.Unwrap(e);
                string type = cause.GetType().FullName!;
                exceptions[type] = exceptions.GetValueOrDefault(type) + 1;
                examples.TryAdd(type, $"bit {bit}: {cause.Message}");
                return true;
            }
        }

        string? failure = null;
        long bits = original.LongLength * 8;
        var flips = Gen.Choose(0, (int)Math.Min(int.MaxValue, bits - 1)).Select(b => (long)b).ToArbitrary();
        try
        {
            Check.One(Config.QuickThrowOnFailure.WithMaxTest(cases).WithReplay(20261130, 17), Prop.ForAll(flips, LoadsIdenticallyOrThrows));
        }
        catch (Exception e)
        {
            failure = e.Message;
        }
        File.WriteAllText(outputPath, JsonSerializer.Serialize(new { tried, identical, exceptions, examples, different, failure, bits }));
        return failure is null ? 0 : 1;
    }
}
