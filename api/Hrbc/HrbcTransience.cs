using Polly.CircuitBreaker;
using Polly.Timeout;

namespace BulkMail.Api.Hrbc;

/// <summary>
/// What "transient" means for HRBC, in one place: every retry decision (the HTTP resilience pipeline, the follow-up
/// writes, the background expansion, the health check, the result file's labels) asks here.
/// </summary>
public static class HrbcTransience
{
    /// <summary>Code 9: temporarily suspended or under maintenance — the request was not processed.</summary>
    public const int Maintenance = 9;

    /// <summary>Result codes worth trying again later (Result Code List): 8 internal error, 9 maintenance, 302
    /// transaction error, 1000 processing failed. Any other code is HRBC's answer to this request.</summary>
    public static IReadOnlySet<int> Codes { get; } = new HashSet<int> { 8, Maintenance, 302, 1000 };

    public static bool IsTransient(int code) => Codes.Contains(code);

    /// <summary>HRBC did not answer (unreachable, timed out, the circuit open) or answered a transient code.</summary>
    public static bool IsTransient(Exception e) => e switch
    {
        HrbcAuthException => false, // the authentication API numbers its errors apart (§2.5): a refusal, not a result code
        HrbcException h => IsTransient(h.Code),
        _ => IsUnanswered(e),
    };

    /// <summary>No answer came: the call may be tried again later.</summary>
    public static bool IsUnanswered(Exception e) => e is HttpRequestException or TimeoutRejectedException or BrokenCircuitException;

    /// <summary>An HRBC call failed — unanswered, or refused with a result code. What a step that runs again later
    /// (background expansion, follow-ups, health, optional labels) catches; anything else is a bug and propagates.</summary>
    public static bool IsFailure(Exception e) => e is HrbcException || IsUnanswered(e);

    /// <summary>Whether an HTTP answer's body carries a root result code that is to be retried at once. A write that
    /// must happen at most once is resent only after maintenance (code 9: not processed); any other request after any
    /// transient code. Cheap for the common answer: parsed only when a transient code appears in the text.</summary>
    public static bool RetriesAnswer(string body, bool atMostOnceWrite)
    {
        IEnumerable<int> codes = atMostOnceWrite ? [Maintenance] : Codes;
        if (!codes.Any(c => body.Contains($"<Code>{c}</Code>", StringComparison.Ordinal)))
        {
            return false;
        }
        return HrbcXml.TryParse(body) is { } root && HrbcXml.RootCode(root) is { } code && codes.Contains(code);
    }
}
