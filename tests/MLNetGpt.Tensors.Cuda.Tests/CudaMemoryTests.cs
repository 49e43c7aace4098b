// The device-memory contract: attached arrays live on the device until synced; anything else behaves as host memory;
// detached or dropped arrays free their device copies. And the clear error where there is no NVIDIA driver.
using System.Runtime.InteropServices;

namespace MLNetGpt.Tensors.Cuda.Tests;

[TestClass]
public sealed class CudaMemoryTests
{
    private static CudaBackend Gpu => Tests.Gpu.Backend;

    [TestMethod]
    public void AttachedArraysAreSyncedOnlyWhenAsked()
    {
        var a = new float[] { 1, 2, 3, 4, 5 };
        var o = new float[5];
        Gpu.Attach(a);
        Gpu.Attach(o);
        try
        {
            a[0] = 100; // a host write without CopyToDevice: the device keeps 1
            Gpu.ResidualForward(o, a, a, 5);
            CollectionAssert.AreEqual(new float[5], o, "the host copy of an attached output changes only on CopyToHost");
            Gpu.CopyToHost(o.AsSpan(1, 3)); // a sub-range
            CollectionAssert.AreEqual(new float[] { 0, 4, 6, 8, 0 }, o);
            Gpu.CopyToDevice(a.AsSpan(0, 1));
            Gpu.ResidualForward(o, a, a, 5);
            Gpu.CopyToHost(o);
            CollectionAssert.AreEqual(new float[] { 200, 4, 6, 8, 10 }, o);
            Gpu.Fill(o.AsSpan(2, 2), 7f);
            Assert.AreEqual(6f, o[2], "Fill of an attached range writes the device copy");
            Gpu.CopyToHost(o);
            CollectionAssert.AreEqual(new float[] { 200, 4, 7, 7, 10 }, o);
        }
        finally
        {
            Gpu.Detach(a);
            Gpu.Detach(o);
        }
    }

    [TestMethod]
    public void UnattachedSpansBehaveAsHostMemory()
    {
        var a = new float[] { 1, 2, 3 };
        var o = new float[] { 9, 9, 9, 9 };
        Gpu.ResidualForward(o.AsSpan(1), a, a, 3);
        CollectionAssert.AreEqual(new float[] { 9, 2, 4, 6 }, o);
        Gpu.Fill(o, 0f);
        CollectionAssert.AreEqual(new float[4], o);
        Gpu.CopyToHost(o); // not attached: nothing to copy, nothing changes
        Gpu.CopyToDevice(o);
        CollectionAssert.AreEqual(new float[4], o);
        // Span in a stack buffer, too
        Span<float> stack = stackalloc float[3];
        Gpu.ResidualForward(stack, a, a, 3);
        Assert.AreEqual(6f, stack[2]);
    }

    [TestMethod]
    public void DetachedAndDroppedArraysFreeTheirDeviceCopies()
    {
        int before = Gpu.AttachedCount;
        var kept = new float[1000];
        Gpu.Attach(kept);
        Gpu.Attach(kept); // twice: one copy
        Assert.AreEqual(before + 1, Gpu.AttachedCount);
        AttachAndDrop();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.AreEqual(before + 1, Gpu.AttachedCount, "an array collected without Detach frees its device copy");
        Gpu.Detach(kept);
        Assert.AreEqual(before, Gpu.AttachedCount);
        GC.KeepAlive(kept);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void AttachAndDrop() => Gpu.Attach(new float[1000]);

    [TestMethod]
    public void CreateWithoutANvidiaDriverSaysWhatIsMissing()
    {
        bool driver = CudaBackend.DriverLibraryNames.Any(n => NativeLibrary.TryLoad(n, out _));
        if (driver)
        {
            // A machine with the driver: a CUDA device may or may not be usable, but nothing but the documented error escapes.
            try { CudaBackend.Create().Dispose(); }
            catch (GpuUnavailableException) { }
            return;
        }
        var e = Assert.ThrowsExactly<GpuUnavailableException>(() => CudaBackend.Create());
        StringAssert.Contains(e.Message, "libcuda.so.1");
        StringAssert.Contains(e.Message, "NVIDIA driver");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => CudaBackend.Create(-1));
    }
}
