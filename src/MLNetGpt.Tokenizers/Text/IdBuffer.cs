// A growable int buffer that the encoders append token ids to without per-id bounds-checked List overhead.
using System.Runtime.CompilerServices;

namespace MLNetGpt.Tokenizers.Text;

/// <summary>Append-only list of token ids; reused across calls by one thread.</summary>
internal sealed class IdBuffer
{
    [ThreadStatic] private static IdBuffer? t_shared;

    private int[] _items;
    private int _count;

    /// <summary>This thread's reusable buffer, emptied. Callers copy what they need out before encoding again on this thread.</summary>
    public static IdBuffer RentForThread()
    {
        var buffer = t_shared ??= new IdBuffer(1024);
        buffer.Clear();
        return buffer;
    }

    public IdBuffer(int capacity = 256) => _items = new int[Math.Max(4, capacity)];

    public int Count => _count;

    public ReadOnlySpan<int> Span => _items.AsSpan(0, _count);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(int id)
    {
        if ((uint)_count < (uint)_items.Length) _items[_count++] = id;
        else Grow(id);
    }

    public void AddRange(ReadOnlySpan<int> ids)
    {
        if (_count + ids.Length > _items.Length)
            Array.Resize(ref _items, Math.Max(_items.Length * 2, _count + ids.Length));
        ids.CopyTo(_items.AsSpan(_count));
        _count += ids.Length;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int id)
    {
        Array.Resize(ref _items, _items.Length * 2);
        _items[_count++] = id;
    }

    public void Clear() => _count = 0;

    public int[] ToArray() => _items.AsSpan(0, _count).ToArray();
}
