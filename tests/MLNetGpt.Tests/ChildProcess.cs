// Runs this test assembly's Program in a fresh process (a new runtime: nothing registered, nothing cached, a crash stays there).
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetGpt.Tests;

internal static class ChildProcess
{
    /// <summary>Loads <paramref name="modelPath"/> in a child process and returns its JSON report.</summary>
    public static JsonObject LoadAndGenerate(string modelPath, IReadOnlyList<string> prompts, IReadOnlyDictionary<string, string>? environment = null)
    {
        string dir = Path.GetDirectoryName(modelPath)!;
        string promptsPath = Path.Combine(dir, "prompts.json"), outputPath = Path.Combine(dir, "child-output.json");
        File.WriteAllText(promptsPath, JsonSerializer.Serialize(prompts));
        return Run(["load-and-generate", modelPath, promptsPath, outputPath], outputPath, environment);
    }

    /// <summary>
    /// Runs <c>dotnet MLNetGpt.Tests.dll ARGS</c> and returns the JSON it wrote to <paramref name="outputPath"/>. A child that
    /// crashes writes nothing, which fails the test with its exit code and output; one that runs past a generous bound is
    /// killed (a bound that only keeps a broken child from hanging the suite, not a timing assertion).
    /// </summary>
    public static JsonObject Run(IReadOnlyList<string> args, string outputPath, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        start.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdoutTask = process.StandardOutput.ReadToEndAsync();
        var stderrTask = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"The child process ({args[0]}) did not finish.");
        }
        string stdout = stdoutTask.Result, stderr = stderrTask.Result;
        Assert.IsTrue(File.Exists(outputPath), $"The child ({args[0]}) wrote no output (exit {process.ExitCode}).\n{stdout}\n{stderr}");
        return JsonNode.Parse(File.ReadAllText(outputPath))!.AsObject();
    }
}
