// Runs this test assembly's Program in a fresh process (a new runtime: nothing registered, nothing cached).
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNetGpt.Tests;

internal static class ChildProcess
{
    /// <summary>Loads <paramref name="modelPath"/> in a child process and returns its JSON report.</summary>
    public static JsonObject LoadAndGenerate(string modelPath, IReadOnlyList<string> prompts)
    {
        string dir = Path.GetDirectoryName(modelPath)!;
        string promptsPath = Path.Combine(dir, "prompts.json"), outputPath = Path.Combine(dir, "child-output.json");
        File.WriteAllText(promptsPath, JsonSerializer.Serialize(prompts));
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { typeof(ChildProcess).Assembly.Location, "load-and-generate", modelPath, promptsPath, outputPath })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderrTask = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd(), stderr = stderrTask.Result;
        // A generous bound, not a timing assertion: it only keeps a broken child from hanging the suite.
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("The child process did not finish.");
        }
        Assert.IsTrue(File.Exists(outputPath), $"The child wrote no output (exit {process.ExitCode}).\n{stdout}\n{stderr}");
        return JsonNode.Parse(File.ReadAllText(outputPath))!.AsObject();
    }
}
