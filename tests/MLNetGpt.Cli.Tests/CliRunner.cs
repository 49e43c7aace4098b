// Runs mlnetgpt commands in-process and captures their output, exit code and timing.
namespace MLNetGpt.Cli.Tests;

internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Output}\n--- stderr ---\n{Error}";
}

internal static class CliRunner
{
    public static CliResult Run(params string[] args) => Run(CancellationToken.None, null, args);

    public static CliResult Run(CancellationToken ct, string? stdin, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.RunAsync(args, output, error, ct, new StringReader(stdin ?? "")).GetAwaiter().GetResult();
        return new CliResult(code, output.ToString(), error.ToString());
    }

    public static string TempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mlnetgpt-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
