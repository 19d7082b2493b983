using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Auth;

/// <summary>
/// On the calls after which BulkMail sends as the user — test, submit, resume, retry-failed — and only with
/// Graph:Auth=OnBehalfOf: exchanges the caller's bearer token for the long-running Graph session the workers use.
/// A fresh token each time also renews a session that had expired, which is how a paused mailing recovers.
/// </summary>
public sealed class GraphSessionFilter(IOptions<GraphOptions> graph, IGraphTokens tokens) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (graph.Value.Auth != GraphAuthMode.OnBehalfOf || !Sends(http))
        {
            return await next(context).ConfigureAwait(false);
        }
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= "Bearer ".Length)
        {
            return Problems.Of(StatusCodes.Status401Unauthorized, ProblemCode.SignInRequired);
        }
        try
        {
            await tokens.BeginSessionAsync(http.User.Sender().Mailbox, header["Bearer ".Length..].Trim(), http.RequestAborted).ConfigureAwait(false);
        }
        catch (GraphSendException e) when (e.Kind == GraphFailureKind.SignInRequired)
        {
            var refused = Problems.Of(StatusCodes.Status403Forbidden, ProblemCode.SendAsForbidden, ("entraCode", e.Code), ("entraMessage", e.GraphMessage));
            refused.ProblemDetails.Extensions["entraCode"] = e.Code;
            return refused;
        }
        catch (GraphSendException e)
        {
            if (e.RetryAfter is { } ra)
            {
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(ra.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            return Problems.Of(StatusCodes.Status503ServiceUnavailable, ProblemCode.SignInUnavailable);
        }
        return await next(context).ConfigureAwait(false);
    }

    /// <summary>Pause and cancel need no mailbox access; every other control does.</summary>
    private static bool Sends(HttpContext http) =>
        http.Request.RouteValues["action"] is not string action || action is "resume" or "retry-failed";
}
