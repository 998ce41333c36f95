using System.Diagnostics;
using System.Text.Json;

namespace CrossMargin.Ethereum.Tests.Transactions;

/// <summary>Runs a node script from this test tree with a JSON request on stdin and parses its JSON stdout.</summary>
internal static class NodeScript
{
    public static JsonDocument Run(string relativeScript, string requestJson, TimeSpan timeout)
    {
        string script = Path.Combine(SharedVectors.RepoRoot, "tests", "CrossMargin.Ethereum.Tests", relativeScript);
        Assert.True(File.Exists(script), "missing node script " + script);
        var psi = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(SharedVectors.RepoRoot);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(requestJson);
        process.StandardInput.Close();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"node {relativeScript} timed out after {timeout}");
        }
        string output = stdout.GetAwaiter().GetResult();
        Assert.True(process.ExitCode == 0, $"node {relativeScript} exited {process.ExitCode}: {stderr.GetAwaiter().GetResult()}");
        return JsonDocument.Parse(output);
    }
}
