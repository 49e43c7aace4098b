// Open-addressing hash map from byte strings to ints, looked up by span without allocation.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MLNetGpt.Tokenizers.Bpe;

/// <summary>
/// Append-only map byte string → int. Keys live in one arena; lookups take a span and allocate nothing.
/// Each slot holds the hash, the key's place in the arena and the value, so a hit costs one slot read and one key compare.
/// Entries are also numbered in insertion order (<see cref="KeyAt"/>, <see cref="ValueAt"/>).
/// </summary>
internal sealed class ByteSpanTable
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Slot
    {
        public ulong Hash;
        public int Offset;
        public int Length;
        public int Value;
        public int IndexPlusOne; // 0 = empty slot
    }

    private byte[] _arena;
    private int _arenaLength;
    private Slot[] _slots;
    private int[] _slotOfIndex; // insertion index → slot
    private int _count;
    private int _mask;

    public ByteSpanTable(int capacity = 1024, int arenaBytes = 4096)
    {
        _arena = new byte[Math.Max(16, arenaBytes)];
        capacity = Math.Max(4, capacity);
        var slots = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity * 2);
        _slots = new Slot[slots];
        _slotOfIndex = new int[capacity];
        _mask = slots - 1;
    }

    public int Count => _count;

    /// <summary>The key of entry <paramref name="index"/> (entries are numbered in insertion order).</summary>
    public ReadOnlySpan<byte> KeyAt(int index)
    {
        ref var slot = ref _slots[_slotOfIndex[index]];
        return _arena.AsSpan(slot.Offset, slot.Length);
    }

    public int ValueAt(int index) => _slots[_slotOfIndex[index]].Value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetValue(ReadOnlySpan<byte> key, out int value)
    {
        var hash = Hash(key);
        var slots = _slots;
        var mask = _mask;
        var i = (int)hash & mask;
        while (true)
        {
            ref var slot = ref slots[i];
            if (slot.IndexPlusOne == 0) break;
            if (slot.Hash == hash && slot.Length == key.Length && key.SequenceEqual(new ReadOnlySpan<byte>(_arena, slot.Offset, slot.Length)))
            {
                value = slot.Value;
                return true;
            }
            i = (i + 1) & mask;
        }
        value = -1;
        return false;
    }

    /// <summary>Adds the key, or returns the index of the existing entry. <paramref name="added"/> says which.</summary>
    public int GetOrAdd(ReadOnlySpan<byte> key, int value, out bool added)
    {
        var hash = Hash(key);
        var i = (int)hash & _mask;
        while (true)
        {
            ref var slot = ref _slots[i];
            if (slot.IndexPlusOne == 0) break;
            if (slot.Hash == hash && key.SequenceEqual(_arena.AsSpan(slot.Offset, slot.Length)))
            {
                added = false;
                return slot.IndexPlusOne - 1;
            }
            i = (i + 1) & _mask;
        }
        if (_count == _slotOfIndex.Length) Array.Resize(ref _slotOfIndex, _count * 2);
        if (_arenaLength + key.Length > _arena.Length) Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _arenaLength + key.Length));
        var index = _count++;
        key.CopyTo(_arena.AsSpan(_arenaLength));
        _slots[i] = new Slot { Hash = hash, Offset = _arenaLength, Length = key.Length, Value = value, IndexPlusOne = index + 1 };
        _slotOfIndex[index] = i;
        _arenaLength += key.Length;
        if (_count * 2 > _slots.Length) Rehash();
        added = true;
        return index;
    }

    private void Rehash()
    {
        var old = _slots;
        _slots = new Slot[old.Length * 2];
        _mask = _slots.Length - 1;
        foreach (var slot in old)
        {
            if (slot.IndexPlusOne == 0) continue;
            var i = (int)slot.Hash & _mask;
            while (_slots[i].IndexPlusOne != 0) i = (i + 1) & _mask;
            _slots[i] = slot;
            _slotOfIndex[slot.IndexPlusOne - 1] = i;
        }
    }

    /// <summary>Fast 64-bit hash of a short byte string: 8-byte words, and overlapping reads for the tail (no byte loop).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Hash(ReadOnlySpan<byte> key)
    {
        ref var p = ref MemoryMarshal.GetReference(key);
        var length = key.Length;
        var h = (ulong)length * 0x9E3779B97F4A7C15UL;
        ulong tail;
        if (length >= 8)
        {
            for (var i = 0; i + 8 < length; i += 8)
            {
                h = (h ^ Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i))) * 0xBF58476D1CE4E5B9UL;
                h ^= h >> 31;
            }
            tail = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, length - 8));
        }
        else if (length >= 4)
        {
            tail = Unsafe.ReadUnaligned<uint>(ref p) | ((ulong)Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, length - 4)) << 32);
        }
        else if (length > 0)
        {
            tail = p | ((ulong)Unsafe.Add(ref p, length >> 1) << 8) | ((ulong)Unsafe.Add(ref p, length - 1) << 16);
        }
        else
        {
            tail = 0;
        }
        h = (h ^ tail) * 0x94D049BB133111EBUL;
        h ^= h >> 29;
        h *= 0xBF58476D1CE4E5B9UL;
        return h ^ (h >> 32);
    }
}
