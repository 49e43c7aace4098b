// Assembly attributes: the tests and the benchmark reach the reference implementations and internals.
using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("MLNetGpt.Tokenizers.Tests")]
[assembly: InternalsVisibleTo("MLNetGpt.TokenizerBench")]

// Stack buffers in the merge loop and decode are written before they are read; skip zeroing them.
[module: SkipLocalsInit]
