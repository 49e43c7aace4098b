// Runs the README's example: dotnet run -c Release --project samples/QuickStart -- [--corpus FILE]
// Without --corpus, Tiny Shakespeare is found as `mlnetgpt train` finds it (MLNETGPT_DATA, the cache, or a verified download).
using MLNetGpt.Models.Data;

string corpus = args is ["--corpus", var path] ? path : TinyShakespeare.Locate();
foreach (var text in QuickStart.Run(corpus)) Console.WriteLine(text);
