// The error that stops a run whose loss or weights stopped being finite, before anything of that state is saved.
namespace MLNetGpt.Models.Training;

/// <summary>
/// Thrown by <see cref="LanguageModelTrainer.Run"/> when a step's loss, a loss estimate, a weight or an optimizer moment is
/// NaN or infinite, and by <see cref="LanguageModelTrainer.SaveCheckpoint(string)"/> instead of writing such a state. The
/// checkpoint hook is not called for the diverged state, so the last checkpoint written stays the last good one.
/// </summary>
public sealed class TrainingDivergedException : InvalidOperationException
{
    internal const string Advice = "Lower the learning rate (learning_rate) or clip gradients (grad_clip); the last checkpoint saved before this step is kept.";

    /// <summary>Creates the exception for the optimizer step <paramref name="step"/>.</summary>
    public TrainingDivergedException(int step, string message) : base(message) => Step = step;

    /// <summary>The optimizer step (1-based count of steps done) at which the run diverged.</summary>
    public int Step { get; }
}
