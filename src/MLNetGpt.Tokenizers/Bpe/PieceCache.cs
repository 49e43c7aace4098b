// A per-thread memo of merged pieces (UTF-8 bytes → ids), so that repeated words skip the merge loop.
using System.Runtime.CompilerServices;

namespace MLNetGpt.Tokenizers.Bpe;

/// <summary>
/// Natural text repeats its rarer words: in Tiny Shakespeare 26,000 pieces need merging but only 7,500 are distinct, and
/// each merge walks the pair table (megabytes, mostly out of cache) a dozen times. The merge result is a pure function of
/// the model and the piece's bytes, so this thread's cache, bound to one model at a time, returns it instead.
/// <para>Fully associative, open addressing: a slot holds 17 bits of the hash and the entry's index; keys and ids sit in
/// two arenas. Once full (16,384 pieces or an arena) it stops taking new pieces, as Hugging Face's tokenizers do, so a
/// stream of ever-new words costs one failed lookup per merged piece and never a refill. About 0.6 MB per thread that
/// encodes, allocated on first use; nothing after. Tokenizers stay immutable: the cache belongs to the thread.</para>
/// </summary>
internal sealed class PieceCache
{
    /// <summary>Longer pieces are merged every time (they are rare).</summary>
    public const int MaxPieceBytes = 16;

    private const int EntryBits = 14;
    private const int MaxEntries = 1 << EntryBits;
    private const int SlotBits = EntryBits + 1;    // load at most one half
    private const int Slots = 1 << SlotBits;
    private const int KeyArenaBytes = MaxEntries * 8;
    private const int IdArenaLength = MaxEntries * 3;

    [ThreadStatic] private static PieceCache? t_cache;

    private readonly uint[] _slots = new uint[Slots];           // 0 = empty; else (hash tag << EntryBits | entry) + 1
    private readonly int[] _keyStart = new int[MaxEntries + 1];
    private readonly int[] _idStart = new int[MaxEntries + 1];
    private readonly byte[] _keys = new byte[KeyArenaBytes];
    private readonly int[] _ids = new int[IdArenaLength];
    private int _count;
    private BpeModel? _model;

    /// <summary>This thread's cache for <paramref name="model"/> (emptied when the thread last used another model).</summary>
    public static PieceCache For(BpeModel model)
    {
        var cache = t_cache ??= new PieceCache();
        if (!ReferenceEquals(cache._model, model))
        {
            Array.Clear(cache._slots);
            cache._count = 0;
            cache._model = model;
        }
        return cache;
    }

    /// <summary>Appends the cached ids of <paramref name="piece"/> to <paramref name="output"/>; false when it is not cached.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAppend(ReadOnlySpan<byte> piece, ulong hash, Text.IdBuffer output)
    {
        var tag = (uint)(hash >> (64 - (32 - EntryBits)));   // the top bits, independent of the slot index below
        for (var slot = (int)hash & (Slots - 1); ; slot = (slot + 1) & (Slots - 1))
        {
            var stored = _slots[slot];
            if (stored == 0) return false;
            stored--;
            if (stored >> EntryBits != tag) continue;
            var entry = (int)(stored & (MaxEntries - 1));
            var keyStart = _keyStart[entry];
            if (!piece.SequenceEqual(_keys.AsSpan(keyStart, _keyStart[entry + 1] - keyStart))) continue;
            output.AddRange(_ids.AsSpan(_idStart[entry], _idStart[entry + 1] - _idStart[entry]));
            return true;
        }
    }

    /// <summary>Remembers the ids of a piece that <see cref="TryAppend"/> did not find, while there is room.</summary>
    public void Add(ReadOnlySpan<byte> piece, ulong hash, ReadOnlySpan<int> ids)
    {
        if (_count == MaxEntries || _keyStart[_count] + piece.Length > KeyArenaBytes || _idStart[_count] + ids.Length > IdArenaLength) return;
        var tag = (uint)(hash >> (64 - (32 - EntryBits)));
        var slot = (int)hash & (Slots - 1);
        while (_slots[slot] != 0) slot = (slot + 1) & (Slots - 1);
        _slots[slot] = ((tag << EntryBits) | (uint)_count) + 1;
        piece.CopyTo(_keys.AsSpan(_keyStart[_count]));
        ids.CopyTo(_ids.AsSpan(_idStart[_count]));
        _keyStart[_count + 1] = _keyStart[_count] + piece.Length;
        _idStart[_count + 1] = _idStart[_count] + ids.Length;
        _count++;
    }
}
