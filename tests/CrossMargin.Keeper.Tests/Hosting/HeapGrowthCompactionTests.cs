using CrossMargin.Keeper.Hosting;

namespace CrossMargin.Keeper.Tests.Hosting;

public sealed class HeapGrowthCompactionTests
{
    private const long Mb = 1024 * 1024;

    [Theory]
    [InlineData(200 * Mb, 120 * Mb, 64 * Mb, 100UL, 50UL, 20, true)] // grown by 80 MB, last compaction 50 blocks ago
    [InlineData(180 * Mb, 120 * Mb, 64 * Mb, 100UL, 50UL, 20, false)] // grown by 60 MB: within the allowance
    [InlineData(200 * Mb, 120 * Mb, 64 * Mb, 100UL, 90UL, 20, false)] // compacted 10 blocks ago
    [InlineData(200 * Mb, 120 * Mb, 64 * Mb, 100UL, null, 20, true)] // never compacted for growth
    [InlineData(200 * Mb, 120 * Mb, 0L, 100UL, 50UL, 20, false)] // switched off
    [InlineData(200 * Mb, 0L, 64 * Mb, 100UL, 50UL, 20, false)] // no live heap measured yet (no full load)
    [InlineData(200 * Mb, 120 * Mb, 64 * Mb, 40UL, 50UL, 20, true)] // the chain went back (reorg below the last compaction)
    public void The_heap_is_compacted_when_it_grows_past_the_allowance_and_not_too_often(long heap, long live, long above, ulong block, ulong? last, int every, bool expected) =>
        Assert.Equal(expected, KeeperPipeline.ShouldCompact(heap, live, above, block, last, every));
}
