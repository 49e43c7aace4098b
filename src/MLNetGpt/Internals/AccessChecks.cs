// Lets this assembly use Microsoft.ML.Core's internals at run time and registers our loaders with ML.NET (see README.md here).
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNetGpt.Internals;

[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Core")]

// ML.NET scans these when Model.Load meets a Model.key whose header names this assembly; no registration call is needed.
[assembly: LoadableClass(typeof(MLNetGpt.TextTokenizingTransformer), typeof(TokenizerStepLoader), null, typeof(SignatureLoadModel),
    "MLNetGpt text tokenizer", StepKinds.TokenizerLoaderSignature)]
[assembly: LoadableClass(typeof(MLNetGpt.TextGenerationTransformer), typeof(GeneratorStepLoader), null, typeof(SignatureLoadModel),
    "MLNetGpt text generation", StepKinds.GeneratorLoaderSignature)]

namespace System.Runtime.CompilerServices
{
    /// <summary>
    /// Honoured by CoreCLR (not by the C# compiler): code of the assembly carrying it may access non-public members of the
    /// named assembly. The runtime recognizes it by name, so each consumer declares it.
    /// </summary>
    [AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
    internal sealed class IgnoresAccessChecksToAttribute(string assemblyName) : Attribute
    {
        public string AssemblyName { get; } = assemblyName;
    }
}
