// Loading a model .zip for the CLI with plain mlContext.Model.Load, with the errors a person needs (missing file, damaged archive).
using Microsoft.ML;

namespace MLNetGpt.Cli.Commands;

/// <summary>A loaded model: the whole chain, its input schema and its text generation step.</summary>
public sealed record LoadedModel(MLContext Context, ITransformer Chain, DataViewSchema InputSchema, TextGenerationTransformer Generator)
{
    /// <summary>Loads <paramref name="path"/>; a missing or damaged file becomes a <see cref="CliException"/> naming it and the problem.</summary>
    public static LoadedModel Load(string path, int seed = 0)
    {
        if (!File.Exists(path)) throw new CliException($"Model file '{path}' does not exist.");
        var ml = new MLContext(seed);
        ITransformer chain;
        DataViewSchema schema;
        try
        {
            chain = TextGenerationModel.Load(ml, path, out schema);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or InvalidOperationException or IOException or ArgumentException)
        {
            throw new CliException($"Model file '{path}' cannot be loaded: {e.Message}");
        }
        TextGenerationTransformer generator;
        try
        {
            generator = TextGenerationModel.Find(chain).Generator;
        }
        catch (ArgumentException)
        {
            throw new CliException($"Model file '{path}' has no text generation step.");
        }
        return new LoadedModel(ml, chain, schema, generator);
    }
}
