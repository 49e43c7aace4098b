// The Create methods ML.NET calls on Model.Load (found through the LoadableClass attributes in AccessChecks.cs).
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLNetGpt.Internals;

// ML.NET looks for a static Create(IHostEnvironment, ModelLoadContext) on the loader type that returns exactly the
// loadable type, so each step kind has its own loader class. ML.NET wraps whatever they throw in a
// TargetInvocationException; MLNetGptErrors.Unwrap gets our message back.
internal static class TokenizerStepLoader
{
    private static TextTokenizingTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
        TextTokenizingTransformer.Load(env, StepArchive.Open(ctx, StepKinds.Tokenizer));
}

internal static class GeneratorStepLoader
{
    private static TextGenerationTransformer Create(IHostEnvironment env, ModelLoadContext ctx) =>
        TextGenerationTransformer.Load(env, StepArchive.Open(ctx, StepKinds.Generator));
}
