using System.Net;
using System.Net.Sockets;
using System.Numerics;
using System.Text.RegularExpressions;
using CrossMargin.Ethereum;

namespace CrossMargin.Devnet.Tests.Anvil;

[Collection(AnvilCollection.Name)]
public sealed class AnvilProcessTests(AnvilFixture fixture)
{
    private static readonly BigInteger OneEther = BigInteger.Pow(10, 18);

    [Fact]
    public async Task Shared_anvil_answers_chain_id_on_http()
    {
        AnvilProcess anvil = fixture.Anvil;
        Assert.Equal(AnvilOptions.DefaultChainId, anvil.ChainId);
        Assert.Equal($"http://127.0.0.1:{anvil.Port}/", anvil.RpcUrl.ToString());
        Assert.Equal($"ws://127.0.0.1:{anvil.Port}/", anvil.WsUrl.ToString());
        Assert.False(anvil.HasExited);

        var chainId = await TestRpc.CallAsync(anvil.RpcUrl, "eth_chainId");
        Assert.Equal("0x7a69", chainId.GetString());
        Assert.Equal(31337UL, await AnvilProcess.TryGetChainIdAsync(anvil.RpcUrl, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Dev_accounts_are_funded_with_the_configured_balance()
    {
        AnvilProcess anvil = fixture.Anvil;
        Assert.Equal(10, anvil.DevAccounts.Count);
        foreach (AnvilDevAccount account in anvil.DevAccounts)
        {
            var balance = await TestRpc.CallAsync(anvil.RpcUrl, "eth_getBalance", $"[\"{account.Address.ToLowerHex()}\",\"latest\"]");
            Assert.Equal(10_000 * OneEther, TestRpc.ParseBig(balance));
        }

        var accounts = await TestRpc.CallAsync(anvil.RpcUrl, "eth_accounts");
        Assert.Equal(
            AnvilDevAccounts.All.Select(a => a.Address).ToArray(),
            accounts.EnumerateArray().Select(a => Address.Parse(a.GetString()!)).ToArray());
    }

    [Fact]
    public async Task Dev_keys_match_the_accounts_anvil_prints()
    {
        await using AnvilProcess anvil = await AnvilFixture.StartFreshAsync(new AnvilOptions { CaptureOutput = true });

        // anvil prints its banner before it listens; the reader thread may still be behind.
        IReadOnlyList<string> lines = [];
        for (int i = 0; i < 200 && !lines.Any(l => l.StartsWith("(9) 0x", StringComparison.Ordinal) && l.Length == 6 + 64); i++)
        {
            await Task.Delay(25);
            lines = anvil.CapturedLines;
        }

        var entry = new Regex(@"^\((\d)\) (0x[0-9a-fA-F]+)");
        var addresses = new List<string>();
        var keys = new List<string>();
        foreach (string line in lines)
        {
            Match m = entry.Match(line);
            if (m.Success)
            {
                (m.Groups[2].Value.Length == 42 ? addresses : keys).Add(m.Groups[2].Value);
            }
        }

        Assert.True(addresses.Count == 10 && keys.Count == 10, "banner not found in:\n" + string.Join('\n', lines));
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(Address.Parse(addresses[i]), AnvilDevAccounts.All[i].Address);
            Assert.Equal(keys[i], AnvilDevAccounts.All[i].PrivateKeyHex);
            Assert.Equal(32, AnvilDevAccounts.All[i].PrivateKey().Length);
        }

        Assert.Equal(AnvilDevAccounts.AnvilDevAddress0, AnvilDevAccounts.Deployer.Address.ToString());
    }

    [Fact]
    public async Task Options_reach_anvil()
    {
        var options = new AnvilOptions
        {
            ChainId = 424242,
            Accounts = 3,
            BalanceEther = 7,
            GasLimit = 45_000_000,
            CodeSizeLimit = 100_000,
            BlockTime = TimeSpan.FromMilliseconds(200),
        };
        await using AnvilProcess anvil = await AnvilFixture.StartFreshAsync(options);

        Assert.Equal(424242UL, await AnvilProcess.TryGetChainIdAsync(anvil.RpcUrl, TimeSpan.FromSeconds(5)));
        var accounts = await TestRpc.CallAsync(anvil.RpcUrl, "eth_accounts");
        Assert.Equal(3, accounts.GetArrayLength());
        Assert.Equal(3, anvil.DevAccounts.Count);
        var balance = await TestRpc.CallAsync(anvil.RpcUrl, "eth_getBalance", $"[\"{AnvilDevAccounts.All[2].Address.ToLowerHex()}\",\"latest\"]");
        Assert.Equal(7 * OneEther, TestRpc.ParseBig(balance));
        var block = await TestRpc.CallAsync(anvil.RpcUrl, "eth_getBlockByNumber", "[\"latest\",false]");
        Assert.Equal(new BigInteger(45_000_000), TestRpc.ParseBig(block.GetProperty("gasLimit")));

        // interval mining: blocks appear without transactions (bounded wait, not a timing assertion)
        BigInteger number = 0;
        for (int i = 0; i < 200 && number == 0; i++)
        {
            await Task.Delay(50);
            number = TestRpc.ParseBig(await TestRpc.CallAsync(anvil.RpcUrl, "eth_blockNumber"));
        }

        Assert.True(number > 0, "no block mined with --block-time 0.2");
    }

    [Fact]
    public async Task Dispose_kills_anvil_and_frees_the_port()
    {
        AnvilProcess anvil = await AnvilFixture.StartFreshAsync();
        int pid = anvil.ProcessId;
        int watchdog = anvil.WatchdogProcessId;
        Uri url = anvil.RpcUrl;
        Assert.True(AnvilProcess.IsProcessAlive(pid));
        Assert.True(AnvilProcess.IsProcessAlive(watchdog));

        await anvil.DisposeAsync();

        Assert.True(anvil.HasExited);
        Assert.False(AnvilProcess.IsProcessAlive(pid), $"anvil pid {pid} still alive after dispose");
        Assert.False(AnvilProcess.IsProcessAlive(watchdog), $"watchdog pid {watchdog} still alive after dispose");
        using var client = new TcpClient();
        var refused = await Assert.ThrowsAsync<SocketException>(() => client.ConnectAsync(IPAddress.Loopback, url.Port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        Assert.Null(await AnvilProcess.TryGetChainIdAsync(url, TimeSpan.FromSeconds(2)));

        await anvil.DisposeAsync(); // idempotent
    }

    [Fact]
    public async Task Anvil_dying_by_itself_is_reported()
    {
        await using AnvilProcess anvil = await AnvilFixture.StartFreshAsync();
        Assert.False(anvil.Exited.IsCompleted);
        using (var process = System.Diagnostics.Process.GetProcessById(anvil.ProcessId))
        {
            process.Kill(); // SIGKILL, as a crash would
        }

        int status = await anvil.Exited.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(128 + 9, status);
        Assert.True(anvil.HasExited);
    }

    [Fact]
    public async Task Startup_failure_reports_anvil_stderr()
    {
        var ex = await Assert.ThrowsAsync<AnvilStartException>(
            () => AnvilProcess.StartAsync(new AnvilOptions { Hardfork = "no-such-fork" }));
        Assert.NotNull(ex.ExitCode);
        Assert.NotEqual(0, ex.ExitCode);
        Assert.Contains("no-such-fork", ex.CapturedOutput, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("no-such-fork", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Many_parallel_starts_get_distinct_working_anvils()
    {
        const int count = 4;
        AnvilProcess[] anvils = await Task.WhenAll(Enumerable.Range(0, count)
            .Select(i => AnvilProcess.StartAsync(new AnvilOptions { ChainId = 9000UL + (ulong)i })));
        try
        {
            Assert.Equal(count, anvils.Select(a => a.Port).Distinct().Count());
            Assert.Equal(count, anvils.Select(a => a.ProcessId).Distinct().Count());
            for (int i = 0; i < count; i++)
            {
                Assert.Equal(9000UL + (ulong)i, await AnvilProcess.TryGetChainIdAsync(anvils[i].RpcUrl, TimeSpan.FromSeconds(5)));
            }
        }
        finally
        {
            await Task.WhenAll(anvils.Select(a => a.DisposeAsync().AsTask()));
        }

        Assert.All(anvils, a => Assert.False(AnvilProcess.IsProcessAlive(a.ProcessId)));
    }

    [Fact]
    public async Task Invalid_options_are_rejected_before_starting()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => AnvilProcess.StartAsync(new AnvilOptions { Accounts = 0 }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => AnvilProcess.StartAsync(new AnvilOptions { BlockTime = TimeSpan.Zero }));
        await Assert.ThrowsAsync<ArgumentException>(() => AnvilProcess.StartAsync(new AnvilOptions { ExtraArguments = ["--port", "1"] }));
    }

    [Fact]
    public void Arguments_map_the_options()
    {
        IReadOnlyList<string> args = AnvilProcess.BuildArguments(
            new AnvilOptions { BlockTime = TimeSpan.FromMilliseconds(1500), DisableCodeSizeLimit = true, ExtraArguments = ["--no-mining"] }, 8545);
        Assert.Equal(
            ["--host", "127.0.0.1", "--port", "8545", "--chain-id", "31337", "--accounts", "10", "--balance", "10000",
             "--block-time", "1.5", "--disable-code-size-limit", "--silent", "--no-mining"],
            args);
    }
}
