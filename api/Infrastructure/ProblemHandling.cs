using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace BulkMail.Api.Infrastructure;

/// <summary>
/// Request binding failures (the body's JSON, its content type, its size) as problems naming the JSON path, in every
/// environment (RouteHandlerOptions.ThrowOnBadRequest is on everywhere so that this handler sees them). Features add
/// their own handlers for their exceptions (HrbcExceptionHandler, MailingValidationExceptionHandler); anything else
/// falls through to the default 500 problem.
/// </summary>
public sealed partial class BadRequestExceptionHandler(IProblemDetailsService problems, ILogger<BadRequestExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad || httpContext.Response.HasStarted)
        {
            return false;
        }
        var body = BadRequestProblems.Of(bad);
        Log.BadRequest(logger, body.Status ?? 400, (body.Extensions.TryGetValue("code", out var c) ? c as string : null) ?? "");
        return await ProblemWriter.WriteAsync(problems, httpContext, body, exception).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(21, LogLevel.Information, "Bad request answered {Status}: {Code}")]
        public static partial void BadRequest(ILogger logger, int status, string code);
    }
}

/// <summary>What every exception handler does once it has its problem: status, then the problem details writer.</summary>
public static class ProblemWriter
{
    public static ValueTask<bool> WriteAsync(IProblemDetailsService problems, HttpContext http, ProblemDetails problem, Exception exception)
    {
        http.Response.StatusCode = problem.Status ?? StatusCodes.Status500InternalServerError;
        return problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception });
    }

    /// <summary>A problem carrying a code and its arguments beside the English title and detail.</summary>
    public static ProblemDetails Coded(int status, string type, CodedText text, params (string Name, object? Value)[] extra)
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
}
