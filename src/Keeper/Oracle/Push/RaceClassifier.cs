using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Abi;
using CrossMargin.Ethereum.Contracts;

namespace CrossMargin.Keeper.Oracle.Push;

/// <summary>How a rejected push is judged.</summary>
public enum PushRejection
{
    /// <summary>A newer round is already on the feed (<c>OutOfOrderRound</c>): someone else pushed first.</summary>
    OutOfOrderRound,
    /// <summary>Pyth already holds this or a newer update (<c>NoFreshUpdate</c>).</summary>
    NoFreshUpdate,
    /// <summary>Pyth considers the update stale (<c>StalePrice</c>).</summary>
    StalePrice,
    /// <summary>Anything else: a real error.</summary>
    Error,
}

/// <summary>Classifies revert data of oracle pushes into benign races and errors.</summary>
public static class RaceClassifier
{
    /// <summary>Benign races are counted, not reported as errors.</summary>
    public static bool IsBenign(PushRejection r) => r != PushRejection.Error;

    /// <summary>Classifies revert data (hub, feed and Pyth errors); null or undecodable data is an error.</summary>
    public static PushRejection Classify(ReadOnlySpan<byte> revertData)
    {
        if (TryDecode(KeeperPriceFeed.TryDecodeError, revertData, out ContractError? feedError) && feedError is KeeperPriceFeed.OutOfOrderRoundError)
            return PushRejection.OutOfOrderRound;
        if (TryDecode(MockPyth.TryDecodeError, revertData, out ContractError? pythError))
        {
            if (pythError is MockPyth.NoFreshUpdateError) return PushRejection.NoFreshUpdate;
            if (pythError is MockPyth.StalePriceError) return PushRejection.StalePrice;
        }
        return PushRejection.Error;
    }

    /// <summary>Classifies a decoded revert description (e.g. an executor's skip reason) by the error's name.</summary>
    public static PushRejection ClassifyReason(string? reason)
    {
        if (string.IsNullOrEmpty(reason)) return PushRejection.Error;
        if (reason.Contains("OutOfOrderRound", StringComparison.Ordinal)) return PushRejection.OutOfOrderRound;
        if (reason.Contains("NoFreshUpdate", StringComparison.Ordinal)) return PushRejection.NoFreshUpdate;
        if (reason.Contains("StalePrice", StringComparison.Ordinal)) return PushRejection.StalePrice;
        return PushRejection.Error;
    }

    /// <summary>A readable description of revert data for logs.</summary>
    public static string Describe(byte[]? revertData)
    {
        if (revertData is null) return "reverted (no revert data)";
        if (TryDecode(KeeperPriceFeed.TryDecodeError, revertData, out ContractError? e)) return e!.ToString();
        if (TryDecode(OracleHub.TryDecodeError, revertData, out e)) return e!.ToString();
        if (TryDecode(MockPyth.TryDecodeError, revertData, out e)) return e!.ToString();
        try
        {
            return AbiRevert.Decode(revertData).ToString();
        }
        catch (AbiDecodingException)
        {
            return "reverted: " + Hex.Encode(revertData);
        }
    }

    /// <summary>A binding's decoder, with malformed data (known selector, bad arguments) as "not decoded".</summary>
    private static bool TryDecode(ErrorDecoder decoder, ReadOnlySpan<byte> data, out ContractError? error)
    {
        try
        {
            return decoder(data, out error) && error is not null;
        }
        catch (AbiDecodingException)
        {
            error = null;
            return false;
        }
    }
}
