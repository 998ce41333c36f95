using System.Collections.Concurrent;
using System.Net;
using System.Reflection;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Monitoring;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;

namespace CrossMargin.Keeper.Tests.Monitoring;

public sealed class TelemetryTests
{
    [Fact]
    public void Otlp_is_off_without_the_endpoint_variable_and_bad_values_are_refused()
    {
        Assert.Null(KeeperTelemetry.FromEnvironment(_ => null));
        Assert.Null(KeeperTelemetry.FromEnvironment(_ => " "));
        var e = Assert.Throws<FormatException>(() => KeeperTelemetry.FromEnvironment(n => n == KeeperTelemetry.EndpointVariable ? "collector:4317" : null));
        Assert.Contains(KeeperTelemetry.EndpointVariable, e.Message, StringComparison.Ordinal);
        e = Assert.Throws<FormatException>(() => KeeperTelemetry.FromEnvironment(n => n switch
        {
            KeeperTelemetry.EndpointVariable => "http://127.0.0.1:4317",
            KeeperTelemetry.ProtocolVariable => "http/json",
            _ => null,
        }));
        Assert.Contains("http/json", e.Message, StringComparison.Ordinal);
        using var grpc = KeeperTelemetry.FromEnvironment(n => n == KeeperTelemetry.EndpointVariable ? "http://127.0.0.1:1" : null);
        Assert.NotNull(grpc);
        Assert.Equal(OtlpExportProtocol.Grpc, grpc.Protocol);
    }

    [Fact]
    public async Task Spans_and_metrics_reach_an_otlp_http_receiver()
    {
        var received = new ConcurrentQueue<(string Path, string? ContentType, long Length)>();
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddRoutingCore();
        await using WebApplication receiver = builder.Build();
        receiver.MapPost("/otlp/{**signal}", (RequestDelegate)(async ctx =>
        {
            using var body = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(body);
            received.Enqueue((ctx.Request.Path.Value!, ctx.Request.ContentType, body.Length));
            ctx.Response.ContentType = "application/x-protobuf";
        }));
        await receiver.StartAsync();
        string url = receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        using (var telemetry = KeeperTelemetry.FromEnvironment(n => n switch
        {
            KeeperTelemetry.EndpointVariable => url + "/otlp",
            KeeperTelemetry.ProtocolVariable => "http/protobuf",
            _ => null,
        }))
        {
            Assert.NotNull(telemetry);
            using var meters = new KeeperMeterFactory();
            using var metrics = new KeeperMetrics(meters);
            using (var block = KeeperTracing.StartBlock(12))
            {
                Assert.NotNull(block);
                using (KeeperTracing.Start(KeeperTracing.Detect)) { }
            }
            metrics.BlockProcessed(12);
            Assert.True(telemetry.Flush(10_000));
        }
        await receiver.StopAsync();

        var paths = received.Select(r => r.Path).ToHashSet();
        Assert.Contains("/otlp/v1/traces", paths);
        Assert.Contains("/otlp/v1/metrics", paths);
        Assert.All(received, r => Assert.Equal("application/x-protobuf", r.ContentType));
        Assert.All(received, r => Assert.True(r.Length > 0));
    }
}

/// <summary>An <see cref="IEthClient"/> that answers only eth_getBalance (counted); anything else fails the test.</summary>
public class BalanceOnlyEth : DispatchProxy
{
    public UInt256 Balance { get; set; }
    public int Calls;
    public bool Fail { get; set; }

    public static (IEthClient Client, BalanceOnlyEth State) Create(UInt256 balance)
    {
        IEthClient client = Create<IEthClient, BalanceOnlyEth>();
        var state = (BalanceOnlyEth)(object)client;
        state.Balance = balance;
        return (client, state);
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        if (targetMethod?.Name != nameof(IEthClient.GetBalanceAsync)) throw new InvalidOperationException($"unexpected call {targetMethod?.Name}");
        Interlocked.Increment(ref Calls);
        if (Fail) return Task.FromException<UInt256>(new RpcTransportException("down"));
        return Task.FromResult(Balance);
    }
}

public sealed class WalletBalanceWatcherTests
{
    [Fact]
    public async Task Reads_at_start_then_once_every_n_processed_blocks()
    {
        var (eth, state) = BalanceOnlyEth.Create(new UInt256(7UL));
        using var metrics = new KeeperMetrics();
        using var watcher = new WalletBalanceWatcher(eth, Address.Zero, metrics, everyBlocks: 5);
        Assert.True(await watcher.CheckAsync(CancellationToken.None));
        Assert.Equal(new UInt256(7UL), metrics.Status.WalletBalanceWei);
        Assert.False(await watcher.CheckAsync(CancellationToken.None)); // no block processed since
        metrics.BlockProcessed(100);
        Assert.True(await watcher.CheckAsync(CancellationToken.None)); // the first block anchors the schedule
        state.Balance = new UInt256(6UL);
        for (ulong b = 101; b < 105; b++)
        {
            metrics.BlockProcessed(b);
            Assert.False(await watcher.CheckAsync(CancellationToken.None));
        }
        metrics.BlockProcessed(105);
        Assert.True(await watcher.CheckAsync(CancellationToken.None));
        Assert.Equal(new UInt256(6UL), metrics.Status.WalletBalanceWei);
        Assert.Equal(3, state.Calls);
        Assert.Equal(3, watcher.Reads);

        // a failed read is retried at the next check
        state.Fail = true;
        metrics.BlockProcessed(110);
        Assert.False(await watcher.CheckAsync(CancellationToken.None));
        state.Fail = false;
        Assert.True(await watcher.CheckAsync(CancellationToken.None));
        Assert.Equal(5, state.Calls);
    }
}
