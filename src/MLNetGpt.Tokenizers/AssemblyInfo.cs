// Assembly attributes: the tests and the benchmark reach the reference implementations and internals.
using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("MLNetGpt.Tokenizers.Tests")]
[assembly: InternalsVisibleTo("MLNetGpt.TokenizerBench")]
