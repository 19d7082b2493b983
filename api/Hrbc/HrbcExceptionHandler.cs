using BulkMail.Api.Infrastructure;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace BulkMail.Api.Hrbc;

/// <summary>
/// Turns failures of HRBC into problem details: an HRBC result code → 502 carrying the code and message; HRBC
/// unreachable → 502/504; a request longer than HRBC accepts → 400.
/// </summary>
public sealed partial class HrbcExceptionHandler(IProblemDetailsService problems, ILogger<HrbcExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ProblemDetails? problem = exception switch
        {
            HrbcRequestTooLongException e => ProblemWriter.Coded(StatusCodes.Status400BadRequest, "https://bulkmail.example/problems/request-too-long",
                CodedText.Of(ProblemCode.HrbcRequestTooLong, ("length", e.Length), ("max", e.Max))),
            HrbcException e => ProblemWriter.Coded(StatusCodes.Status502BadGateway, "https://bulkmail.example/problems/hrbc-error", e.Code >= 0
                    ? CodedText.Of(ProblemCode.HrbcError, ("hrbcCode", e.Code), ("hrbcMessage", e.HrbcMessage))
                    : CodedText.Of(ProblemCode.HrbcFailed, ("hrbcMessage", e.HrbcMessage)),
                ("hrbcCode", e.Code), ("hrbcMessage", e.HrbcMessage)),
            TimeoutRejectedException => ProblemWriter.Coded(StatusCodes.Status504GatewayTimeout, "https://bulkmail.example/problems/hrbc-unreachable",
                CodedText.Of(ProblemCode.HrbcTimeout)),
            HttpRequestException or BrokenCircuitException => ProblemWriter.Coded(StatusCodes.Status502BadGateway, "https://bulkmail.example/problems/hrbc-unreachable",
                CodedText.Of(ProblemCode.HrbcUnreachable)),
            _ => null,
        };
        if (problem is null)
        {
            return false;
        }
        Log.Upstream(logger, problem.Status ?? 0, exception.GetType().Name, (exception as HrbcException)?.Code ?? 0);
        return await ProblemWriter.WriteAsync(problems, httpContext, problem, exception).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Warning, "Upstream failure answered {Status}: {ExceptionType}, HRBC code {Code}")]
        public static partial void Upstream(ILogger logger, int status, string exceptionType, int code);
    }
}
