// Tests of the SVG loss-curve writer: valid XML, one polyline per non-empty series, points inside the plot area.
using System.Xml.Linq;
using MLNetGpt.Cli.Output;

namespace MLNetGpt.Cli.Tests;

[TestClass]
public sealed class SvgLossCurveTests
{
    [TestMethod]
    public void RendersValidSvgWithOnePolylinePerSeries()
    {
        var train = Enumerable.Range(0, 11).Select(i => new LossPoint(i * 100, 4.2 - i * 0.2)).ToList();
        var val = Enumerable.Range(0, 6).Select(i => new LossPoint(i * 200, 4.3 - i * 0.35)).ToList();
        var svg = SvgLossCurve.Render("loss <test>", [("train", train), ("val", val)]);
        var doc = XDocument.Parse(svg);
        XNamespace ns = "http://www.w3.org/2000/svg";
        var lines = doc.Descendants(ns + "polyline").ToList();
        Assert.AreEqual(2, lines.Count);
        var points = lines[0].Attribute("points")!.Value.Split(' ');
        Assert.AreEqual(11, points.Length);
        foreach (var p in points)
        {
            var xy = p.Split(',').Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.IsTrue(xy[0] >= 0 && xy[0] <= 720 && xy[1] >= 0 && xy[1] <= 420, p);
        }
        StringAssert.Contains(svg, "loss &lt;test&gt;");
    }

    [TestMethod]
    public void EmptySeriesStillRenders()
    {
        var svg = SvgLossCurve.Render("empty", [("train", Array.Empty<LossPoint>())]);
        XDocument.Parse(svg);
    }
}
