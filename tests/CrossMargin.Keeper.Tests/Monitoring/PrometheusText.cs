using System.Globalization;
using System.Text;

namespace CrossMargin.Keeper.Tests.Monitoring;

/// <summary>One parsed sample line.</summary>
public sealed record ParsedSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string? Label(string name) => Labels.TryGetValue(name, out string? v) ? v : null;
}

/// <summary>A parsed scrape: HELP and TYPE per family, samples in order.</summary>
public sealed class ParsedScrape
{
    public Dictionary<string, string> Help { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, string> Types { get; } = new(StringComparer.Ordinal);
    public List<ParsedSample> Samples { get; } = [];

    public IEnumerable<ParsedSample> Series(string name, params (string Key, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Label(l.Key) == l.Value));

    /// <summary>The value of the one sample with this name and (at least) these labels.</summary>
    public double Value(string name, params (string Key, string Value)[] labels) => Assert.Single(Series(name, labels)).Value;

    /// <summary>The value, or null when there is no such sample.</summary>
    public double? ValueOrNull(string name, params (string Key, string Value)[] labels) => Series(name, labels).SingleOrDefault()?.Value;

    /// <summary>Sum over all samples with this name (e.g. a counter over its label sets).</summary>
    public double Sum(string name) => Samples.Where(s => s.Name == name).Sum(s => s.Value);
}

/// <summary>
/// A strict reader of the Prometheus text format 0.0.4 (the test's independent check of the writer): every line is
/// a HELP or TYPE comment or a sample; label values are unescaped (\\, \", \n); anything else fails.
/// </summary>
public static class PrometheusText
{
    public static ParsedScrape Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var scrape = new ParsedScrape();
        Assert.True(text.Length == 0 || text.EndsWith('\n'), "the exposition must end with a line feed");
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0) continue;
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                string rest = line["# HELP ".Length..];
                int sp = rest.IndexOf(' ', StringComparison.Ordinal);
                string name = sp < 0 ? rest : rest[..sp];
                CheckName(name);
                scrape.Help[name] = UnescapeHelp(sp < 0 ? "" : rest[(sp + 1)..]);
                continue;
            }
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                string[] parts = line["# TYPE ".Length..].Split(' ');
                Assert.Equal(2, parts.Length);
                CheckName(parts[0]);
                Assert.Contains(parts[1], new[] { "counter", "gauge", "histogram", "summary", "untyped" });
                Assert.False(scrape.Types.ContainsKey(parts[0]), $"TYPE of {parts[0]} given twice");
                scrape.Types[parts[0]] = parts[1];
                continue;
            }
            Assert.False(line.StartsWith('#'), $"unexpected comment: {line}");
            scrape.Samples.Add(ParseSample(line));
        }
        return scrape;
    }

    private static ParsedSample ParseSample(string line)
    {
        int i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ') i++;
        string name = line[..i];
        CheckName(name);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                int eq = line.IndexOf('=', i);
                string label = line[i..eq];
                Assert.Matches("^[a-zA-Z_][a-zA-Z0-9_]*$", label);
                Assert.Equal('"', line[eq + 1]);
                var value = new StringBuilder();
                int j = eq + 2;
                while (line[j] != '"')
                {
                    if (line[j] == '\\')
                    {
                        char e = line[j + 1];
                        value.Append(e switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            _ => throw new FormatException($"bad escape \\{e} in {line}"),
                        });
                        j += 2;
                    }
                    else
                    {
                        value.Append(line[j++]);
                    }
                }
                Assert.True(labels.TryAdd(label, value.ToString()), $"label {label} twice in {line}");
                i = j + 1;
                if (line[i] == ',') i++;
            }
            i++;
        }
        Assert.Equal(' ', line[i]);
        string v = line[(i + 1)..];
        double d = v switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            _ => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
        return new ParsedSample(name, labels, d);
    }

    private static void CheckName(string name) => Assert.Matches("^[a-zA-Z_:][a-zA-Z0-9_:]*$", name);

    private static string UnescapeHelp(string s)
    {
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 1 < s.Length)
            {
                char e = s[++i];
                sb.Append(e switch
                {
                    '\\' => '\\',
                    'n' => '\n',
                    _ => throw new FormatException($"bad escape \\{e} in HELP"),
                });
            }
            else
            {
                sb.Append(s[i]);
            }
        }
        return sb.ToString();
    }
}
