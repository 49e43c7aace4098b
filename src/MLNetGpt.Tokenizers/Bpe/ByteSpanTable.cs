// Open-addressing hash map from byte strings to ints, looked up by span without allocation.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MLNetGpt.Tokenizers.Bpe;

/// <summary>Append-only map byte string → int. Keys live in one arena; lookups take a span and allocate nothing.</summary>
internal sealed class ByteSpanTable
{
    private byte[] _arena;
    private int _arenaLength;
    private int[] _keyOffset;
    private int[] _keyLength;
    private int[] _values;
    private ulong[] _hashes;
    private int[] _slots; // entry index + 1; 0 = empty
    private int _count;
    private int _mask;

    public ByteSpanTable(int capacity = 1024, int arenaBytes = 4096)
    {
        _arena = new byte[Math.Max(16, arenaBytes)];
        capacity = Math.Max(4, capacity);
        _keyOffset = new int[capacity];
        _keyLength = new int[capacity];
        _values = new int[capacity];
        _hashes = new ulong[capacity];
        var slots = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity * 2);
        _slots = new int[slots];
        _mask = slots - 1;
    }

    public int Count => _count;

    /// <summary>The key of entry <paramref name="index"/> (entries are numbered in insertion order).</summary>
    public ReadOnlySpan<byte> KeyAt(int index) => _arena.AsSpan(_keyOffset[index], _keyLength[index]);

    public int ValueAt(int index) => _values[index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetValue(ReadOnlySpan<byte> key, out int value)
    {
        var hash = Hash(key);
        var slot = (int)hash & _mask;
        while (true)
        {
            var e = _slots[slot] - 1;
            if (e < 0) break;
            if (_hashes[e] == hash && key.SequenceEqual(_arena.AsSpan(_keyOffset[e], _keyLength[e])))
            {
                value = _values[e];
                return true;
            }
            slot = (slot + 1) & _mask;
        }
        value = -1;
        return false;
    }

    /// <summary>Adds the key, or returns the index of the existing entry. <paramref name="added"/> says which.</summary>
    public int GetOrAdd(ReadOnlySpan<byte> key, int value, out bool added)
    {
        var hash = Hash(key);
        var slot = (int)hash & _mask;
        while (true)
        {
            var e = _slots[slot] - 1;
            if (e < 0) break;
            if (_hashes[e] == hash && key.SequenceEqual(_arena.AsSpan(_keyOffset[e], _keyLength[e])))
            {
                added = false;
                return e;
            }
            slot = (slot + 1) & _mask;
        }
        if (_count == _values.Length) GrowEntries();
        if (_arenaLength + key.Length > _arena.Length) Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _arenaLength + key.Length));
        var index = _count++;
        key.CopyTo(_arena.AsSpan(_arenaLength));
        _keyOffset[index] = _arenaLength;
        _keyLength[index] = key.Length;
        _arenaLength += key.Length;
        _values[index] = value;
        _hashes[index] = hash;
        if (_count * 2 > _slots.Length) Rehash();
        else _slots[slot] = index + 1;
        added = true;
        return index;
    }

    private void GrowEntries()
    {
        var n = _values.Length * 2;
        Array.Resize(ref _keyOffset, n);
        Array.Resize(ref _keyLength, n);
        Array.Resize(ref _values, n);
        Array.Resize(ref _hashes, n);
    }

    private void Rehash()
    {
        var slots = new int[_slots.Length * 2];
        var mask = slots.Length - 1;
        for (var e = 0; e < _count; e++)
        {
            var slot = (int)_hashes[e] & mask;
            while (slots[slot] != 0) slot = (slot + 1) & mask;
            slots[slot] = e + 1;
        }
        _slots = slots;
        _mask = mask;
    }

    /// <summary>Fast 64-bit hash of a short byte string (8 bytes per multiply; the tail is read as one word).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Hash(ReadOnlySpan<byte> key)
    {
        ref var p = ref MemoryMarshal.GetReference(key);
        var length = key.Length;
        var h = (ulong)length * 0x9E3779B97F4A7C15UL;
        var i = 0;
        for (; i + 8 <= length; i += 8)
        {
            h = (h ^ Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i))) * 0xBF58476D1CE4E5B9UL;
            h ^= h >> 31;
        }
        if (i < length)
        {
            ulong tail = 0;
            for (var k = 0; i + k < length; k++) tail |= (ulong)Unsafe.Add(ref p, i + k) << (8 * k);
            h = (h ^ tail) * 0x94D049BB133111EBUL;
        }
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9UL;
        return h ^ (h >> 32);
    }
}
