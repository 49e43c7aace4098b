// The one error for "a GPU was asked for and cannot be used": no driver, no device, no cuBLAS.
namespace MLNetGpt.Tensors.Cuda;

/// <summary>
/// Thrown by <see cref="CudaBackend.Create"/> when CUDA cannot be used: the driver library (libcuda) or cuBLAS is missing,
/// or there is no CUDA device with the requested id. The message names what was looked for and where.
/// </summary>
public sealed class GpuUnavailableException : Exception
{
    /// <summary>Creates the exception with its message.</summary>
    public GpuUnavailableException(string message) : base(message) { }

    /// <summary>Creates the exception with its message and cause.</summary>
    public GpuUnavailableException(string message, Exception inner) : base(message, inner) { }
}
