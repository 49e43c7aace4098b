// The lazy view a mapping step's Transform returns: input columns pass through, the step's columns are computed as cursors move.
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetGpt.Data;

/// <summary>
/// <paramref name="source"/> with <paramref name="mapper"/>'s columns appended. Nothing runs until a cursor moves; a cursor
/// computes a micro-batch of <see cref="BatchMapper.BatchSize"/> rows at a time, so memory is bounded for any row count.
/// </summary>
internal sealed class MappedDataView(IDataView source, BatchMapper mapper, CancellationToken cancellationToken = default) : IDataView
{
    private readonly DataViewSchema.Column _input = mapper.RequireInput(source.Schema);

    public DataViewSchema Schema { get; } = OutputColumn.Append(source.Schema, mapper.Outputs);

    // Row r of a batched step is computed from (seed, r): shuffling would change which rows get which stream, so a
    // batched view does not offer it; a row-by-row step (tokenizing) shuffles with its source.
    public bool CanShuffle => mapper.BatchSize == 1 && source.CanShuffle;

    public long? GetRowCount() => source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var (inputs, active) = Needed(columnsNeeded);
        return new MappedCursor(Schema, source.GetRowCursor(inputs, CanShuffle ? rand : null), mapper, _input, active, cancellationToken);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        // A batched step keeps one cursor: it already spreads each batch over every core, and splitting the rows would
        // renumber their positions. A row-by-row step splits with its source.
        if (mapper.BatchSize > 1) return [GetRowCursor(columnsNeeded, rand)];
        var (inputs, active) = Needed(columnsNeeded);
        return source.GetRowCursorSet(inputs, n, CanShuffle ? rand : null)
            .Select(c => (DataViewRowCursor)new MappedCursor(Schema, c, mapper, _input, active, cancellationToken)).ToArray();
    }

    /// <summary>The source columns a request needs, and which of our output columns are active.</summary>
    private (List<DataViewSchema.Column> Inputs, bool[] Active) Needed(IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        int n = source.Schema.Count;
        var active = new bool[mapper.Outputs.Count];
        var inputs = new List<DataViewSchema.Column>();
        foreach (var c in columnsNeeded)
        {
            if (c.Index < n) inputs.Add(source.Schema[c.Index]);
            else active[c.Index - n] = true;
        }
        if (active.Any(a => a)) inputs.Add(_input);
        return (inputs.DistinctBy(c => c.Index).ToList(), active);
    }
}

/// <summary>
/// A cursor over a <see cref="MappedDataView"/>. When an output column is active and the step is batched, MoveNext reads
/// a micro-batch from the input, copies its active columns, computes the batch, then serves it row by row.
/// </summary>
internal sealed class MappedCursor : DataViewRowCursor
{
    private readonly DataViewRowCursor _input;
    private readonly BatchMapper _mapper;
    private readonly bool[] _active;
    private readonly int _inputCount;
    private readonly CancellationToken _cancellationToken;
    private readonly Func<object>? _readSource;
    private readonly int _batch;
    private readonly ColumnBuffer?[]? _buffers;   // [input column index], batched mode only
    private readonly DataViewRowId[]? _ids;
    private readonly ValueGetter<DataViewRowId>? _idSource;
    private readonly object[] _sources;
    private readonly long[] _positions;
    private readonly object?[][] _outputs;         // [row in batch][output column]
    private int _slot = -1, _count;
    private long _position = -1;
    private bool _inputDone;

    public MappedCursor(DataViewSchema schema, DataViewRowCursor input, BatchMapper mapper, DataViewSchema.Column inputColumn,
        bool[] active, CancellationToken cancellationToken)
    {
        Schema = schema;
        _input = input;
        _mapper = mapper;
        _active = active;
        _inputCount = input.Schema.Count;
        _cancellationToken = cancellationToken;
        bool anyActive = active.Any(a => a);
        _batch = anyActive ? mapper.BatchSize : 1;
        if (anyActive) _readSource = mapper.SourceReader(input, inputColumn);
        _sources = new object[_batch];
        _positions = new long[_batch];
        _outputs = new object?[_batch][];
        for (int r = 0; r < _batch; r++) _outputs[r] = new object?[active.Length];
        if (_batch > 1)
        {
            _buffers = new ColumnBuffer?[_inputCount];
            for (int i = 0; i < _inputCount; i++)
                if (input.IsColumnActive(input.Schema[i])) _buffers[i] = ColumnBuffer.Create(input, input.Schema[i], _batch);
            _ids = new DataViewRowId[_batch];
            _idSource = input.GetIdGetter();
        }
    }

    public override DataViewSchema Schema { get; }

    public override long Position => _position;

    public override long Batch => 0;

    public override bool MoveNext()
    {
        if (_batch == 1)
        {
            if (!_input.MoveNext()) return false;
            _position++;
            if (_readSource is not null) Compute(1);
            _slot = 0;
            return true;
        }
        if (_slot + 1 < _count)
        {
            _slot++;
            _position++;
            return true;
        }
        if (_inputDone || !Fill()) return false;
        _slot = 0;
        _position++;
        return true;
    }

    private bool Fill()
    {
        _cancellationToken.ThrowIfCancellationRequested();
        int n = 0;
        while (n < _batch && _input.MoveNext())
        {
            _sources[n] = _readSource!();
            foreach (var b in _buffers!) b?.Capture(n);
            _idSource!(ref _ids![n]);
            n++;
        }
        if (n < _batch) _inputDone = true;
        _count = n;
        if (n == 0) return false;
        Compute(n);
        return true;
    }

    private void Compute(int rows)
    {
        if (_batch == 1) _sources[0] = _readSource!();
        for (int r = 0; r < rows; r++)
        {
            _positions[r] = _position + (_batch == 1 ? 0 : 1) + r;
            Array.Clear(_outputs[r]);
        }
        _mapper.Map(_sources.AsSpan(0, rows), _positions.AsSpan(0, rows), _outputs, _cancellationToken);
    }

    public override ValueGetter<DataViewRowId> GetIdGetter()
    {
        if (_ids is null) return _input.GetIdGetter();
        return (ref DataViewRowId id) => id = _ids[_slot];
    }

    public override bool IsColumnActive(DataViewSchema.Column column) =>
        column.Index < _inputCount ? _input.IsColumnActive(_input.Schema[column.Index]) : _active[column.Index - _inputCount];

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        if (column.Index < _inputCount)
        {
            if (_buffers is null) return _input.GetGetter<TValue>(_input.Schema[column.Index]);
            var buffer = _buffers[column.Index] ?? throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
            return buffer.Getter(() => _slot) as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Invalid TValue in GetGetter: '{typeof(TValue)}'; column '{column.Name}' is read as {column.Type.RawType}.");
        }
        int k = column.Index - _inputCount;
        if (!_active[k]) throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
        return _mapper.Outputs[k].Getter<TValue>(() =>
        {
            if (_slot < 0) throw new InvalidOperationException("The cursor has not moved to a row yet.");
            return _outputs[_slot][k];
        });
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _input.Dispose();
        base.Dispose(disposing);
    }
}
