using BulkMail.Api.Infrastructure;
using Microsoft.AspNetCore.Diagnostics;

namespace BulkMail.Api.Mailings;

/// <summary>A mailing request the engine refused: 400 with the English errors by field, their codes and any details
/// (template errors with positions).</summary>
public sealed class MailingValidationExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not MailingValidationException invalid)
        {
            return false;
        }
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
        return await ProblemWriter.WriteAsync(problems, httpContext, validation, exception).ConfigureAwait(false);
    }
}
