// Reports which SIMD paths this test run exercises (runs with DOTNET_PreferredVectorBitWidth=256 or DOTNET_EnableAVX2=0 cover the fallbacks).
namespace MLNetGpt.Tensors.Tests;

[TestClass]
public sealed class IsaReportTests
{
    [TestMethod]
    public void ReportsSimdPaths()
    {
        Console.WriteLine($"ISA: Vector512={System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated} Vector256={System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated} gemmAvx512={MatMulGemm.UseVector512}");
        // (no assertion on MatMulGemm.UseVector512: another test class switches it off briefly, in parallel)
        Assert.IsTrue(System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated || !System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated);
    }
}
