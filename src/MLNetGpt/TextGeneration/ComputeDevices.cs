// Picks the compute backend from a device name, the thread count and MLContext's GPU settings.
using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNetGpt.Tensors;

namespace MLNetGpt;

/// <summary>The compute devices a model can train and generate on.</summary>
public static class ComputeDevices
{
    /// <summary>Device names: "cpu" (vectorized, multi-threaded) and "reference" (plain single-threaded kernels).</summary>
    public static IReadOnlyList<string> Names { get; } = ["cpu", "reference"];

    /// <summary>The backend for <paramref name="device"/> with <paramref name="threads"/> threads (0 = all cores).</summary>
    /// <exception cref="ArgumentException">Unknown device, or a GPU device (this build has no GPU backend).</exception>
    public static IComputeBackend Create(string device, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Threads must be 0 (all cores) or positive.");
        return device switch
        {
            "cpu" => CpuBackend.Create(threads),
            "reference" => ReferenceBackend.Instance,
            _ when device == "cuda" || device.StartsWith("cuda:", StringComparison.Ordinal) => throw new ArgumentException(
                $"Device '{device}' needs a GPU backend, which this MLNetGpt build does not have; use 'cpu'.", nameof(device)),
            _ => throw new ArgumentException($"Unknown device '{device}'; available: {string.Join(", ", Names)}.", nameof(device)),
        };
    }

    /// <summary>
    /// As <see cref="Create(string, int)"/>, honouring <see cref="MLContext.GpuDeviceId"/> and
    /// <see cref="MLContext.FallbackToCpu"/> the way Microsoft.ML.TorchSharp does: a GPU asked for and not available is an
    /// error unless falling back to the CPU is allowed, which is then logged.
    /// </summary>
    internal static IComputeBackend Create(MLContext? context, string device, int threads, IChannel? log)
    {
        if (context?.GpuDeviceId is { } gpu)
        {
            if (!context.FallbackToCpu)
                throw new InvalidOperationException(
                    $"MLContext.GpuDeviceId is {gpu}, but MLNetGpt has no GPU backend in this build. Set MLContext.FallbackToCpu = true to run on the CPU, or leave GpuDeviceId unset.");
            log?.Warning($"MLContext.GpuDeviceId is {gpu}, but MLNetGpt has no GPU backend in this build; running on the CPU (FallbackToCpu).");
        }
        return Create(device, threads);
    }
}
