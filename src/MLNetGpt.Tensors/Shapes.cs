// Argument validation shared by the backends: every kernel checks its buffer sizes at the boundary, naming the argument.
// The shape text is an interpolated string that is only formatted when the check fails, so checks allocate nothing
// (kernels run thousands of times per training step, and a step must not allocate).
using System.Runtime.CompilerServices;

namespace MLNetGpt.Tensors;

/// <summary>Shape checks that throw <see cref="ArgumentException"/> naming the argument, the expected and the actual size.</summary>
public static class Shapes
{
    /// <summary>Throws unless <paramref name="length"/> is at least <paramref name="required"/>.</summary>
    public static void Require(int length, long required, string shape, [CallerArgumentExpression(nameof(length))] string? name = null)
    {
        if (length < required) Fail(length, required, shape, name);
    }

    /// <summary>Throws unless <paramref name="length"/> is at least <paramref name="required"/>; the shape text is formatted only on failure.</summary>
    public static void Require(int length, long required,
        [InterpolatedStringHandlerArgument(nameof(length), nameof(required))] ref ShapeText shape,
        [CallerArgumentExpression(nameof(length))] string? name = null)
    {
        if (length < required) Fail(length, required, shape.ToStringAndClear(), name);
    }

    /// <summary>Throws unless <paramref name="length"/> is 0 (absent) or at least <paramref name="required"/>.</summary>
    public static void RequireOptional(int length, long required, string shape, [CallerArgumentExpression(nameof(length))] string? name = null)
    {
        if (length != 0 && length < required) Fail(length, required, shape, name);
    }

    /// <summary>Throws unless <paramref name="length"/> is 0 (absent) or at least <paramref name="required"/>; formats only on failure.</summary>
    public static void RequireOptional(int length, long required,
        [InterpolatedStringHandlerArgument(nameof(length), nameof(required))] ref OptionalShapeText shape,
        [CallerArgumentExpression(nameof(length))] string? name = null)
    {
        if (length != 0 && length < required) Fail(length, required, shape.ToStringAndClear(), name);
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

    private static void Fail(int length, long required, string shape, string? name) =>
        throw new ArgumentException($"Buffer '{Clean(name)}' has {length} elements but shape {shape} needs {required}.", Clean(name));

    // "output.Length" → "output": the argument is the span, not its Length property.
    private static string Clean(string? name) =>
        name is null ? "?" : name.EndsWith(".Length", StringComparison.Ordinal) ? name[..^7] : name;

    /// <summary>Shape text of <see cref="Require(int, long, ref ShapeText, string?)"/>: formatted only when the check fails.</summary>
    [InterpolatedStringHandler]
    public ref struct ShapeText
    {
        private DefaultInterpolatedStringHandler _inner;
        private readonly bool _enabled;

        /// <summary>Formats only when <paramref name="length"/> &lt; <paramref name="required"/>.</summary>
        public ShapeText(int literalLength, int formattedCount, int length, long required, out bool shouldAppend)
        {
            _enabled = shouldAppend = length < required;
            _inner = _enabled ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
        }

        /// <summary>Appends literal text.</summary>
        public void AppendLiteral(string value) => _inner.AppendLiteral(value);

        /// <summary>Appends a value.</summary>
        public void AppendFormatted<T>(T value) => _inner.AppendFormatted(value);

        /// <summary>The text (empty when the check passed).</summary>
        public string ToStringAndClear() => _enabled ? _inner.ToStringAndClear() : "";
    }

    /// <summary>Shape text of <see cref="RequireOptional(int, long, ref OptionalShapeText, string?)"/>: formatted only on failure.</summary>
    [InterpolatedStringHandler]
    public ref struct OptionalShapeText
    {
        private DefaultInterpolatedStringHandler _inner;
        private readonly bool _enabled;

        /// <summary>Formats only when <paramref name="length"/> is nonzero and below <paramref name="required"/>.</summary>
        public OptionalShapeText(int literalLength, int formattedCount, int length, long required, out bool shouldAppend)
        {
            _enabled = shouldAppend = length != 0 && length < required;
            _inner = _enabled ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
        }

        /// <summary>Appends literal text.</summary>
        public void AppendLiteral(string value) => _inner.AppendLiteral(value);

        /// <summary>Appends a value.</summary>
        public void AppendFormatted<T>(T value) => _inner.AppendFormatted(value);

        /// <summary>The text (empty when the check passed).</summary>
        public string ToStringAndClear() => _enabled ? _inner.ToStringAndClear() : "";
    }
}
