using CrossMargin.Keeper.Hosting;

namespace CrossMargin.Keeper.Tests.Hosting;

public sealed class KeptSamplesTests
{
    [Fact]
    public void Sample_lists_keep_the_most_recent_ones_and_stay_bounded()
    {
        var list = new List<int>();
        int next = 0;
        var rng = new Random(5);
        for (int round = 0; round < 800; round++)
        {
            var items = Enumerable.Range(next, rng.Next(0, 600)).ToList();
            next += items.Count;
            KeeperPipeline.Keep(list, items);
            Assert.InRange(list.Count, 0, KeeperPipeline.KeptSamples);
            // contiguous and ending with the newest sample: only the oldest are dropped
            if (list.Count > 0) Assert.Equal(next - 1, list[^1]);
            if (round % 40 == 0) Assert.Equal(Enumerable.Range(next - list.Count, list.Count), list);
        }
        Assert.True(next > KeeperPipeline.KeptSamples * 3, "the test went past the bound several times");
        Assert.True(list.Count >= KeeperPipeline.KeptSamples * 3 / 4);
    }
}
