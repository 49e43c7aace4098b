// The corpus the CLI tests train on: the shipped prompts and the committed excerpt, so a fresh clone has all it needs.
using MLNetGpt.Testing;

namespace MLNetGpt.Cli.Tests;

internal static class TestCorpus
{
    private static readonly Lazy<string> Written = new(() =>
    {
        // The prompts come first, in the training part, so every character they use is in a character tokenizer's vocabulary.
        string text = File.ReadAllText(System.IO.Path.Combine(TestData.RepositoryRoot, "data", "prompts.csv")) + "\n" + File.ReadAllText(TestData.CorpusExcerptPath);
        string path = System.IO.Path.Combine(CliRunner.TempDirectory(), "corpus.txt");
        File.WriteAllText(path, text);
        return path;
    });

    /// <summary>Path of the corpus file (written once per test run into a temporary folder).</summary>
    public static string Path => Written.Value;

    /// <summary>Its text.</summary>
    public static string Text => File.ReadAllText(Path);

    /// <summary>Distinct characters: the vocabulary size of a character tokenizer trained on it.</summary>
    public static int Vocabulary => Text.Distinct().Count();

    /// <summary>A GPT-2 .tiktoken rank file written from the Microsoft.ML.Tokenizers.Data package (no shared data needed).</summary>
    public static string Gpt2Tiktoken => Gpt2.Value;

    private static readonly Lazy<string> Gpt2 = new(() =>
    {
        string path = System.IO.Path.Combine(CliRunner.TempDirectory(), "gpt2.tiktoken");
        MLNetGpt.Tokenizers.BpeTokenizer.CreateForEncoding("gpt2").SaveTiktoken(path);
        return path;
    });
}
