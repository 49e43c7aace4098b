// The non-public ML.NET members our public API needs besides persistence: catalogs' environments, schema shapes, TrainTestData.
using System.Runtime.CompilerServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MLNetGpt.Internals;

internal static class MLNetAccess
{
    // Catalogs keep the MLContext (an IHostEnvironment) in a private field; ML.NET's own extensions reach it through an
    // internal interface of Microsoft.ML.Data, which we do not publicize.
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_env")]
    private static extern ref IHostEnvironment TextEnvironment(TransformsCatalog.TextTransforms catalog);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_env")]
    private static extern ref IHostEnvironment DataEnvironment(DataOperationsCatalog catalog);

    [UnsafeAccessor(UnsafeAccessorKind.Constructor)]
    private static extern DataOperationsCatalog.TrainTestData NewTrainTestData(IDataView trainSet, IDataView testSet);

    /// <summary>The environment (the MLContext) behind <c>mlContext.Transforms.Text</c>.</summary>
    public static IHostEnvironment Environment(TransformsCatalog.TextTransforms catalog) =>
        TextEnvironment(catalog ?? throw new ArgumentNullException(nameof(catalog)));

    /// <summary>The environment (the MLContext) behind <c>mlContext.Data</c>.</summary>
    public static IHostEnvironment Environment(DataOperationsCatalog catalog) =>
        DataEnvironment(catalog ?? throw new ArgumentNullException(nameof(catalog)));

    /// <summary>ML.NET's own split pair (its constructor is internal).</summary>
    public static DataOperationsCatalog.TrainTestData TrainTestData(IDataView trainSet, IDataView testSet) => NewTrainTestData(trainSet, testSet);

    /// <summary>A column of an estimator's output <see cref="SchemaShape"/> (the constructor is internal).</summary>
    public static SchemaShape.Column Column(string name, SchemaShape.Column.VectorKind kind, DataViewType itemType,
        SchemaShape? annotations = null) =>
        new(name, kind, itemType, isKey: false, annotations);
}
