// Flat arenas: parameters, gradients, optimizer moments and activations each live in one float[] cut at offsets,
// described by one table of (name, offset, shape, decays). The optimizer is one loop and a step allocates nothing.
using System.Collections.Frozen;

namespace MLNetGpt.Tensors;

/// <summary>One named tensor inside an arena: where it starts, its shape, and whether AdamW applies weight decay to it.</summary>
/// <param name="Name">Tensor name (GPT-2 checkpoint names for parameters, e.g. "h.0.attn.c_attn.weight").</param>
/// <param name="Offset">First element in the arena.</param>
/// <param name="Length">Number of elements (product of the shape).</param>
/// <param name="Shape">Dimensions, row-major.</param>
/// <param name="Decays">True when weight decay applies (2-D weights); false for biases, LayerNorm and similar.</param>
public sealed record ArenaSlice(string Name, int Offset, int Length, int[] Shape, bool Decays)
{
    /// <summary>The shape as text, e.g. "[768,384]".</summary>
    public string ShapeText => "[" + string.Join(",", Shape) + "]";
}

/// <summary>The table of slices for arenas of one role set (for example params, grads, m and v all share one layout).</summary>
public sealed class ArenaLayout
{
    private readonly FrozenDictionary<string, ArenaSlice> _byName;

    private ArenaLayout(List<ArenaSlice> slices, long total)
    {
        Slices = slices;
        TotalLength = checked((int)total);
        _byName = slices.ToFrozenDictionary(s => s.Name, StringComparer.Ordinal);
    }

    /// <summary>All slices in offset order.</summary>
    public IReadOnlyList<ArenaSlice> Slices { get; }

    /// <summary>Total number of floats.</summary>
    public int TotalLength { get; }

    /// <summary>The slice named <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> listing nothing but the name.</summary>
    public ArenaSlice this[string name] =>
        _byName.TryGetValue(name, out var s) ? s : throw new KeyNotFoundException($"No tensor named '{name}' in the arena.");

    /// <summary>True when a slice named <paramref name="name"/> exists.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Starts a new layout.</summary>
    public static Builder CreateBuilder() => new();

    /// <summary>Collects slices in order; each <see cref="Add"/> returns the slice it appended.</summary>
    public sealed class Builder
    {
        private readonly List<ArenaSlice> _slices = [];
        private readonly HashSet<string> _names = new(StringComparer.Ordinal);
        private long _offset;

        /// <summary>Appends a tensor of the given shape. Names must be unique and dimensions positive.</summary>
        public ArenaSlice Add(string name, bool decays, params int[] shape)
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            if (shape.Length == 0) throw new ArgumentException($"Tensor '{name}' needs at least one dimension.", nameof(shape));
            long length = 1;
            foreach (int d in shape)
            {
                if (d <= 0) throw new ArgumentException($"Tensor '{name}' has a non-positive dimension in [{string.Join(",", shape)}].", nameof(shape));
                length *= d;
            }
            if (!_names.Add(name)) throw new ArgumentException($"Tensor '{name}' was added twice.", nameof(name));
            if (_offset + length > Array.MaxLength) throw new ArgumentException($"Arena exceeds {Array.MaxLength} floats at tensor '{name}'.", nameof(shape));
            var slice = new ArenaSlice(name, (int)_offset, (int)length, (int[])shape.Clone(), decays);
            _slices.Add(slice);
            _offset += length;
            return slice;
        }

        /// <summary>Freezes the layout.</summary>
        public ArenaLayout Build() => new(_slices, _offset);
    }
}

/// <summary>One float[] laid out by an <see cref="ArenaLayout"/>.</summary>
public sealed class Arena
{
    private Arena(ArenaLayout layout)
    {
        Layout = layout;
        Data = new float[layout.TotalLength];
    }

    /// <summary>The table of slices.</summary>
    public ArenaLayout Layout { get; }

    /// <summary>The backing storage (zeroed at creation).</summary>
    public float[] Data { get; }

    /// <summary>Allocates a zeroed arena for <paramref name="layout"/>.</summary>
    public static Arena Create(ArenaLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return new Arena(layout);
    }

    /// <summary>The elements of <paramref name="slice"/>.</summary>
    public Span<float> this[ArenaSlice slice] => Data.AsSpan(slice.Offset, slice.Length);

    /// <summary>The elements of the slice named <paramref name="name"/> (a dictionary lookup; hot loops should keep the slice).</summary>
    public Span<float> this[string name] => this[Layout[name]];

    /// <summary>The whole arena.</summary>
    public Span<float> Span => Data;

    /// <summary>Sets every element to zero.</summary>
    public void Clear() => Array.Clear(Data);
}
