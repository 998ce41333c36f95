namespace CrossMargin.Devnet.Tests;

/// <summary>
/// One anvil shared by the tests of the <see cref="AnvilCollection"/> (started once, disposed at the end).
/// Tests that change chain state in ways others must not see, or need other options, take their own
/// with <see cref="StartFreshAsync"/> (and dispose it: <c>await using</c>).
/// </summary>
public sealed class AnvilFixture : IAsyncLifetime
{
    private AnvilProcess? _anvil;

    public AnvilProcess Anvil => _anvil ?? throw new InvalidOperationException("the anvil fixture is not initialised");

    public static Task<AnvilProcess> StartFreshAsync(AnvilOptions? options = null, CancellationToken cancellationToken = default) =>
        AnvilProcess.StartAsync(options, cancellationToken);

    public async Task InitializeAsync() => _anvil = await AnvilProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (_anvil is not null)
        {
            await _anvil.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AnvilCollection : ICollectionFixture<AnvilFixture>
{
    public const string Name = "Anvil";
}

/// <summary>Tests that run forge or read its artifacts: sequential among themselves (forge is serialised anyway).</summary>
[CollectionDefinition(Name)]
public sealed class ForgeCollection
{
    public const string Name = "Forge";
}
