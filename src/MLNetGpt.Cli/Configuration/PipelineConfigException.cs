// The error type for pipeline files and overrides; the CLI prints its message and exits with code 2.
namespace MLNetGpt.Cli.Configuration;

/// <summary>A pipeline file or a key=value override is invalid; the message names the file, key and value.</summary>
public sealed class PipelineConfigException(string message, Exception? inner = null) : Exception(message, inner);
