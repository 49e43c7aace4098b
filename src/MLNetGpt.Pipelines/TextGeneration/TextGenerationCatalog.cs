// MLContext.TextGeneration: language model trainers (bigram, GPT) and their evaluation.
namespace MLNetGpt.Pipelines;

/// <summary>Language model trainers and evaluation (the catalog ML.NET would have for text generation).</summary>
public sealed class TextGenerationCatalog
{
    internal TextGenerationCatalog(MLContext context) => Context = context;

    internal MLContext Context { get; }
}
