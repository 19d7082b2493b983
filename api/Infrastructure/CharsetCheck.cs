using System.Text;
using Microsoft.Net.Http.Headers;

namespace BulkMail.Api.Infrastructure;

/// <summary>A request body in a charset .NET does not know (<c>application/json; charset=klingon</c>) is a 415 problem
/// naming the body, not the framework's 500 from the JSON reader.</summary>
public static class CharsetCheck
{
    public static WebApplication UseCharsetCheck(this WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            if (http.Request.ContentType is { } type && MediaTypeHeaderValue.TryParse(type, out var media)
                && media.Charset is { Length: > 0 } charset && !Known(charset.Value!.Trim('"')))
            {
                http.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
                var problem = new HttpValidationProblemDetails(new Dictionary<string, string[]>
                {
                    ["$"] = ["Send the body as UTF-8 (Content-Type: application/json; charset=utf-8)."],
                })
                {
                    Status = StatusCodes.Status415UnsupportedMediaType,
                    Title = "The request could not be read; nothing was stored.",
                    Detail = "The body's charset is not one this server reads.",
                };
                problem.Extensions["code"] = "ContentTypeUnsupported";
                problem.Extensions["args"] = new Dictionary<string, string> { ["path"] = "$" };
                await http.RequestServices.GetRequiredService<IProblemDetailsService>()
                    .WriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem }).ConfigureAwait(false);
                return;
            }
            await next(http).ConfigureAwait(false);
        });
        return app;
    }

    private static bool Known(string name)
    {
        try
        {
            _ = Encoding.GetEncoding(name);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
