// Factories over both model kinds: create from a config, load from a weights or checkpoint file.
using MLNetGpt.Models.Serialization;
using MLNetGpt.Tensors;

namespace MLNetGpt.Models;

/// <summary>Creates and loads <see cref="ILanguageModel"/>s without knowing their kind in advance.</summary>
public static class LanguageModel
{
    /// <summary>A freshly initialized model of the configured kind (GPT-2 init for GPT, N(0,1) table for bigram).</summary>
    public static ILanguageModel Create(LanguageModelConfig config, IComputeBackend? backend = null, ulong seed = 1337) => config switch
    {
        null => throw new ArgumentNullException(nameof(config)),
        GptConfig g => GptModel.Create(g, backend, seed),
        BigramConfig b => BigramModel.Create(b, backend, seed),
        _ => throw new ArgumentException($"Unknown model kind '{config.Kind}'.", nameof(config)),
    };

    /// <summary>
    /// A model of <paramref name="config"/> whose weights are a copy of <paramref name="initialWeights"/>' (nanoGPT's
    /// init_from: fine-tuning starts here). The two configurations must be equal except for dropout, which only affects
    /// training, so <paramref name="config"/> may set it; <paramref name="initialWeights"/> is not changed by training the copy.
    /// </summary>
    /// <exception cref="ArgumentException">The configurations differ in anything but dropout (the message lists the keys), or
    /// <paramref name="initialWeights"/> is not a <see cref="GptModel"/> or <see cref="BigramModel"/>.</exception>
    public static ILanguageModel Create(LanguageModelConfig config, ILanguageModel initialWeights, IComputeBackend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(initialWeights);
        config.Validate();
        if (initialWeights is not ITrainableModel source)
            throw new ArgumentException($"Model of type {initialWeights.GetType().Name} is not supported.", nameof(initialWeights));
        static LanguageModelConfig AnyDropout(LanguageModelConfig c) => c is GptConfig g ? g with { Dropout = 0f } : c;
        if (!Equals(AnyDropout(initialWeights.Config), AnyDropout(config)))
            throw new ArgumentException(
                $"The initial weights are of a model with another configuration: {Training.LanguageModelTrainer.ConfigDifferences(initialWeights.Config, config)} (initial vs requested); only dropout may differ.",
                nameof(initialWeights));
        ITrainableModel model = config switch
        {
            GptConfig g => GptModel.CreateUninitialized(g, backend),
            BigramConfig b => BigramModel.CreateUninitialized(b, backend),
            _ => throw new ArgumentException($"Unknown model kind '{config.Kind}'.", nameof(config)),
        };
        source.Backend.CopyToHost(source.Parameters.Span); // device backends: bring the source's weights to the host first
        source.Parameters.Span.CopyTo(model.Parameters.Span); // same configuration up to dropout: the same layout
        model.Backend.CopyToDevice(model.Parameters.Span);
        return model;
    }

    /// <summary>Trainable floats a model of <paramref name="config"/> has (tied weights counted once), without building it.</summary>
    public static long ParameterCount(LanguageModelConfig config) => config switch
    {
        null => throw new ArgumentNullException(nameof(config)),
        GptConfig g => GptParameters.Create(g).Layout.TotalLength,
        BigramConfig b => (long)b.VocabularySize * b.VocabularySize,
        _ => throw new ArgumentException($"Unknown model kind '{config.Kind}'.", nameof(config)),
    };

    /// <summary>
    /// The most bytes a weights file of <paramref name="config"/> can take: 4 bytes per parameter plus room for the
    /// safetensors header. Loaders refuse larger entries before reading them, so a crafted file cannot make them allocate
    /// more than the model needs.
    /// </summary>
    public static long MaxWeightsFileBytes(LanguageModelConfig config) => 4 * ParameterCount(config) + (1 << 20);

    /// <summary>
    /// The same model on other kernels: a model of the same kind and configuration over the same parameters (shared, not
    /// copied: for GPT-2 124M that is 0.5 GB saved) that runs on <paramref name="backend"/>, for example to generate with
    /// another thread count. Training either model changes both; each has its own activations, gradients and scratch, and,
    /// like any model, neither is thread-safe. On a device backend (a GPU) each model works on its own device copy, made
    /// from the host array here (the weights are first copied back from <paramref name="model"/>'s device): after that,
    /// training one does not change the other.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="model"/> is not a <see cref="GptModel"/> or <see cref="BigramModel"/>.</exception>
    public static ILanguageModel WithBackend(ILanguageModel model, IComputeBackend backend)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(backend);
        return model switch
        {
            GptModel g => g.WithBackend(backend),
            BigramModel b => b.WithBackend(backend),
            _ => throw new ArgumentException($"Model of type {model.GetType().Name} is not supported.", nameof(model)),
        };
    }

    /// <summary>
    /// Loads a model from a weights file (<see cref="ILanguageModel.SaveWeights(Stream)"/>) or a training checkpoint.
    /// Throws <see cref="InvalidDataException"/> naming the problem for a truncated file, a wrong format or version,
    /// a missing tensor or a shape that does not match the stored config.
    /// </summary>
    public static ILanguageModel Load(Stream weights, IComputeBackend? backend = null) => Load(weights, backend, "stream");

    /// <summary>Loads a model from the file at <paramref name="path"/> (see <see cref="Load(Stream, IComputeBackend?)"/>).</summary>
    public static ILanguageModel Load(string path, IComputeBackend? backend = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        using var fs = File.OpenRead(path);
        return Load(fs, backend, path);
    }

    internal static ILanguageModel Load(Stream weights, IComputeBackend? backend, string source)
    {
        ArgumentNullException.ThrowIfNull(weights);
        // A seekable stream (a file, ML.NET's extracted entry) is read tensor by tensor into the parameters, so the weights are
        // held once; any other stream is read whole first (its length is unknown until it ends).
        if (weights.CanSeek)
        {
            using var reader = SafeTensorsReader.Open(weights, source, leaveOpen: true);
            return Load(reader, backend);
        }
        return Load(SafeTensorsFile.Read(weights, source), backend);
    }

    private static ILanguageModel Load(ITensorSource file, IComputeBackend? backend)
    {
        ModelFiles.CheckFormat(file, ModelFiles.WeightsFormat, ModelFiles.CheckpointFormat);
        return ModelFiles.ReadModel(file, backend);
    }
}
