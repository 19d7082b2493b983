namespace BulkMail.Api.Hrbc;

/// <summary>HRBC answered a resource call with a result code other than 0 (see the Result Code List).</summary>
public class HrbcException(int code, string message, int? httpStatus = null)
    : Exception($"HRBC result code {code}: {message}")
{
    public int Code { get; } = code;
    public string HrbcMessage { get; } = message;
    public int? HttpStatus { get; } = httpStatus;

    /// <summary>Worth retrying later (<see cref="HrbcTransience"/>).</summary>
    public bool IsTransient => HrbcTransience.IsTransient(this);

    /// <summary>A short English description of a documented result code, for codes whose message is empty.</summary>
    public static string Describe(int code) => code switch
    {
        0 => "Success",
        5 => "User ID invalid",
        6 => "Insufficient privilege",
        7 => "Resource does not exist",
        8 => "Internal error",
        9 => "Temporarily suspended or under maintenance",
        100 => "Invalid parameter",
        101 => "Required parameter missing",
        102 => "Too many parameters",
        103 => "Invalid parameter value",
        126 or 127 => "Phase error",
        133 => "Invalid itemstate",
        301 => "Data already exists",
        302 => "Transaction error",
        400 => "No data permission",
        401 => "Access token expired",
        402 => "Access token invalid",
        403 => "No data permission (grant or scope missing)",
        404 => "Partition not found or out of contract",
        406 => "IP address restricted",
        500 => "Registration maximum exceeded",
        601 => "App permission insufficient",
        1000 => "Processing failed",
        _ => "HRBC error",
    };
}

/// <summary>The authentication API (oauth/token) answered with an error number (its own numbering: docs/hrbc.md §4).</summary>
public sealed class HrbcAuthException(int error, string message)
    : HrbcException(error, message)
{
    /// <summary>401: the refresh token expired; 107: refresh token invalid — both need a new code.</summary>
    public bool NeedsNewCode => Code is 401 or 107 or 400;
}

/// <summary>HRBC answered with something that is not the documented XML (an HTML error page, an empty body).</summary>
public sealed class HrbcProtocolException(string message, int? httpStatus = null)
    : HrbcException(-1, message, httpStatus);

/// <summary>A read would pass HRBC's request-length cap (HRBC answers those with HTTP 400): never sent. It grows from the
/// caller's input (a condition, keywords), so it is answered as a 400 problem, not a 5xx.</summary>
public sealed class HrbcRequestTooLongException(int length, int max)
    : ArgumentException($"The HRBC request would be {length} characters, over the limit of {max}.")
{
    public int Length { get; } = length;
    public int Max { get; } = max;
}
