// The README's C# example, verbatim between the README markers (a test checks that README.md shows exactly this code and
// runs it with a tiny model): Tiny Shakespeare -> split -> char tokenizer -> GPT -> evaluate -> save/load -> generate.
// README:begin
using Microsoft.ML;
using MLNetGpt;
using MLNetGpt.Models.Training;

public static class QuickStart
{
    public static IReadOnlyList<string> Run(string corpusPath, string modelPath = "shakespeare-gpt.zip", int maxIterations = 2000)
    {
        var mlContext = new MLContext(seed: 1337);

        // The corpus as one row (byte-exact), split as nanoGPT does: first 90% train, last 10% validation.
        IDataView text = mlContext.Data.LoadCorpusFromTextFile(corpusPath);
        var split = mlContext.Data.TrainTestSplitContiguous(text, testFraction: 0.1);

        // Character tokenizer, then a GPT trained on its ids. Fit checks the whole chain's schema before training.
        var pipeline = mlContext.Transforms.Text.TokenizeIntoCharacterIds(outputColumnName: "Tokens", inputColumnName: "Text")
            .Append(mlContext.TextGeneration.Trainers.Gpt(new GptTrainer.Options
            {
                LayerCount = 4, HeadCount = 4, EmbeddingSize = 128, BlockSize = 64,
                BatchSize = 12, MaxIterations = maxIterations, LearningRate = 1e-3f, EvalIterations = 20,
                ValidationData = split.TestSet,
                Progress = new Progress<TrainingProgress>(p => Console.WriteLine($"{p.Step}: {p.TrainLoss:F4}")),
                Generation = new TextGenerationOptions { MaxNewTokens = 200, Temperature = 0.8f, TopK = 40 },
            }));
        ITransformer model = pipeline.Fit(split.TrainSet);
        Console.WriteLine($"validation perplexity {mlContext.TextGeneration.Evaluate(model, split.TestSet).Perplexity:F2}");

        // One ML.NET model .zip (our tokenizer and weights inside, SHA-256 checked on load), loaded as any ML.NET model.
        mlContext.Model.Save(model, text.Schema, modelPath);
        ITransformer loaded = mlContext.Model.Load(modelPath, out DataViewSchema inputSchema);

        // Batch generation: lazy, micro-batched, one batched KV-cache pass per batch; or one prompt at a time.
        var prompts = mlContext.Data.LoadFromEnumerable(new[] { new Prompt { Text = "ROMEO:" }, new Prompt { Text = "MENENIUS:" } });
        IDataView generated = loaded.Transform(prompts);
        var engine = mlContext.Model.CreatePredictionEngine<Prompt, Generation>(loaded);
        Console.WriteLine("JULIET:" + engine.Predict(new Prompt { Text = "JULIET:" }).Generated);
        return mlContext.Data.CreateEnumerable<Generation>(generated, reuseRowObject: false).Select(g => g.Generated).ToList();
    }

    public sealed class Prompt { public string Text { get; set; } = ""; }

    public sealed class Generation { public string Generated { get; set; } = ""; }
}
// README:end
