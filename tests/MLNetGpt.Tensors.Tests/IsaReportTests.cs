// Reports which SIMD paths this test run exercises (.ci/run adds runs with DOTNET_EnableAVX512=0 and DOTNET_EnableAVX=0).
namespace MLNetGpt.Tensors.Tests;

[TestClass]
public sealed class IsaReportTests
{
    [TestMethod]
    public void ReportsSimdPaths()
    {
        Console.WriteLine($"ISA: {CpuIsa.Describe()}; widths tested: {string.Join(", ", Widths.Supported)}");
        Assert.AreEqual(CpuIsa.Best, Widths.Supported[0]);
        Assert.IsTrue(System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated || !System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated);
    }
}
