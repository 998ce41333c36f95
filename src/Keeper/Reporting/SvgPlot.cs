using System.Globalization;
using System.Xml;

namespace CrossMargin.Keeper.Reporting;

/// <summary>
/// A small inline SVG chart: linear axes with 1-2-5 ticks, grid, bars, points and lines. Every mark carries
/// <c>class="mark"</c>, a <c>title</c> child (a native tooltip, also shown on hover by the page script) and optional
/// <c>data-*</c> values.
/// </summary>
internal sealed class SvgPlot
{
    public const double Width = 720;
    public const double Height = 260;
    private const double Left = 76, Right = 16, Bottom = 46;
    private const double PlotWidth = Width - Left - Right;

    private readonly string _id;
    private readonly string _title;
    private readonly double _xMin, _xMax, _yMin, _yMax;
    private readonly List<Mark> _marks = [];

    private abstract record Mark(string CssClass, string? Series);
    private sealed record BarMark(double X0, double X1, double Y0, double Y1, string CssClass, string? Series, string Label, (string Name, string Value)[] Data) : Mark(CssClass, Series);
    private sealed record PointMark(double X, double Y, string CssClass, string? Series, string Label, (string Name, string Value)[] Data) : Mark(CssClass, Series);
    private sealed record LineMark(IReadOnlyList<(double X, double Y)> Points, string CssClass, string? Series) : Mark(CssClass, Series);

    public SvgPlot(string id, string title, double xMin, double xMax, double yMin, double yMax)
    {
        _id = id;
        _title = title;
        (_xMin, _xMax) = xMax > xMin ? (xMin, xMax) : (xMin - 0.5, xMin + 0.5);
        (_yMin, _yMax) = yMax > yMin ? (yMin, yMax) : (yMin, yMin + 1);
    }

    public Func<double, string> XFormat { get; init; } = v => v.ToString("0.##", CultureInfo.InvariantCulture);
    public Func<double, string> YFormat { get; init; } = v => v.ToString("0.##", CultureInfo.InvariantCulture);
    public string? XLabel { get; init; }
    public string? YLabel { get; init; }
    /// <summary>Fixed x ticks (categories); numeric ticks otherwise.</summary>
    public IReadOnlyList<(double X, string Label)>? CategoryTicks { get; init; }
    /// <summary>Only integer x ticks (blocks).</summary>
    public bool IntegerX { get; init; }
    /// <summary>Legend entries: series key and css class.</summary>
    public IReadOnlyList<(string Series, string CssClass, string Label)> Legend { get; init; } = [];

    /// <summary>Room above the plot: more when a legend sits there.</summary>
    private double Top => Legend.Count > 0 ? 30 : 14;

    private double PlotHeight => Height - Top - Bottom;

    public int MarkCount => _marks.Count(m => m is not LineMark);

    public void Bar(double x0, double x1, double y0, double y1, string cssClass, string label, params (string Name, string Value)[] data) =>
        _marks.Add(new BarMark(x0, x1, y0, y1, cssClass, null, label, data));

    public void SeriesBar(string series, double x0, double x1, double y0, double y1, string cssClass, string label, params (string Name, string Value)[] data) =>
        _marks.Add(new BarMark(x0, x1, y0, y1, cssClass, series, label, data));

    public void Point(string? series, double x, double y, string cssClass, string label, params (string Name, string Value)[] data) =>
        _marks.Add(new PointMark(x, y, cssClass, series, label, data));

    public void Line(string? series, IReadOnlyList<(double X, double Y)> points, string cssClass) =>
        _marks.Add(new LineMark(points, cssClass, series));

    private static double Px(double x, double min, double max) => Left + ((x - min) / (max - min) * PlotWidth);

    private double X(double x) => Px(x, _xMin, _xMax);

    private double Y(double y) => Top + PlotHeight - ((y - _yMin) / (_yMax - _yMin) * PlotHeight);

    private static string N(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>A 1-2-5 step close to <paramref name="range"/> / <paramref name="count"/>.</summary>
    public static double NiceStep(double range, int count)
    {
        if (!(range > 0)) return 1;
        double raw = range / count;
        double p = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        foreach (double m in (ReadOnlySpan<double>)[1, 2, 5, 10])
            if (m * p >= raw) return m * p;
        return 10 * p;
    }

    /// <summary>An upper bound for an axis from 0 or below: the next tick at or above <paramref name="max"/>.</summary>
    public static double NiceMax(double max)
    {
        if (!(max > 0)) return 1;
        double step = NiceStep(max, 5);
        return Math.Ceiling(max / step) * step;
    }

    private static IEnumerable<double> Ticks(double min, double max, int count, bool integer)
    {
        double step = NiceStep(max - min, count);
        if (integer) step = Math.Max(1, Math.Ceiling(step));
        double first = Math.Ceiling(min / step) * step;
        for (int i = 0; i < 100; i++)
        {
            double t = first + (i * step);
            if (t > max + (step * 1e-9)) yield break;
            yield return t;
        }
    }

    public void Write(XmlWriter w)
    {
        w.WriteStartElement("svg");
        w.WriteAttributeString("id", _id);
        w.WriteAttributeString("class", "chart");
        w.WriteAttributeString("viewBox", $"0 0 {N(Width)} {N(Height)}");
        w.WriteAttributeString("role", "img");
        w.WriteAttributeString("aria-label", _title);
        w.WriteAttributeString("data-marks", MarkCount.ToString(CultureInfo.InvariantCulture));
        w.WriteElementString("title", _title);

        // grid and y axis
        w.WriteStartElement("g");
        w.WriteAttributeString("class", "axis y");
        foreach (double t in Ticks(_yMin, _yMax, 5, false))
        {
            Line(w, Left, Y(t), Left + PlotWidth, Y(t), t == 0 ? "zero" : "grid");
            Text(w, Left - 6, Y(t) + 4, YFormat(t), "end");
        }
        if (YLabel is not null)
        {
            w.WriteStartElement("text");
            w.WriteAttributeString("class", "axis-label");
            w.WriteAttributeString("transform", $"translate(14 {N(Top + (PlotHeight / 2))}) rotate(-90)");
            w.WriteAttributeString("text-anchor", "middle");
            w.WriteString(YLabel);
            w.WriteEndElement();
        }
        w.WriteEndElement();

        // x axis
        w.WriteStartElement("g");
        w.WriteAttributeString("class", "axis x");
        Line(w, Left, Top + PlotHeight, Left + PlotWidth, Top + PlotHeight, "baseline");
        var ticks = CategoryTicks ?? [.. Ticks(_xMin, _xMax, 6, IntegerX).Select(t => (t, XFormat(t)))];
        foreach (var (x, label) in ticks)
        {
            Line(w, X(x), Top + PlotHeight, X(x), Top + PlotHeight + 4, "tick");
            Text(w, X(x), Top + PlotHeight + 17, label, "middle");
        }
        if (XLabel is not null) Text(w, Left + (PlotWidth / 2), Height - 6, XLabel, "middle", "axis-label");
        w.WriteEndElement();

        // marks, clipped to the plot area by clamping
        w.WriteStartElement("g");
        w.WriteAttributeString("class", "marks");
        foreach (var mark in _marks) WriteMark(w, mark);
        w.WriteEndElement();

        if (Legend.Count > 0)
        {
            w.WriteStartElement("g");
            w.WriteAttributeString("class", "legend");
            double x = Left + 8;
            foreach (var (series, css, label) in Legend)
            {
                w.WriteStartElement("g");
                w.WriteAttributeString("class", "legend-item");
                w.WriteAttributeString("data-series-toggle", series);
                w.WriteStartElement("rect");
                w.WriteAttributeString("class", css);
                w.WriteAttributeString("x", N(x));
                w.WriteAttributeString("y", "6");
                w.WriteAttributeString("width", "10");
                w.WriteAttributeString("height", "10");
                w.WriteEndElement();
                Text(w, x + 14, 15, label, "start");
                w.WriteEndElement();
                x += 24 + (7 * label.Length);
            }
            w.WriteEndElement();
        }
        if (_marks.Count == 0) Text(w, Left + (PlotWidth / 2), Top + (PlotHeight / 2), "no data", "middle", "empty");
        w.WriteEndElement();
    }

    private double ClampX(double px) => Math.Clamp(px, Left, Left + PlotWidth);

    private double ClampY(double py) => Math.Clamp(py, Top, Top + PlotHeight);

    private void WriteMark(XmlWriter w, Mark mark)
    {
        switch (mark)
        {
            case BarMark b:
            {
                double x0 = ClampX(X(Math.Min(b.X0, b.X1))), x1 = ClampX(X(Math.Max(b.X0, b.X1)));
                double y0 = ClampY(Y(Math.Max(b.Y0, b.Y1))), y1 = ClampY(Y(Math.Min(b.Y0, b.Y1)));
                w.WriteStartElement("rect");
                MarkAttributes(w, b, b.Data);
                w.WriteAttributeString("x", N(x0));
                w.WriteAttributeString("y", N(y0));
                w.WriteAttributeString("width", N(Math.Max(1, x1 - x0)));
                w.WriteAttributeString("height", N(Math.Max(b.Y0 == b.Y1 ? 0 : 1, y1 - y0)));
                w.WriteElementString("title", b.Label);
                w.WriteEndElement();
                break;
            }
            case PointMark p:
                w.WriteStartElement("circle");
                MarkAttributes(w, p, p.Data);
                w.WriteAttributeString("cx", N(ClampX(X(p.X))));
                w.WriteAttributeString("cy", N(ClampY(Y(p.Y))));
                w.WriteAttributeString("r", "3.5");
                w.WriteElementString("title", p.Label);
                w.WriteEndElement();
                break;
            case LineMark l:
                w.WriteStartElement("polyline");
                w.WriteAttributeString("class", "line " + l.CssClass);
                if (l.Series is not null) w.WriteAttributeString("data-series", l.Series);
                w.WriteAttributeString("points", string.Join(' ', l.Points.Select(p => N(ClampX(X(p.X))) + "," + N(ClampY(Y(p.Y))))));
                w.WriteEndElement();
                break;
        }
    }

    private static void MarkAttributes(XmlWriter w, Mark m, (string Name, string Value)[] data)
    {
        w.WriteAttributeString("class", "mark " + m.CssClass);
        if (m.Series is not null) w.WriteAttributeString("data-series", m.Series);
        foreach (var (name, value) in data) w.WriteAttributeString("data-" + name, value);
    }

    private static void Line(XmlWriter w, double x1, double y1, double x2, double y2, string css)
    {
        w.WriteStartElement("line");
        w.WriteAttributeString("class", css);
        w.WriteAttributeString("x1", N(x1));
        w.WriteAttributeString("y1", N(y1));
        w.WriteAttributeString("x2", N(x2));
        w.WriteAttributeString("y2", N(y2));
        w.WriteEndElement();
    }

    private static void Text(XmlWriter w, double x, double y, string text, string anchor, string? css = null)
    {
        w.WriteStartElement("text");
        if (css is not null) w.WriteAttributeString("class", css);
        w.WriteAttributeString("x", N(x));
        w.WriteAttributeString("y", N(y));
        w.WriteAttributeString("text-anchor", anchor);
        w.WriteString(text);
        w.WriteEndElement();
    }
}
