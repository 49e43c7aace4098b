// Training progress for people: a live Spectre.Console bar on a terminal, plain log lines when redirected or in CI.
using System.Globalization;
using Spectre.Console;

namespace MLNetGpt.Cli.Output;

/// <summary>What the view shows at one moment of training.</summary>
/// <param name="Step">Optimizer steps done.</param>
/// <param name="MaxSteps">Steps planned.</param>
/// <param name="TrainLoss">Latest training loss (of the last batch, or the estimate at an evaluation).</param>
/// <param name="ValLoss">Latest validation loss estimate, if any.</param>
/// <param name="TokensPerSecond">Training throughput.</param>
/// <param name="Elapsed">Wall time so far.</param>
/// <param name="Eta">Estimated time left.</param>
/// <param name="IsEvaluation">True when this report carries a fresh train/val estimate.</param>
public sealed record TrainingStatus(int Step, int MaxSteps, double TrainLoss, double? ValLoss, double TokensPerSecond,
    TimeSpan Elapsed, TimeSpan? Eta, bool IsEvaluation);

/// <summary>Runs training work while showing its progress.</summary>
public static class TrainingView
{
    /// <summary>True when a live bar can be drawn: an interactive terminal, not CI, and the caller writes to the real console.</summary>
    public static bool CanShowLive(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("CI") is null
        && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>
    /// Runs <paramref name="work"/>, giving it an <see cref="IProgress{T}"/> that updates a live bar (when <paramref name="live"/>)
    /// or writes a plain line to <paramref name="log"/> at each evaluation and every <paramref name="plainEvery"/> steps.
    /// Every evaluation is also written to <paramref name="log"/> in live mode, so the run log keeps the history.
    /// </summary>
    public static async Task<T> RunAsync<T>(bool live, TextWriter output, TextWriter? log, int maxSteps, int plainEvery,
        Func<IProgress<TrainingStatus>, Task<T>> work)
    {
        if (!live)
        {
            var plain = new SyncProgress(s =>
            {
                if (s.IsEvaluation || (plainEvery > 0 && s.Step % plainEvery == 0) || s.Step == s.MaxSteps)
                {
                    var line = Format(s);
                    output.WriteLine(line);
                    log?.WriteLine(line);
                }
            });
            return await work(plain);
        }

        T result = default!;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("training", maxValue: Math.Max(1, maxSteps));
                double? lastVal = null;
                var progress = new SyncProgress(s =>
                {
                    if (s.ValLoss is { } v) lastVal = v;
                    task.Value = s.Step;
                    task.Description = Markup.Escape(
                        $"step {s.Step}/{s.MaxSteps}  train {s.TrainLoss:0.0000}  val {(lastVal is { } lv ? lv.ToString("0.0000", CultureInfo.InvariantCulture) : "-")}  {s.TokensPerSecond:0} tok/s");
                    if (s.IsEvaluation)
                    {
                        var line = Format(s);
                        AnsiConsole.MarkupLine(Markup.Escape(line));
                        log?.WriteLine(line);
                    }
                });
                // The last report sets the bar: at the end, or where Ctrl+C stopped it (no jump to 100 %).
                result = await work(progress);
            });
        return result;
    }

    /// <summary>The plain one-line form of a status, also used in run logs.</summary>
    public static string Format(TrainingStatus s) => string.Create(CultureInfo.InvariantCulture,
        $"step {s.Step,6}/{s.MaxSteps} | train {s.TrainLoss:0.0000} | val {(s.ValLoss is { } v ? v.ToString("0.0000", CultureInfo.InvariantCulture) : "   -  ")} | {s.TokensPerSecond,8:0} tok/s | {s.Elapsed:hh\\:mm\\:ss} elapsed | ETA {(s.Eta is { } e ? e.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture) : "--:--:--")}");

    // Progress<T> posts to the thread pool (out of order, after the run ends); reports here run synchronously on the caller.
    private sealed class SyncProgress(Action<TrainingStatus> handler) : IProgress<TrainingStatus>
    {
        private readonly object _gate = new();
        public void Report(TrainingStatus value) { lock (_gate) handler(value); }
    }
}
