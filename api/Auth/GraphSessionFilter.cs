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
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Sign-in required",
                detail: "Sending as you needs your Microsoft 365 sign-in: open BulkMail in Outlook and sign in.");
        }
        try
        {
            await tokens.BeginSessionAsync(http.User.Sender().Mailbox, header["Bearer ".Length..].Trim(), http.RequestAborted).ConfigureAwait(false);
        }
        catch (GraphSendException e) when (e.Kind == GraphFailureKind.SignInRequired)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "BulkMail may not send as you",
                detail: $"Microsoft 365 refused to let BulkMail send as you ({e.Code}: {e.GraphMessage}). Sign in again; if it persists, " +
                    "ask your administrator to grant BulkMail the Mail.Send and Mail.ReadWrite permissions.",
                extensions: new Dictionary<string, object?> { ["entraCode"] = e.Code });
        }
        catch (GraphSendException e)
        {
            if (e.RetryAfter is { } ra)
            {
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(ra.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Microsoft 365 sign-in is unavailable",
                detail: "Entra ID did not answer; nothing was sent or stored. Try again in a minute.");
        }
        return await next(context).ConfigureAwait(false);
    }

    /// <summary>Pause and cancel need no mailbox access; every other control does.</summary>
    private static bool Sends(HttpContext http) =>
        http.Request.RouteValues["action"] is not string action || action is "resume" or "retry-failed";
}
