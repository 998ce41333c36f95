using System.Numerics;
using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Protocol;

/// <summary>A smaller devnet (40 accounts) for oracle and funding behaviour.</summary>
public sealed class SmallProtocolDevnet : ProtocolDevnet
{
    public override int SeededAccounts => 40;
}

public sealed class OracleAndFundingTests(SmallProtocolDevnet devnet, ITestOutputHelper output) : IClassFixture<SmallProtocolDevnet>
{
    private static readonly Hash32 EthId = DevnetDefaults.OracleId("ETH/USD");

    private static ContractError DecodeHubError(RpcException ex)
    {
        Assert.NotNull(ex.RevertData);
        Assert.True(OracleHub.TryDecodeError(ex.RevertData, out var error));
        return error!;
    }

    [Fact]
    public async Task Diverging_sources_revert_with_OracleDivergence_and_close_ones_average()
    {
        await devnet.IsolateAsync(async () =>
        {
            var driver = await devnet.DriverAtInitialPricesAsync(devnet.Sender());
            await driver.DivergeAsync("ETH/USD", 1m); // within the 2% max deviation: mean of 3000 and 3030
            Assert.Equal(DevnetDefaults.ToWad(3015m), await devnet.Eth.CallAsync(devnet.Hub.GetPrice(EthId)));

            await driver.DivergeAsync("ETH/USD", 5m);
            var ex = await Assert.ThrowsAsync<RpcException>(() => devnet.Eth.CallAsync(devnet.Hub.GetPrice(EthId)));
            var divergence = Assert.IsType<OracleHub.OracleDivergenceError>(DecodeHubError(ex));
            Assert.Equal(EthId, divergence.AssetId);
            Assert.Equal(DevnetDefaults.ToWad(3000m), divergence.PriceA);
            Assert.Equal(DevnetDefaults.ToWad(3150m), divergence.PriceB);

            // the engine bubbles the hub's error up, e.g. from health() of an account with an ETH exposure
            Address account = await FirstAccountWithMarketAsync(0);
            var engineEx = await Assert.ThrowsAsync<RpcException>(() => devnet.Eth.CallAsync(devnet.Engine.Health(account)));
            Assert.IsType<OracleHub.OracleDivergenceError>(DecodeHubError(engineEx));
        });
    }

    [Fact]
    public async Task Stale_sources_give_OracleUnavailable_and_one_stale_source_leaves_the_other()
    {
        await devnet.IsolateAsync(async () =>
        {
            var driver = await devnet.DriverAtInitialPricesAsync(devnet.Sender());
            await driver.MakeStaleAsync("ETH/USD", PriceSources.Pyth);
            Assert.Equal(DevnetDefaults.ToWad(3000m), await devnet.Eth.CallAsync(devnet.Hub.GetPrice(EthId)));
            Assert.False((await devnet.Eth.CallAsync(devnet.Hub.ReadSource(EthId, 1UL))).Ok);

            await driver.MakeStaleAsync("ETH/USD", PriceSources.Both);
            var ex = await Assert.ThrowsAsync<RpcException>(() => devnet.Eth.CallAsync(devnet.Hub.GetPrice(EthId)));
            Assert.Equal(new OracleHub.OracleUnavailableError(EthId), DecodeHubError(ex));
            // other oracle ids were refreshed and still read
            Assert.Equal(DevnetDefaults.ToWad(60_000m), await devnet.Eth.CallAsync(devnet.Hub.GetPrice(DevnetDefaults.OracleId("BTC/USD"))));
        });
    }

    [Fact]
    public async Task Funding_index_and_equity_move_as_the_protocol_says()
    {
        await devnet.IsolateAsync(async () =>
        {
            var deployer = devnet.Sender();
            var driver = await devnet.DriverAtInitialPricesAsync(deployer);
            Address account = await FirstAccountWithMarketAsync(0);
            Int256 rate = (Int256)DevnetDefaults.ToWad(0.00000001m); // 1e-8 per second
            var set = await deployer.SendAndWaitAsync(devnet.Engine.SetFundingRate(0UL, rate));
            ulong b0 = set.BlockNumber;
            var market0 = await devnet.Eth.CallAsync(devnet.Engine.GetMarket(0UL), BlockTag.Number(b0));
            Assert.Equal(rate, market0.FundingRatePerSecond);
            var state0 = await devnet.Eth.CallAsync(devnet.Engine.AccountState(account), BlockTag.Number(b0));

            ulong t1 = await driver.AdvanceTimeAsync(1800);
            ulong b1 = await devnet.Eth.BlockNumberAsync();
            BigInteger price = (BigInteger)await devnet.Eth.CallAsync(devnet.Hub.GetPrice(EthId), BlockTag.Number(b1));
            BigInteger index1 = (BigInteger)await devnet.Eth.CallAsync(devnet.Engine.FundingIndex(0UL), BlockTag.Number(b1));
            BigInteger expectedIndex = (BigInteger)market0.FundingIndex
                + ProtocolMath.FundingIndexDelta((BigInteger)rate, price, t1 - market0.LastFundingTime);
            Assert.Equal(expectedIndex, index1);
            Assert.True(index1 > (BigInteger)market0.FundingIndex);

            var state1 = await devnet.Eth.CallAsync(devnet.Engine.AccountState(account), BlockTag.Number(b1));
            var p0 = state0.Positions.Single(p => p.MarketId == UInt256.Zero);
            var p1 = state1.Positions.Single(p => p.MarketId == UInt256.Zero);
            BigInteger owed0 = ProtocolMath.FundingOwed((BigInteger)p0.Size, (BigInteger)market0.FundingIndex, (BigInteger)p0.FundingSnapshot);
            BigInteger owed1 = ProtocolMath.FundingOwed((BigInteger)p1.Size, index1, (BigInteger)p1.FundingSnapshot);
            Assert.Equal(owed0, (BigInteger)p0.PendingFunding);
            Assert.Equal(owed1, (BigInteger)p1.PendingFunding);
            // prices did not move: the equity changes by exactly the extra funding owed
            Assert.Equal((BigInteger)state0.Equity - (owed1 - owed0), (BigInteger)state1.Equity);
            Assert.Equal(((BigInteger)p1.Size).Sign > 0, owed1 > owed0); // longs pay when the rate is positive
            output.WriteLine($"ETH index {market0.FundingIndex} -> {index1}; account {account} pending funding {owed0} -> {owed1}");
        });
    }

    private async Task<Address> FirstAccountWithMarketAsync(ulong market)
    {
        foreach (var a in devnet.Deployment.Accounts)
        {
            var p = await devnet.Eth.CallAsync(devnet.Engine.GetPosition(a, market));
            if (!p.Size.IsZero) return a;
        }

        throw new InvalidOperationException("no seeded account has a position in market " + market);
    }
}
