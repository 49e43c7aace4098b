// Errors the CLI reports as one clear line with a non-zero exit code (no stack trace): bad input, missing files, corrupt models.
namespace MLNetGpt.Cli.Commands;

/// <summary>A user-facing error raised by a command itself (bad combination of options, empty input, ...).</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    /// <summary>The process exit code for this error.</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>Exit codes of the mlnetgpt command.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;
    /// <summary>Bad input: a missing or malformed file, an invalid value, a corrupt model.</summary>
    public const int Error = 1;
    /// <summary>A pipeline file or key=value override is invalid.</summary>
    public const int ConfigError = 2;
    /// <summary>Stopped by Ctrl+C (after saving a checkpoint where there was one to save).</summary>
    public const int Cancelled = 130;
}
