namespace CrossMargin.Keeper.Indexing;

/// <summary>The node's answer contradicts itself or the request (log outside the range, removed log in a range query...).</summary>
public sealed class IndexerDataException : Exception
{
    public IndexerDataException(string message) : base(message) { }

    public IndexerDataException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>The chain reorganised below the retained undo window: the book must be rebuilt from scratch.</summary>
public sealed class ReorgTooDeepException : Exception
{
    public ReorgTooDeepException(ulong rollbackFloor, ulong head)
        : base($"The reorg reaches below block {rollbackFloor}, the oldest block that can be rolled back to (head {head}).")
    {
        RollbackFloor = rollbackFloor;
        Head = head;
    }

    public ulong RollbackFloor { get; }

    public ulong Head { get; }
}
