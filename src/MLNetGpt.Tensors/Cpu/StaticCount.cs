// Compile-time counts for generic kernels: a kernel written once over TCount (rows, vectors, panels) is specialised by the
// JIT for each struct, so `if (T.Value > 2)` branches vanish and the accumulators stay in registers.
namespace MLNetGpt.Tensors;

internal interface IStaticCount { static abstract int Value { get; } }

internal struct Count0 : IStaticCount { public static int Value => 0; }
internal struct Count1 : IStaticCount { public static int Value => 1; }
internal struct Count2 : IStaticCount { public static int Value => 2; }
internal struct Count3 : IStaticCount { public static int Value => 3; }
internal struct Count4 : IStaticCount { public static int Value => 4; }
internal struct Count8 : IStaticCount { public static int Value => 8; }
internal struct Count6 : IStaticCount { public static int Value => 6; }
internal struct Count12 : IStaticCount { public static int Value => 12; }
