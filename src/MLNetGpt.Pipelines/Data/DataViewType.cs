// Column types of a data view, mirroring ML.NET's DataViewType family: text, Int32/Single scalars, variable-length vectors.
namespace MLNetGpt.Pipelines;

/// <summary>
/// The type of a column in a <see cref="DataViewSchema"/>. <see cref="RawType"/> is the CLR type a
/// <see cref="ValueGetter{TValue}"/> produces: <see cref="ReadOnlyMemory{T}"/> of char for text, <see cref="int"/>,
/// <see cref="float"/>, and <see cref="VBuffer{T}"/> for vectors. Types compare by value.
/// </summary>
public abstract class DataViewType : IEquatable<DataViewType>
{
    private protected DataViewType(Type rawType) => RawType = rawType;

    /// <summary>The CLR type of values of this column type as handed out by getters.</summary>
    public Type RawType { get; }

    /// <summary>Stable name used in messages and in saved model manifests: Text, Int32, Single, Vector&lt;Int32&gt;, Vector&lt;Single&gt;.</summary>
    public abstract override string ToString();

    /// <inheritdoc/>
    public bool Equals(DataViewType? other) => other is not null && ToString() == other.ToString();

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is DataViewType t && Equals(t);

    /// <inheritdoc/>
    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);

    /// <summary>Parses a name written by <see cref="ToString"/>.</summary>
    /// <exception cref="FormatException">The name is not one of the supported types.</exception>
    public static DataViewType Parse(string name) => name switch
    {
        "Text" => TextDataViewType.Instance,
        "Int32" => NumberDataViewType.Int32,
        "Single" => NumberDataViewType.Single,
        "Vector<Int32>" => new VectorDataViewType(NumberDataViewType.Int32),
        "Vector<Single>" => new VectorDataViewType(NumberDataViewType.Single),
        _ => throw new FormatException(
            $"Unknown column type '{name}'; expected one of Text, Int32, Single, Vector<Int32>, Vector<Single>."),
    };
}

/// <summary>Text column; values are <see cref="ReadOnlyMemory{T}"/> of char (getters also accept <see cref="string"/>).</summary>
public sealed class TextDataViewType : DataViewType
{
    private TextDataViewType() : base(typeof(ReadOnlyMemory<char>)) { }

    /// <summary>The single instance.</summary>
    public static TextDataViewType Instance { get; } = new();

    /// <inheritdoc/>
    public override string ToString() => "Text";
}

/// <summary>Numeric scalar column: <see cref="Int32"/> or <see cref="Single"/>.</summary>
public sealed class NumberDataViewType : DataViewType
{
    private readonly string _name;

    private NumberDataViewType(Type rawType, string name) : base(rawType) => _name = name;

    /// <summary>32-bit signed integers.</summary>
    public static NumberDataViewType Int32 { get; } = new(typeof(int), "Int32");

    /// <summary>32-bit floats.</summary>
    public static NumberDataViewType Single { get; } = new(typeof(float), "Single");

    /// <inheritdoc/>
    public override string ToString() => _name;
}

/// <summary>Variable-length vector of <see cref="NumberDataViewType"/> items; values are <see cref="VBuffer{T}"/> (getters also accept T[]).</summary>
public sealed class VectorDataViewType : DataViewType
{
    /// <summary>Creates a variable-length vector type of <paramref name="itemType"/>.</summary>
    public VectorDataViewType(NumberDataViewType itemType)
        : base(typeof(VBuffer<>).MakeGenericType((itemType ?? throw new ArgumentNullException(nameof(itemType))).RawType))
        => ItemType = itemType;

    /// <summary>The item type.</summary>
    public NumberDataViewType ItemType { get; }

    /// <summary>Always 0: vectors in our pipelines are variable length (token id sequences).</summary>
    public int Size => 0;

    /// <inheritdoc/>
    public override string ToString() => $"Vector<{ItemType}>";
}
