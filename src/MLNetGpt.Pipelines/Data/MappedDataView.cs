// The lazy view a transformer returns: input columns passed through plus output columns computed batch by batch on demand.
namespace MLNetGpt.Pipelines;

/// <summary>Computes output cells for a batch of rows. <c>sources[r][s]</c> is row r's boxed value of source column s,
/// <c>rowIds[r]</c> its position in the input view; write <c>outputs[r][o]</c> for every output column o.</summary>
internal delegate void BatchMapper(object?[][] sources, long[] rowIds, object?[][] outputs, CancellationToken cancellationToken);

/// <summary>An output column a <see cref="MappedDataView"/> adds.</summary>
internal sealed record OutputColumn(string Name, DataViewType Type, DataViewSchema.Annotations? Annotations = null);

/// <summary>
/// A view over <c>input</c> that adds output columns (replacing same-named input columns). A cursor pulls up to
/// <c>batchSize</c> rows from the input cursor, buffers the active pass-through cells, and calls the mapper once per
/// batch, so memory is bounded by the batch size whatever the number of rows. Outputs are computed only when a cursor
/// asks for at least one of them, and cancellation is checked between batches.
/// </summary>
internal sealed class MappedDataView : IDataView
{
    private readonly IDataView _input;
    private readonly OutputColumn[] _outputs;
    private readonly DataViewSchema.Column[] _sources;
    private readonly int _batchSize;
    private readonly BatchMapper _mapper;
    private readonly CancellationToken _cancellationToken;
    private readonly int[] _inputIndexOf; // output schema column -> input column index, or -1 for computed columns

    public MappedDataView(IDataView input, IReadOnlyList<OutputColumn> outputs, IReadOnlyList<string> sourceColumnNames,
        int batchSize, BatchMapper mapper, CancellationToken cancellationToken = default)
    {
        _input = input;
        _outputs = outputs.ToArray();
        _sources = sourceColumnNames.Select(n => SchemaErrors.RequireColumn(input.Schema, n)).ToArray();
        _batchSize = Math.Max(1, batchSize);
        _mapper = mapper;
        _cancellationToken = cancellationToken;
        Schema = OutputSchema(input.Schema, _outputs);
        _inputIndexOf = Schema.Select(c => _outputs.Any(o => o.Name == c.Name) ? -1 : input.Schema[c.Name].Index).ToArray();
    }

    /// <summary>The schema of input columns plus <paramref name="outputs"/>.</summary>
    public static DataViewSchema OutputSchema(DataViewSchema input, IEnumerable<OutputColumn> outputs)
    {
        var builder = new DataViewSchema.Builder().AddColumns(input);
        foreach (var o in outputs) builder.AddColumn(o.Name, o.Type, o.Annotations);
        return builder.ToSchema();
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, ActiveColumns.Of(Schema, columnsNeeded));

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly MappedDataView _view;
        private readonly bool[] _active;
        private readonly bool _computeOutputs;
        private readonly DataViewRowCursor _upstream;
        private readonly DataViewSchema.Column[] _passThrough; // upstream columns to buffer
        private readonly int[] _passSlot;                      // output schema index -> slot in buffered pass-through cells, -1 if computed
        private readonly int[] _outputSlot;                    // output schema index -> output index, -1 if passed through
        private readonly Func<object?>[] _passReaders;
        private readonly Func<object?>[] _sourceReaders;
        private object?[][] _passCells = [];
        private object?[][] _outputCells = [];
        private int _count;        // rows in the current batch
        private int _index = -1;   // current row within the batch
        private long _position = -1;
        private bool _done;

        public Cursor(MappedDataView view, bool[] active)
        {
            _view = view;
            _active = active;
            var schema = view.Schema;
            _outputSlot = new int[schema.Count];
            _passSlot = new int[schema.Count];
            var pass = new List<DataViewSchema.Column>();
            for (int i = 0; i < schema.Count; i++)
            {
                int inputIndex = view._inputIndexOf[i];
                _outputSlot[i] = inputIndex < 0 ? Array.FindIndex(view._outputs, o => o.Name == schema[i].Name) : -1;
                _passSlot[i] = -1;
                if (inputIndex >= 0 && active[i])
                {
                    _passSlot[i] = pass.Count;
                    pass.Add(view._input.Schema[inputIndex]);
                }
                if (inputIndex < 0 && active[i]) _computeOutputs = true;
            }
            _passThrough = pass.ToArray();
            var needed = _computeOutputs ? pass.Concat(view._sources).DistinctBy(c => c.Index) : pass;
            _upstream = view._input.GetRowCursor(needed.ToArray());
            _passReaders = _passThrough.Select(c => BoxedValues.ReadBoxed(_upstream, c)).ToArray();
            _sourceReaders = _computeOutputs ? view._sources.Select(c => BoxedValues.ReadBoxed(_upstream, c)).ToArray() : [];
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _position;

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override bool MoveNext()
        {
            if (_done) return false;
            if (++_index >= _count && !FillBatch())
            {
                _done = true;
                return false;
            }
            _position++;
            return true;
        }

        private bool FillBatch()
        {
            _view._cancellationToken.ThrowIfCancellationRequested();
            int capacity = _view._batchSize;
            var pass = new object?[capacity][];
            var sources = new object?[capacity][];
            var ids = new long[capacity];
            int n = 0;
            while (n < capacity && _upstream.MoveNext())
            {
                pass[n] = _passReaders.Select(r => r()).ToArray();
                sources[n] = _sourceReaders.Select(r => r()).ToArray();
                ids[n] = _upstream.Position;
                n++;
            }
            if (n == 0) return false;
            _passCells = pass;
            if (_computeOutputs)
            {
                if (n < capacity)
                {
                    Array.Resize(ref sources, n);
                    Array.Resize(ref ids, n);
                }
                var outputs = new object?[n][];
                for (int r = 0; r < n; r++) outputs[r] = new object?[_view._outputs.Length];
                _view._mapper(sources, ids, outputs, _view._cancellationToken);
                _outputCells = outputs;
            }
            _count = n;
            _index = 0;
            return true;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            ActiveColumns.Check(this, column);
            int pass = _passSlot[column.Index], output = _outputSlot[column.Index];
            return BoxedValues.MakeGetter<TValue>(column, () =>
            {
                if (_index < 0 || _index >= _count) throw new InvalidOperationException("The cursor is not on a row; call MoveNext first.");
                return pass >= 0 ? _passCells[_index][pass] : _outputCells[_index][output];
            });
        }

        protected override void Dispose(bool disposing) => _upstream.Dispose();
    }
}
