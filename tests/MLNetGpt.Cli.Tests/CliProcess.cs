// Runs mlnetgpt as a real child process (dotnet MLNetGpt.Cli.dll), for signals and kill -9; every wait is bounded.
using System.Diagnostics;
using System.Text;

namespace MLNetGpt.Cli.Tests;

/// <summary>A running mlnetgpt process whose output is collected as it comes.</summary>
internal sealed class CliProcess : IDisposable
{
    // Generous bounds that only keep a broken child from hanging the suite; nothing is asserted about time.
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    private readonly Process _process;
    private readonly StringBuilder _output = new(), _error = new();
    private readonly object _gate = new();

    private CliProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_gate) _output.Append(e.Data).Append('\n'); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_gate) _error.Append(e.Data).Append('\n'); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts <c>mlnetgpt ARGS</c> with extra environment variables.</summary>
    public static CliProcess Start(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MLNetGpt.Cli.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["CI"] = "1"; // plain progress lines, no live bar
        start.Environment.Remove("MLNETGPT_FAULT_KILL_WRITE");
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;
        return new CliProcess(Process.Start(start)!);
    }

    /// <summary>Runs to the end and returns the result (the process is killed and the test fails if it does not end).</summary>
    public static CliResult Run(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var p = Start(environment, args);
        return p.WaitForExit();
    }

    public int Id => _process.Id;

    public string Output { get { lock (_gate) return _output.ToString(); } }

    /// <summary>Waits until the output contains <paramref name="text"/>; false when the process ended first.</summary>
    public bool WaitForOutput(string text)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < Patience)
        {
            if (Output.Contains(text, StringComparison.Ordinal)) return true;
            if (_process.HasExited) return Output.Contains(text, StringComparison.Ordinal);
            Thread.Sleep(20);
        }
        Kill();
        Assert.Fail($"no '{text}' in the output within {Patience}:\n{Output}");
        return false;
    }

    /// <summary>SIGKILL, as kill -9.</summary>
    public void Kill()
    {
        try { _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { } // already exited
    }

    public CliResult WaitForExit()
    {
        if (!_process.WaitForExit(Patience))
        {
            Kill();
            Assert.Fail($"mlnetgpt did not exit within {Patience}:\n{Output}");
        }
        _process.WaitForExit(); // drains the asynchronous output readers
        lock (_gate) return new CliResult(_process.ExitCode, _output.ToString(), _error.ToString());
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}
