using BulkMail.Api.Hrbc;
using BulkMail.Api.Mailings;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace BulkMail.Api.Infrastructure;

/// <summary>
/// Turns failures of the outside systems into problem details: an HRBC result code → 502 carrying the code and
/// message; HRBC unreachable → 502/504. Everything else falls through to the default 500 problem.
/// </summary>
public sealed partial class UpstreamExceptionHandler(IProblemDetailsService problems, ILogger<UpstreamExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is MailingValidationException invalid)
        {
            var validation = new HttpValidationProblemDetails(invalid.Errors)
            {
                Status = StatusCodes.Status400BadRequest,
                Title = "The mailing has invalid input; nothing was stored.",
                Type = "https://bulkmail.example/problems/invalid-mailing",
            };
            if (invalid.Details is not null)
            {
                validation.Extensions["details"] = invalid.Details;
            }
            httpContext.Response.StatusCode = StatusCodes.Status400BadRequest;
            return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = validation, Exception = exception }).ConfigureAwait(false);
        }
        if (exception is BadHttpRequestException bad && !httpContext.Response.HasStarted)
        {
            // Request binding (the body's JSON, its content type, its size): a problem naming the JSON path, in every
            // environment (RouteHandlerOptions.ThrowOnBadRequest is on everywhere so that this handler sees them).
            var body = BadRequestProblems.Of(bad);
            Log.BadRequest(logger, body.Status ?? 400, (body.Extensions.TryGetValue("code", out var c) ? c as string : null) ?? "");
            httpContext.Response.StatusCode = body.Status ?? 400;
            return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = body, Exception = exception }).ConfigureAwait(false);
        }
        ProblemDetails? problem = exception switch
        {
            HrbcRequestTooLongException e => new ProblemDetails
            {
                Status = StatusCodes.Status400BadRequest,
                Title = "The search is too long for HRBC",
                Detail = $"The search makes an HRBC request of {e.Length:N0} characters; HRBC accepts at most {e.Max:N0}. Shorten the condition or the keywords.",
                Type = "https://bulkmail.example/problems/request-too-long",
                Extensions =
                {
                    ["code"] = "HrbcRequestTooLong",
                    ["args"] = new Dictionary<string, string> { ["length"] = e.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), ["max"] = e.Max.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                },
            },
            HrbcException e => new ProblemDetails
            {
                Status = StatusCodes.Status502BadGateway,
                Title = "HRBC returned an error",
                Detail = e.Code >= 0
                    ? $"HRBC answered result code {e.Code}: {e.HrbcMessage}"
                    : e.HrbcMessage,
                Type = "https://bulkmail.example/problems/hrbc-error",
                Extensions = { ["hrbcCode"] = e.Code, ["hrbcMessage"] = e.HrbcMessage },
            },
            TimeoutRejectedException => new ProblemDetails
            {
                Status = StatusCodes.Status504GatewayTimeout,
                Title = "HRBC did not answer in time",
                Detail = "HRBC did not answer in time, even after retries. Try again in a moment.",
                Type = "https://bulkmail.example/problems/hrbc-unreachable",
            },
            HttpRequestException or BrokenCircuitException => new ProblemDetails
            {
                Status = StatusCodes.Status502BadGateway,
                Title = "HRBC is unreachable",
                Detail = "The connection to HRBC failed, even after retries. Try again in a moment.",
                Type = "https://bulkmail.example/problems/hrbc-unreachable",
            },
            _ => null,
        };
        if (problem is null)
        {
            return false;
        }
        Log.Upstream(logger, problem.Status ?? 0, exception.GetType().Name, (exception as HrbcException)?.Code ?? 0);
        httpContext.Response.StatusCode = problem.Status ?? 502;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        }).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(21, LogLevel.Information, "Bad request answered {Status}: {Code}")]
        public static partial void BadRequest(ILogger logger, int status, string code);

        [LoggerMessage(20, LogLevel.Warning, "Upstream failure answered {Status}: {ExceptionType}, HRBC code {Code}")]
        public static partial void Upstream(ILogger logger, int status, string exceptionType, int code);
    }
}
