// Holds the values of one pass-through column for a micro-batch of rows, so a batched cursor can serve them after reading ahead.
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetGpt.Data;

/// <summary>
/// Values of one column for the rows of a micro-batch. A cursor that reads B rows ahead to generate them together must
/// serve every other active column from copies: the input cursor has moved on and may reuse its buffers.
/// </summary>
internal abstract class ColumnBuffer
{
    /// <summary>A buffer of <paramref name="capacity"/> rows for <paramref name="column"/> of <paramref name="input"/>.</summary>
    public static ColumnBuffer Create(DataViewRow input, DataViewSchema.Column column, int capacity)
    {
        var raw = column.Type.RawType;
        var type = raw.IsGenericType && raw.GetGenericTypeDefinition() == typeof(VBuffer<>)
            ? typeof(VectorBuffer<>).MakeGenericType(raw.GetGenericArguments()[0])
            : typeof(ValueBuffer<>).MakeGenericType(raw);
        return (ColumnBuffer)Activator.CreateInstance(type, input, column, capacity)!;
    }

    /// <summary>Copies the input's current value into <paramref name="slot"/>.</summary>
    public abstract void Capture(int slot);

    /// <summary>A getter of the value in the slot <paramref name="slot"/>() names.</summary>
    public abstract Delegate Getter(Func<int> slot);

    private sealed class ValueBuffer<T>(DataViewRow input, DataViewSchema.Column column, int capacity) : ColumnBuffer
    {
        private readonly ValueGetter<T> _source = input.GetGetter<T>(column);
        private readonly T[] _values = new T[capacity];

        public override void Capture(int slot)
        {
            _source(ref _values[slot]);
            // Text may point into a buffer the source reuses; everything else here is a plain value.
            if (_values[slot] is ReadOnlyMemory<char> text) _values[slot] = (T)(object)text.ToString().AsMemory();
        }

        public override Delegate Getter(Func<int> slot) => (ValueGetter<T>)((ref T dst) => dst = _values[slot()]);
    }

    private sealed class VectorBuffer<T>(DataViewRow input, DataViewSchema.Column column, int capacity) : ColumnBuffer
    {
        private readonly ValueGetter<VBuffer<T>> _source = input.GetGetter<VBuffer<T>>(column);
        private readonly VBuffer<T>[] _values = new VBuffer<T>[capacity];
        private VBuffer<T> _scratch;

        public override void Capture(int slot)
        {
            _source(ref _scratch);
            _scratch.CopyTo(ref _values[slot]); // a deep copy: the slot owns its arrays
        }

        public override Delegate Getter(Func<int> slot) => (ValueGetter<VBuffer<T>>)((ref VBuffer<T> dst) => _values[slot()].CopyTo(ref dst));
    }
}
