// Loading a model .zip for the CLI, with the errors a person needs (missing file, corrupt archive) and the generation step found.
using MLNetGpt.Pipelines;

namespace MLNetGpt.Cli.Commands;

/// <summary>A loaded model: the whole chain, its input schema and its text generation step.</summary>
public sealed record LoadedModel(MLContext Context, TransformerChain<ITransformer> Chain, DataViewSchema InputSchema, TextGenerationTransformer Generator)
{
    /// <summary>Loads <paramref name="path"/>; a missing or corrupt file becomes a <see cref="CliException"/> naming it.</summary>
    public static LoadedModel Load(string path, int seed = 0)
    {
        if (!File.Exists(path)) throw new CliException($"Model file '{path}' does not exist.");
        var ctx = new MLContext(seed);
        TransformerChain<ITransformer> chain;
        DataViewSchema schema;
        try
        {
            chain = ctx.Model.Load(path, out schema);
        }
        catch (InvalidDataException e)
        {
            throw new CliException($"Model file '{path}' is not a valid MLNetGpt model: {e.Message}");
        }
        var generator = chain.OfType<TextGenerationTransformer>().LastOrDefault()
            ?? throw new CliException($"Model file '{path}' has no text generation step.");
        return new LoadedModel(ctx, chain, schema, generator);
    }
}
