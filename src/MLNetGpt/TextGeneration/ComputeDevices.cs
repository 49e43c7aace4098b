// Picks the compute backend from a device name, the thread count and MLContext's GPU settings.
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNetGpt.Tensors;
using MLNetGpt.Tensors.Cuda;

namespace MLNetGpt;

/// <summary>The compute devices a model can train and generate on.</summary>
public static class ComputeDevices
{
    /// <summary>
    /// Device names: "cpu" (vectorized, multi-threaded), "reference" (plain single-threaded kernels), "cuda" (CUDA device 0)
    /// and "cuda:N" (CUDA device N).
    /// </summary>
    public static IReadOnlyList<string> Names { get; } = ["cpu", "reference", "cuda", "cuda:N"];

    /// <summary>True when <paramref name="device"/> is one of <see cref="Names"/> ("cuda:N" with N a non-negative integer).</summary>
    public static bool IsKnown(string device) => device is "cpu" or "reference" || CudaDeviceId(device) is not null;

    /// <summary>The CUDA device id of "cuda" (0) or "cuda:N" (N); null for any other name.</summary>
    public static int? CudaDeviceId(string device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device == "cuda") return 0;
        if (device.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(device.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            return id;
        return null;
    }

    /// <summary>The backend for <paramref name="device"/> with <paramref name="threads"/> threads (0 = all cores; CPU devices only).</summary>
    /// <exception cref="ArgumentException">Unknown device.</exception>
    /// <exception cref="GpuUnavailableException">A CUDA device asked for and not usable: no NVIDIA driver, no such device, or no
    /// cuBLAS; the message names the libraries searched.</exception>
    public static IComputeBackend Create(string device, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Threads must be 0 (all cores) or positive.");
        return device switch
        {
            "cpu" => CpuBackend.Create(threads),
            "reference" => ReferenceBackend.Instance,
            _ when CudaDeviceId(device) is { } id => CudaBackend.Create(id),
            _ => throw Unknown(device),
        };
    }

    private static ArgumentException Unknown(string device) =>
        new($"Unknown device '{device}'; available: {string.Join(", ", Names)}.", nameof(device));

    /// <summary>
    /// Throws what <see cref="Create(MLContext, string, int, IChannel)"/> would for these settings, before any work. A CPU
    /// device needs only a known name (no backend, no worker threads are made); a GPU is opened and released again, since
    /// that is how its driver, the device and cuBLAS are found.
    /// </summary>
    internal static void Check(MLContext? context, string device, int threads)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Threads must be 0 (all cores) or positive.");
        string asked = context?.GpuDeviceId is { } gpu ? $"cuda:{gpu}" : device;
        if (CudaDeviceId(asked) is null)
        {
            if (!IsKnown(asked)) throw Unknown(asked);
            return;
        }
        (Create(context, device, threads, null) as IDisposable)?.Dispose();
    }

    /// <summary>
    /// As <see cref="Create(string, int)"/>, honouring <see cref="MLContext.GpuDeviceId"/> (which asks for that CUDA device,
    /// whatever <paramref name="device"/> says) and <see cref="MLContext.FallbackToCpu"/> the way Microsoft.ML.TorchSharp does:
    /// a GPU asked for (by either) and not usable is an error unless falling back to the CPU is allowed, which is then logged.
    /// </summary>
    internal static IComputeBackend Create(MLContext? context, string device, int threads, IChannel? log)
    {
        string asked = context?.GpuDeviceId is { } gpu ? $"cuda:{gpu}" : device;
        if (CudaDeviceId(asked) is null) return Create(asked, threads);
        try
        {
            return Create(asked, threads);
        }
        catch (GpuUnavailableException e)
        {
            string what = context?.GpuDeviceId is { } id ? $"MLContext.GpuDeviceId is {id}" : $"Device '{device}' was asked for";
            if (context?.FallbackToCpu != true)
                throw new InvalidOperationException(
                    $"{what}, but the GPU cannot be used: {e.Message} Set MLContext.FallbackToCpu = true to run on the CPU instead.", e);
            log?.Warning($"{what}, but the GPU cannot be used ({e.Message}); running on the CPU (FallbackToCpu).");
            return Create("cpu", threads);
        }
    }
}
