// Assembly settings for MLNetGpt.Models: the test project sees internals (safetensors reader, raw arenas) to compare with PyTorch fixtures.
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("MLNetGpt.Models.Tests")]
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("MLNetGpt.TrainBench")]
