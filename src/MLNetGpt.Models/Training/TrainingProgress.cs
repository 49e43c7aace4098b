// What the trainer reports while it runs, and what it returns at the end.
namespace MLNetGpt.Models.Training;

/// <summary>One progress report (every <see cref="TrainingOptions.LogInterval"/> steps and after every evaluation).</summary>
/// <param name="Step">Optimizer steps completed so far.</param>
/// <param name="MaxIters">Total steps of the run.</param>
/// <param name="TrainLoss">Mean loss of the last step's micro-batches (training mode).</param>
/// <param name="EvalTrainLoss">Estimated train loss (eval mode) when this report follows an evaluation, else null.</param>
/// <param name="ValLoss">Estimated validation loss when this report follows an evaluation and a validation set exists, else null.</param>
/// <param name="LearningRate">Learning rate used by the last step.</param>
/// <param name="TokensPerSecond">Training tokens per second so far (evaluation time excluded).</param>
/// <param name="Elapsed">Wall time since this run started (evaluations included).</param>
/// <param name="Eta">Estimated time to finish the remaining steps at the current speed.</param>
public sealed record TrainingProgress(
    int Step, int MaxIters, float TrainLoss, double? EvalTrainLoss, double? ValLoss, float LearningRate,
    double TokensPerSecond, TimeSpan Elapsed, TimeSpan Eta);

/// <summary>The outcome of <see cref="LanguageModelTrainer.Run"/>.</summary>
/// <param name="Steps">Optimizer steps completed (in total, including steps before a resume).</param>
/// <param name="FinalTrainLoss">Last estimated train loss (eval mode), or the last step's loss when no evaluation ran.</param>
/// <param name="FinalValLoss">Last estimated validation loss, or null without a validation set or evaluation.</param>
/// <param name="LastStepLoss">Mean loss of the last step (training mode).</param>
/// <param name="TokensPerSecond">Training tokens per second of this run (evaluation excluded).</param>
/// <param name="MillisecondsPerIter">Mean training wall time per step of this run (evaluation excluded).</param>
/// <param name="WallTime">Wall time of this run including evaluations.</param>
/// <param name="Cancelled">True when the cancellation token stopped the run early (no exception is thrown).</param>
public sealed record TrainingResult(
    int Steps, double FinalTrainLoss, double? FinalValLoss, float LastStepLoss, double TokensPerSecond,
    double MillisecondsPerIter, TimeSpan WallTime, bool Cancelled);
