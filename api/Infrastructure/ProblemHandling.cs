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
                Title = ServerText.Title(ProblemCode.InvalidMailing, japanese: false),
                Type = "https://bulkmail.example/problems/invalid-mailing",
                Extensions = { ["code"] = nameof(ProblemCode.InvalidMailing), ["args"] = new Dictionary<string, string>() },
            };
            if (invalid.Codes is not null)
            {
                validation.Extensions["fieldCodes"] = invalid.Codes;
            }
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
            HrbcRequestTooLongException e => Coded(StatusCodes.Status400BadRequest, "https://bulkmail.example/problems/request-too-long",
                CodedText.Of(ProblemCode.HrbcRequestTooLong, ("length", e.Length), ("max", e.Max))),
            HrbcException e => Coded(StatusCodes.Status502BadGateway, "https://bulkmail.example/problems/hrbc-error", e.Code >= 0
                    ? CodedText.Of(ProblemCode.HrbcError, ("hrbcCode", e.Code), ("hrbcMessage", e.HrbcMessage))
                    : CodedText.Of(ProblemCode.HrbcFailed, ("hrbcMessage", e.HrbcMessage)),
                ("hrbcCode", e.Code), ("hrbcMessage", e.HrbcMessage)),
            TimeoutRejectedException => Coded(StatusCodes.Status504GatewayTimeout, "https://bulkmail.example/problems/hrbc-unreachable",
                CodedText.Of(ProblemCode.HrbcTimeout)),
            HttpRequestException or BrokenCircuitException => Coded(StatusCodes.Status502BadGateway, "https://bulkmail.example/problems/hrbc-unreachable",
                CodedText.Of(ProblemCode.HrbcUnreachable)),
            _ => null,
        };
        if (problem is null)
        {
            return false;
        }
        Log.Upstream(logger, problem.Status ?? 0, (exception as HrbcException)?.Code ?? 0, LogSafe.Of(exception));
        httpContext.Response.StatusCode = problem.Status ?? 502;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        }).ConfigureAwait(false);
    }

    private static ProblemDetails Coded(int status, string type, CodedText text, params (string Name, object? Value)[] extra)
    {
        var problem = new ProblemDetails
        {
            Status = status,
            Title = ServerText.TryParse<ProblemCode>(text.Code) is { } c ? ServerText.Title(c, japanese: false) : null,
            Detail = text.English,
            Type = type,
            Extensions = { ["code"] = text.Code, ["args"] = text.Args },
        };
        foreach (var (name, value) in extra)
        {
            problem.Extensions[name] = value;
        }
        return problem;
    }

    private static partial class Log
    {
        [LoggerMessage(21, LogLevel.Information, "Bad request answered {Status}: {Code}")]
        public static partial void BadRequest(ILogger logger, int status, string code);

        [LoggerMessage(20, LogLevel.Warning, "Upstream failure answered {Status}, HRBC code {Code}")]
        public static partial void Upstream(ILogger logger, int status, int code, Exception exception);
    }
}
