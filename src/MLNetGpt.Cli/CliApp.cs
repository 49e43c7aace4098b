// The mlnetgpt command tree (System.CommandLine) and its error handling: known errors print one clear line and exit non-zero.
using System.CommandLine;
using MLNetGpt.Cli.Configuration;

namespace MLNetGpt.Cli;

/// <summary>Builds and runs the <c>mlnetgpt</c> command.</summary>
public static class CliApp
{
    /// <summary>Runs the command line <paramref name="args"/> writing to the given writers; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var root = new RootCommand("MLNetGpt: train and run GPT-style language models from .NET.");
        var keys = new Command("keys", "List every pipeline key with its description.");
        keys.SetAction(_ => { foreach (var line in PipelineConfigLoader.DescribeKeys()) output.WriteLine(line); return 0; });
        root.Subcommands.Add(keys);
        var config = new InvocationConfiguration { Output = output, Error = error };
        try
        {
            return await root.Parse(args).InvokeAsync(config, cancellationToken);
        }
        catch (PipelineConfigException e)
        {
            error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
