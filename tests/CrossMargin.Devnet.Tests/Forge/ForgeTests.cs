using System.Diagnostics;

namespace CrossMargin.Devnet.Tests.Forge;

[Collection(ForgeCollection.Name)]
public sealed class ForgeTests
{
    [Fact]
    public async Task Forge_test_passes()
    {
        await CrossMargin.Devnet.Forge.EnsureBuiltAsync();
        ForgeTestResult result = await CrossMargin.Devnet.Forge.TestAsync();

        Assert.True(result.Succeeded, result.Describe());
        Assert.True(result.ResultsParsed, result.Describe());
        Assert.Equal(0, result.Failed);
        Assert.True(result.Passed > 0, result.Describe());
        Assert.Equal(result.Passed + result.Skipped, result.Tests.Count);
    }

    [Fact]
    public async Task Match_options_select_tests()
    {
        await CrossMargin.Devnet.Forge.EnsureBuiltAsync();
        ForgeTestResult none = await CrossMargin.Devnet.Forge.TestAsync(new ForgeTestOptions { MatchTest = "^no_such_test_name$" });
        Assert.Equal(0, none.Passed + none.Failed + none.Skipped);
        Assert.Empty(none.Tests);
    }

    [Fact]
    public async Task Build_is_shared_and_a_rebuild_is_a_no_op()
    {
        ToolRunResult first = await CrossMargin.Devnet.Forge.EnsureBuiltAsync();
        ToolRunResult second = await CrossMargin.Devnet.Forge.EnsureBuiltAsync();
        Assert.Same(first, second);
        Assert.True(File.Exists(Path.Combine(DevnetPaths.ForgeOutDir, "Counter.sol", "Counter.json")));

        ToolRunResult[] parallel = await Task.WhenAll(
            CrossMargin.Devnet.Forge.BuildAsync(), CrossMargin.Devnet.Forge.BuildAsync());
        Assert.All(parallel, r => Assert.True(r.Succeeded, r.Output));
    }

    [Fact]
    public async Task Forge_waits_for_the_cross_process_lock()
    {
        // Another process holds devnet/.forge.lock (flock(2), as .NET's FileShare.None takes it).
        var psi = new ProcessStartInfo("flock")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            WorkingDirectory = DevnetPaths.DevnetDir,
        };
        foreach (string a in new[] { "-x", DevnetPaths.ForgeLockFile, "-c", "echo locked; exec cat >/dev/null" })
        {
            psi.ArgumentList.Add(a);
        }

        using var holder = Process.Start(psi)!;
        try
        {
            Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)));
            await Assert.ThrowsAsync<TimeoutException>(() => CrossMargin.Devnet.Forge.RunAsync(["--version"], TimeSpan.FromSeconds(1)));

            holder.StandardInput.Close(); // releases the lock
            Assert.True(holder.WaitForExit(10_000));
            ToolRunResult version = await CrossMargin.Devnet.Forge.RunAsync(["--version"], TimeSpan.FromSeconds(60));
            Assert.True(version.Succeeded, version.Output);
            Assert.Contains("forge", version.StandardOutput, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            if (!holder.HasExited)
            {
                holder.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public void Json_results_are_parsed_with_failure_reasons()
    {
        const string json = """
            {"test/A.t.sol:ATest":{"duration":"1ms","test_results":{"test_ok()":{"status":"Success","reason":null,"counterexample":null},"test_bad()":{"status":"Failure","reason":"AssertionFailed(\"x\")","counterexample":null}}},"test/B.t.sol:BTest":{"test_results":{"testFuzz(uint256)":{"status":"Failure","reason":"boom","counterexample":{"Single":{"calldata":"0x01"}}},"test_skip()":{"status":"Skipped","reason":null,"counterexample":null}}}}
            """;
        ForgeTestResult r = CrossMargin.Devnet.Forge.ParseTestResult(new ToolRunResult("forge test --json", 1, "Compiling...\n" + json + "\n", "", TimeSpan.Zero));

        Assert.True(r.ResultsParsed);
        Assert.Equal((1, 2, 1), (r.Passed, r.Failed, r.Skipped));
        Assert.False(r.Succeeded);
        ForgeTestCase bad = Assert.Single(r.Tests, t => t.Name == "test_bad()");
        Assert.Equal("test/A.t.sol:ATest", bad.Suite);
        Assert.Equal("AssertionFailed(\"x\")", bad.Reason);
        ForgeTestCase fuzz = Assert.Single(r.Tests, t => t.Name == "testFuzz(uint256)");
        Assert.Contains("0x01", fuzz.Counterexample, StringComparison.Ordinal);
        Assert.Contains("FAIL test/B.t.sol:BTest testFuzz(uint256): boom", r.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void Human_summary_is_the_fallback_and_no_output_is_not_success()
    {
        ForgeTestResult summary = CrossMargin.Devnet.Forge.ParseTestResult(new ToolRunResult("forge test", 1, "",
            "Ran 2 test suites in 6.40ms (5.17ms CPU time): 7 tests passed, 2 failed, 1 skipped (10 total tests)", TimeSpan.Zero));
        Assert.Equal((7, 2, 1), (summary.Passed, summary.Failed, summary.Skipped));

        ForgeTestResult broken = CrossMargin.Devnet.Forge.ParseTestResult(new ToolRunResult("forge test", 1, "", "Error: Compiler run failed", TimeSpan.Zero));
        Assert.False(broken.ResultsParsed);
        Assert.False(broken.Succeeded);
        Assert.Contains("Compiler run failed", broken.Describe(), StringComparison.Ordinal);
    }
}
