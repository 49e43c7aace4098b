// Maps a device name and thread count to a compute backend of MLNetGpt.Tensors.
using MLNetGpt.Tensors;

namespace MLNetGpt.Pipelines;

/// <summary>The compute devices a model can run on.</summary>
public static class ComputeDevices
{
    /// <summary>Device names: "cpu" (vectorized, multi-threaded) and "reference" (plain single-threaded kernels).</summary>
    public static IReadOnlyList<string> Names { get; } = ["cpu", "reference"];

    /// <summary>The backend for <paramref name="device"/> with <paramref name="threads"/> threads (0 = all cores; ignored by "reference").</summary>
    /// <exception cref="ArgumentException">Unknown device.</exception>
    public static IComputeBackend Create(string device, int threads = 0)
    {
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Threads must be 0 (all cores) or positive.");
        return device switch
        {
            "cpu" => CpuBackend.Create(threads),
            "reference" => ReferenceBackend.Instance,
            _ => throw new ArgumentException($"Unknown device '{device}'; available: {string.Join(", ", Names)}. (No GPU backend exists yet.)", nameof(device)),
        };
    }
}
