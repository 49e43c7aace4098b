// A small SVG writer for loss curves (no plotting package is served): train and val loss against step, with axes and a legend.
using System.Globalization;
using System.Text;

namespace MLNetGpt.Cli.Output;

/// <summary>One point of a loss curve.</summary>
public readonly record struct LossPoint(int Step, double Loss);

/// <summary>Renders one or more loss series as a standalone SVG document.</summary>
public static class SvgLossCurve
{
    private const int Width = 720, Height = 420, Left = 64, Right = 20, Top = 36, Bottom = 48;
    private static readonly string[] Colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

    /// <summary>Returns the SVG text for the named series (series with no points are skipped in the plot but kept in the legend).</summary>
    public static string Render(string title, IReadOnlyList<(string Name, IReadOnlyList<LossPoint> Points)> series)
    {
        var all = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.Loss)).ToList();
        int maxStep = all.Count == 0 ? 1 : Math.Max(1, all.Max(p => p.Step));
        double lo = all.Count == 0 ? 0 : all.Min(p => p.Loss), hi = all.Count == 0 ? 1 : all.Max(p => p.Loss);
        if (hi - lo < 1e-6) { hi += 0.5; lo -= 0.5; }
        double pad = (hi - lo) * 0.05; lo = Math.Max(0, lo - pad); hi += pad;
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double X(int step) => Left + plotW * step / maxStep;
        double Y(double loss) => Top + plotH * (1 - (loss - lo) / (hi - lo));
        static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

        var sb = new StringBuilder();
        sb.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.AppendLine($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>");
        sb.AppendLine($"<text x=\"{Width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{Escape(title)}</text>");
        // Grid and tick labels: 5 horizontal and 5 vertical divisions.
        for (int i = 0; i <= 5; i++)
        {
            double loss = lo + (hi - lo) * i / 5, y = Y(loss);
            sb.AppendLine($"<line x1=\"{Left}\" y1=\"{F(y)}\" x2=\"{Width - Right}\" y2=\"{F(y)}\" stroke=\"#e0e0e0\"/>");
            sb.AppendLine($"<text x=\"{Left - 6}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{loss.ToString("0.00", CultureInfo.InvariantCulture)}</text>");
            int step = (int)Math.Round((double)maxStep * i / 5);
            double x = X(step);
            sb.AppendLine($"<line x1=\"{F(x)}\" y1=\"{Top}\" x2=\"{F(x)}\" y2=\"{Height - Bottom}\" stroke=\"#f0f0f0\"/>");
            sb.AppendLine($"<text x=\"{F(x)}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\">{step}</text>");
        }
        sb.AppendLine($"<rect x=\"{Left}\" y=\"{Top}\" width=\"{F(plotW)}\" height=\"{F(plotH)}\" fill=\"none\" stroke=\"#333\"/>");
        sb.AppendLine($"<text x=\"{Left + plotW / 2}\" y=\"{Height - 10}\" text-anchor=\"middle\">step</text>");
        sb.AppendLine($"<text x=\"16\" y=\"{Top + plotH / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {F(Top + plotH / 2)})\">loss</text>");
        for (int s = 0; s < series.Count; s++)
        {
            string color = Colors[s % Colors.Length];
            var pts = series[s].Points.Where(p => double.IsFinite(p.Loss)).OrderBy(p => p.Step).ToList();
            if (pts.Count > 0)
            {
                sb.Append($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.6\" points=\"");
                sb.AppendJoin(' ', pts.Select(p => $"{F(X(p.Step))},{F(Y(p.Loss))}"));
                sb.AppendLine("\"/>");
                if (pts.Count <= 60)
                    foreach (var p in pts) sb.AppendLine($"<circle cx=\"{F(X(p.Step))}\" cy=\"{F(Y(p.Loss))}\" r=\"2.5\" fill=\"{color}\"/>");
            }
            double ly = Top + 14 + 18 * s;
            sb.AppendLine($"<line x1=\"{Width - Right - 110}\" y1=\"{F(ly - 4)}\" x2=\"{Width - Right - 90}\" y2=\"{F(ly - 4)}\" stroke=\"{color}\" stroke-width=\"2\"/>");
            sb.AppendLine($"<text x=\"{Width - Right - 84}\" y=\"{F(ly)}\">{Escape(series[s].Name)}</text>");
        }
        sb.AppendLine("</svg>");
        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;");
}
