// Test assembly settings: test classes run in parallel with each other, methods inside a class in order.
// Our tokenizers are Microsoft.ML.Tokenizers.Tokenizer instances; Microsoft's own types are written out in full where used.
global using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;

[assembly: Microsoft.VisualStudio.TestTools.UnitTesting.Parallelize(Scope = Microsoft.VisualStudio.TestTools.UnitTesting.ExecutionScope.ClassLevel, Workers = 2)]
