// Errors the CLI reports as one clear line with a non-zero exit code (no stack trace): bad input, missing files, corrupt models.
using System.Text.RegularExpressions;

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
    /// <summary>Stopped by SIGTERM (128 + 15), after the same clean stop as Ctrl+C.</summary>
    public const int Terminated = 143;
}

/// <summary>Turns the library's exception messages into lines for a person at a command line.</summary>
public static partial class CliMessages
{
    /// <summary>
    /// The message without .NET's argument decorations (" (Parameter 'x')", "Actual value was y."), so a command prints
    /// the rule that was broken, not the name of a C# parameter.
    /// </summary>
    public static string Clean(Exception e)
    {
        string message = e.Message;
        int cut = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        if (cut >= 0) message = message[..cut];
        message = ActualValue().Replace(message, "");
        message = ApiAdvice().Replace(message, ".");
        return message.Trim();
    }

    /// <summary>
    /// The message of an invalid option value with the option's command-line name: "TopP must be in (0, 1]" becomes
    /// "--top-p 2 is invalid: it must be in (0, 1]".
    /// </summary>
    public static string ForOption(ArgumentException e, IReadOnlyDictionary<string, string> optionNames)
    {
        string message = Clean(e);
        if (e.ParamName is not { } name || !optionNames.TryGetValue(name, out var option)) return message;
        string rule = message.StartsWith(name + " ", StringComparison.Ordinal) ? message[(name.Length + 1)..] : message;
        string value = e is ArgumentOutOfRangeException { ActualValue: { } v } ? " " + Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) : "";
        return $"{option}{value} is invalid: it {rule.TrimEnd('.')}.";
    }

    /// <summary>
    /// "--top-k expects a whole number, got 'abc'." for System.CommandLine's "Cannot parse argument 'abc' for option
    /// '--top-k' as expected type 'System.Nullable`1[System.Int32]'."; null for any other parse error.
    /// </summary>
    public static string? ParseError(string message)
    {
        var m = CannotParse().Match(message);
        if (!m.Success) return null;
        string type = m.Groups["type"].Value;
        string expected = type.Contains("Int", StringComparison.Ordinal) ? "a whole number"
            : type.Contains("Single", StringComparison.Ordinal) || type.Contains("Double", StringComparison.Ordinal) || type.Contains("Decimal", StringComparison.Ordinal) ? "a number"
            : type.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
            : "another kind of value";
        return $"{m.Groups["option"].Value} expects {expected}, got '{m.Groups["value"].Value}'.";
    }

    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*)' for (option|argument) '(?<option>[^']*)' as expected type '(?<type>[^']*)'\.?$", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex CannotParse();

    [GeneratedRegex(@"\s*Actual value was [^\r\n]*\.?", RegexOptions.CultureInvariant)]
    private static partial Regex ActualValue();

    // Advice addressed to a C# caller ("create the tokenizer with UnknownCharacterPolicy.Replace ...") means nothing at a prompt.
    [GeneratedRegex(@";\s*create the tokenizer with .*?\.(?=\s|$)", RegexOptions.CultureInvariant)]
    private static partial Regex ApiAdvice();
}
