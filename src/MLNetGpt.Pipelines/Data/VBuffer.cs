// A read-only dense vector value, the ML.NET VBuffer shape reduced to what variable-length token id columns need.
namespace MLNetGpt.Pipelines;

/// <summary>
/// A dense vector value handed out by getters of <see cref="VectorDataViewType"/> columns. It wraps an array without
/// copying; callers must not mutate the array they passed in afterwards.
/// </summary>
public readonly struct VBuffer<T>
{
    private readonly T[]? _values;

    /// <summary>Wraps the first <paramref name="length"/> items of <paramref name="values"/>.</summary>
    public VBuffer(int length, T[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if ((uint)length > (uint)values.Length)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"Length must be in [0, {values.Length}].");
        Length = length;
        _values = values;
    }

    /// <summary>Wraps a whole array.</summary>
    public VBuffer(T[] values) : this((values ?? throw new ArgumentNullException(nameof(values))).Length, values) { }

    /// <summary>Number of items.</summary>
    public int Length { get; }

    /// <summary>Always true: our vectors are dense.</summary>
    public bool IsDense => true;

    /// <summary>The items.</summary>
    public ReadOnlySpan<T> GetValues() => _values is null ? default : _values.AsSpan(0, Length);

    /// <summary>The items as an enumerable (ML.NET name).</summary>
    public IEnumerable<T> DenseValues()
    {
        for (int i = 0; i < Length; i++) yield return _values![i];
    }

    /// <summary>A fresh copy of the items.</summary>
    public T[] ToArray() => GetValues().ToArray();
}
