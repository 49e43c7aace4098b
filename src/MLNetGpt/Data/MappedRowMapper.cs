// The row-to-row form of a mapping step: what PredictionEngine and a chain's GetRowToRowMapper use, one row at a time.
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetGpt.Data;

/// <summary>Maps single rows with a <see cref="BatchMapper"/> (a batch of one); not thread-safe, like ML.NET's own rows.</summary>
internal sealed class MappedRowMapper : IRowToRowMapper
{
    private readonly BatchMapper _mapper;
    private readonly DataViewSchema.Column _input;

    public MappedRowMapper(DataViewSchema inputSchema, BatchMapper mapper)
    {
        _mapper = mapper;
        _input = mapper.RequireInput(inputSchema);
        InputSchema = inputSchema;
        OutputSchema = OutputColumn.Append(inputSchema, mapper.Outputs);
    }

    public DataViewSchema InputSchema { get; }

    public DataViewSchema OutputSchema { get; }

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        int n = InputSchema.Count;
        var needed = new List<DataViewSchema.Column>();
        foreach (var c in dependingColumns) needed.Add(c.Index < n ? InputSchema[c.Index] : _input);
        return needed.DistinctBy(c => c.Index).ToList();
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        int n = InputSchema.Count;
        var active = new bool[_mapper.Outputs.Count];
        foreach (var c in activeColumns)
            if (c.Index >= n) active[c.Index - n] = true;
        return new Row(OutputSchema, input, _mapper, active.Any(a => a) ? _mapper.SourceReader(input, _input) : null, active);
    }

    private sealed class Row(DataViewSchema schema, DataViewRow input, BatchMapper mapper, Func<object>? readSource, bool[] active) : DataViewRow
    {
        private readonly object?[][] _values = [new object?[active.Length]];
        private readonly object[] _source = new object[1];
        private readonly long[] _position = new long[1];
        private long _computedAt = -1;

        public override DataViewSchema Schema => schema;

        public override long Position => input.Position;

        public override long Batch => input.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index < input.Schema.Count ? input.IsColumnActive(input.Schema[column.Index]) : active[column.Index - input.Schema.Count];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            int n = input.Schema.Count;
            if (column.Index < n) return input.GetGetter<TValue>(input.Schema[column.Index]);
            int k = column.Index - n;
            if (!active[k]) throw new InvalidOperationException($"Column '{column.Name}' is not active in this row.");
            return mapper.Outputs[k].Getter<TValue>(() =>
            {
                // Compute once per input row: the prediction engine moves the input's position with each Predict.
                if (_computedAt != input.Position || input.Position < 0)
                {
                    _source[0] = readSource!();
                    _position[0] = Math.Max(0, input.Position);
                    Array.Clear(_values[0]);
                    mapper.Map(_source, _position, _values, CancellationToken.None);
                    _computedAt = input.Position;
                }
                return _values[0][k];
            });
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) input.Dispose();
            base.Dispose(disposing);
        }
    }
}
