// Argument validation shared by the backends: every kernel checks its buffer sizes at the boundary, naming the argument.
using System.Runtime.CompilerServices;

namespace MLNetGpt.Tensors;

/// <summary>Shape checks that throw <see cref="ArgumentException"/> naming the argument, the expected and the actual size.</summary>
public static class Shapes
{
    /// <summary>Throws unless <paramref name="length"/> is at least <paramref name="required"/>.</summary>
    public static void Require(int length, long required, string shape, [CallerArgumentExpression(nameof(length))] string? name = null)
    {
        if (length < required)
            throw new ArgumentException(
                $"Buffer '{Clean(name)}' has {length} elements but shape {shape} needs {required}.", Clean(name));
    }

    /// <summary>Throws unless <paramref name="length"/> is 0 (absent) or at least <paramref name="required"/>.</summary>
    public static void RequireOptional(int length, long required, string shape, [CallerArgumentExpression(nameof(length))] string? name = null)
    {
        if (length != 0) Require(length, required, shape, name);
    }

    /// <summary>Throws unless every dimension is non-negative.</summary>
    public static void NonNegative(int value, [CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(name, value, $"Dimension '{name}' must be non-negative, got {value}.");
    }

    /// <summary>Throws unless <paramref name="value"/> is positive.</summary>
    public static void Positive(int value, [CallerArgumentExpression(nameof(value))] string? name = null)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"Dimension '{name}' must be positive, got {value}.");
    }

    // "output.Length" → "output": the argument is the span, not its Length property.
    private static string Clean(string? name) =>
        name is null ? "?" : name.EndsWith(".Length", StringComparison.Ordinal) ? name[..^7] : name;
}
