// Open-addressing hash map from a token pair (left id, right id) to the id they merge into.
using System.Runtime.CompilerServices;

namespace MLNetGpt.Tokenizers.Bpe;

/// <summary>Map (left, right) → merged id. The merged id is also the merge's priority: lower merges first.</summary>
internal sealed class PairTable
{
    private const ulong Empty = ulong.MaxValue;
    private ulong[] _keys;
    private int[] _values;
    private int _count;
    private int _shift;

    public PairTable(int capacity = 1024)
    {
        var slots = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(8, capacity * 2));
        _keys = new ulong[slots];
        Array.Fill(_keys, Empty);
        _values = new int[slots];
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)slots);
    }

    public int Count => _count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Key(int left, int right) => ((ulong)(uint)left << 32) | (uint)right;

    /// <summary>The merged id, or <see cref="int.MaxValue"/> when the pair does not merge.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Get(int left, int right)
    {
        var key = Key(left, right);
        var keys = _keys;
        var mask = keys.Length - 1;
        var slot = (int)((key * 0x9E3779B97F4A7C15UL) >> _shift);
        while (true)
        {
            var k = keys[slot];
            if (k == key) return _values[slot];
            if (k == Empty) return int.MaxValue;
            slot = (slot + 1) & mask;
        }
    }

    /// <summary>Adds or overwrites; returns false when the key was present.</summary>
    public bool Set(int left, int right, int value)
    {
        if ((_count + 1) * 2 > _keys.Length) Grow();
        var key = Key(left, right);
        var mask = _keys.Length - 1;
        var slot = (int)((key * 0x9E3779B97F4A7C15UL) >> _shift);
        while (true)
        {
            var k = _keys[slot];
            if (k == key)
            {
                _values[slot] = value;
                return false;
            }
            if (k == Empty)
            {
                _keys[slot] = key;
                _values[slot] = value;
                _count++;
                return true;
            }
            slot = (slot + 1) & mask;
        }
    }

    private void Grow()
    {
        var oldKeys = _keys;
        var oldValues = _values;
        _keys = new ulong[oldKeys.Length * 2];
        Array.Fill(_keys, Empty);
        _values = new int[_keys.Length];
        _shift--;
        _count = 0;
        for (var i = 0; i < oldKeys.Length; i++)
            if (oldKeys[i] != Empty) Set((int)(oldKeys[i] >> 32), (int)(uint)oldKeys[i], oldValues[i]);
    }
}
