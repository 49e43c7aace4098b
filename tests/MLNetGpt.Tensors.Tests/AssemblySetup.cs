// Test assembly settings: test classes run in parallel with each other, methods inside a class in order.
[assembly: Microsoft.VisualStudio.TestTools.UnitTesting.Parallelize(Scope = Microsoft.VisualStudio.TestTools.UnitTesting.ExecutionScope.ClassLevel, Workers = 2)]

namespace MLNetGpt.Tensors.Tests
{
    [Microsoft.VisualStudio.TestTools.UnitTesting.TestClass]
    public static class AssemblySetup
    {
        // Kernel tests use small shapes; with the production threshold they would all run on one thread and leave the
        // parallel partitions untested. Results do not depend on the threshold (each kernel's bits are thread-independent).
        [Microsoft.VisualStudio.TestTools.UnitTesting.AssemblyInitialize]
        public static void Init(Microsoft.VisualStudio.TestTools.UnitTesting.TestContext _) => WorkerPool.MinParallelWork = 0;
    }
}
