using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using BulkMail.Api.Auth;
using BulkMail.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;

namespace BulkMail.Api.Mailings;

/// <summary>Mailings: submit, preview, test, status (also as server-sent events), control and the result CSV.</summary>
public static class MailingsApi
{
    public static RouteGroupBuilder MapMailingsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/mailings").WithTags("Mailings").RequireAuthorization();
        group.MapPost("/preview", PreviewAsync).WithSummary("Counts per mail field, rendered samples and warnings; stores nothing")
            .RequireRateLimiting(RateLimits.Previews);
        group.MapPost("/test", TestAsync).WithSummary("Sends the first rendered message to the signed-in user only").AddEndpointFilter<GraphSessionFilter>()
            .RequireRateLimiting(RateLimits.TestSends);
        group.MapPost("/", SubmitAsync).WithSummary("Submits a mailing: 202 with its id").AddEndpointFilter<GraphSessionFilter>()
            .RequireRateLimiting(RateLimits.Submits);
        group.MapGet("/", ListAsync).WithSummary("The caller's mailings, newest first");
        group.MapGet("/{id}", GetAsync).WithSummary("The status of one mailing");
        group.MapGet("/{id}/events", EventsAsync).WithSummary("The status as server-sent events, on every change")
            .RequireRateLimiting(RateLimits.Streams);
        group.MapPost("/{id}/{action:regex(^(pause|resume|cancel|retry-failed)$)}", ControlAsync).WithSummary("pause, resume, cancel or retry-failed")
            .AddEndpointFilter<GraphSessionFilter>();
        group.MapPost("/{id}/start", StartAsync).WithSummary("Starts a held (Ready) mailing: 409 from any other state")
            .AddEndpointFilter<GraphSessionFilter>();
        group.MapDelete("/{id}", DeleteAsync).WithSummary("Removes a held or final mailing and everything stored for it: 204; 409 while it runs");
        group.MapGet("/{id}/preview", PreviewDeliveryAsync).WithSummary("One delivery of the expanded mailing (?seq=N or ?recordId=), rendered from its stored values")
            .RequireRateLimiting(RateLimits.Previews);
        group.MapGet("/{id}/results.csv", ResultsAsync).WithSummary("The result file (?lang=ja for Japanese headers)");
        return group;
    }

    public static async Task<Ok<PreviewResponse>> PreviewAsync(MailingRequest request, HttpContext http, MailingService mailings, CancellationToken cancellationToken) =>
        TypedResults.Ok(await mailings.PreviewAsync(request, http.User.Sender(), cancellationToken).ConfigureAwait(false));

    public static async Task<Accepted<TestSendResponse>> TestAsync(MailingRequest request, HttpContext http, MailingService mailings, CancellationToken cancellationToken) =>
        TypedResults.Accepted((string?)null, await mailings.TestAsync(request, http.User.Sender(), cancellationToken).ConfigureAwait(false));

    public static async Task<Results<Accepted<SubmitResponse>, ProblemHttpResult>> SubmitAsync(MailingRequest request, HttpContext http, MailingService mailings,
        CancellationToken cancellationToken)
    {
        if (await mailings.RunningCapReachedAsync(http.User.Sender(), request.IdempotencyKey, cancellationToken).ConfigureAwait(false) is { } max)
        {
            return TooManyRunning(max);
        }
        var mailing = await mailings.SubmitAsync(request, http.User.Sender(), cancellationToken).ConfigureAwait(false);
        return TypedResults.Accepted($"/api/mailings/{mailing.Id}", new SubmitResponse(mailing.Id, mailing.State));
    }

    public static async Task<Ok<IReadOnlyList<MailingStatus>>> ListAsync(HttpContext http, MailingService mailings, CancellationToken cancellationToken) =>
        TypedResults.Ok<IReadOnlyList<MailingStatus>>([.. (await mailings.ListAsync(http.User.Sender(), cancellationToken).ConfigureAwait(false)).Select(s => InLanguageOf(http, s))]);

    public static async Task<Results<Ok<MailingStatus>, ProblemHttpResult>> GetAsync(string id, HttpContext http, MailingService mailings, CancellationToken cancellationToken) =>
        await mailings.GetOwnedAsync(id, http.User.Sender(), cancellationToken).ConfigureAwait(false) is { } m
            ? TypedResults.Ok(InLanguageOf(http, await mailings.StatusAsync(m, cancellationToken).ConfigureAwait(false)))
            : NotFound(id);

    public static async Task<Results<ServerSentEventsResult<MailingStatus>, ProblemHttpResult>> EventsAsync(string id, HttpContext http,
        MailingService mailings, IMailingStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        var mailing = await mailings.GetOwnedAsync(id, http.User.Sender(), cancellationToken).ConfigureAwait(false);
        return mailing is null ? NotFound(id) : TypedResults.ServerSentEvents(Stream(mailing.Id, mailings, store, time, cancellationToken)
            .Select(item => new SseItem<MailingStatus>(InLanguageOf(http, item.Data), item.EventType)));
    }

    private static async IAsyncEnumerable<SseItem<MailingStatus>> Stream(string id, MailingService mailings, IMailingStore store, TimeProvider time,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? last = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            // Ownership was checked when the stream opened.
            var current = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                yield break;
            }
            var status = await mailings.StatusAsync(current, cancellationToken).ConfigureAwait(false);
            // Compared as JSON: the status holds collections (reference equality), and only a visible change is pushed.
            var json = System.Text.Json.JsonSerializer.Serialize(status, System.Text.Json.JsonSerializerOptions.Web);
            if (json != last)
            {
                yield return new SseItem<MailingStatus>(status, "status");
                last = json;
            }
            if (MailingStates.IsFinal(status.State) && status.FinishedAt is not null)
            {
                yield break;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), time, cancellationToken).ConfigureAwait(false);
        }
    }

    public static async Task<Results<Ok<MailingStatus>, ProblemHttpResult>> ControlAsync(string id, string action, HttpContext http,
        MailingService mailings, CancellationToken cancellationToken)
    {
        var mailing = await mailings.GetOwnedAsync(id, http.User.Sender(), cancellationToken).ConfigureAwait(false);
        if (mailing is null)
        {
            return NotFound(id);
        }
        var changed = await mailings.ControlAsync(mailing, action, cancellationToken).ConfigureAwait(false);
        return changed is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not possible in this state",
                detail: action == "retry-failed"
                    ? $"Mailing {id} is {mailing.State} and has no failed deliveries to retry."
                    : $"Mailing {id} is {mailing.State}; it cannot {action}.")
            : TypedResults.Ok(InLanguageOf(http, await mailings.StatusAsync(changed, cancellationToken).ConfigureAwait(false)));
    }

    /// <summary>Ready → Queued. The body is optional (<c>{}</c>); nothing in it is read yet.</summary>
    public static async Task<Results<Ok<MailingStatus>, ProblemHttpResult>> StartAsync(string id, HttpContext http, MailingService mailings,
        CancellationToken cancellationToken)
    {
        var mailing = await mailings.GetOwnedAsync(id, http.User.Sender(), cancellationToken).ConfigureAwait(false);
        if (mailing is null)
        {
            return NotFound(id);
        }
        if (mailing.State == MailingState.Ready
            && await mailings.RunningCapReachedAsync(http.User.Sender(), null, cancellationToken).ConfigureAwait(false) is { } max)
        {
            return TooManyRunning(max);
        }
        var started = await mailings.StartAsync(mailing, cancellationToken).ConfigureAwait(false);
        return started is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not possible in this state",
                detail: $"Mailing {id} is {mailing.State}; only a Ready mailing can start.",
                extensions: new Dictionary<string, object?>
                {
                    ["code"] = "MailingNotReady",
                    ["args"] = new Dictionary<string, string> { ["id"] = id, ["state"] = mailing.State.ToString() },
                })
            : TypedResults.Ok(InLanguageOf(http, await mailings.StatusAsync(started, cancellationToken).ConfigureAwait(false)));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string id, HttpContext http, MailingService mailings, IMailingStore store,
        CancellationToken cancellationToken)
    {
        var mailing = await mailings.GetOwnedAsync(id, http.User.Sender(), cancellationToken).ConfigureAwait(false);
        if (mailing is null)
        {
            return NotFound(id);
        }
        return await store.DeleteAsync(mailing.Id, cancellationToken).ConfigureAwait(false) switch
        {
            MailingDeletion.Deleted => TypedResults.NoContent(),
            MailingDeletion.NotFound => NotFound(id),
            _ => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not possible in this state",
                detail: mailing.State == MailingState.Cancelled
                    ? $"Mailing {id} is Cancelled but its last messages are still going out; delete it in a moment."
                    : $"Mailing {id} is {mailing.State} and still running; cancel it first, then delete it once it has stopped.",
                extensions: new Dictionary<string, object?>
                {
                    ["code"] = "MailingNotDeletable",
                    ["args"] = new Dictionary<string, string> { ["id"] = id, ["state"] = mailing.State.ToString() },
                }),
        };
    }

    public static async Task<Results<Ok<DeliveryPreview>, ProblemHttpResult>> PreviewDeliveryAsync(string id, int? seq, long? recordId, HttpContext http,
        MailingService mailings, CancellationToken cancellationToken)
    {
        var mailing = await mailings.GetOwnedAsync(id, http.User.Sender(), cancellationToken).ConfigureAwait(false);
        if (mailing is null)
        {
            return NotFound(id);
        }
        if (seq is null && recordId is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "seq or recordId is required",
                detail: "Name the delivery to preview: ?seq=N (1-based) or ?recordId=ID.",
                extensions: new Dictionary<string, object?> { ["code"] = "PreviewTargetRequired", ["args"] = new Dictionary<string, string>() });
        }
        return await mailings.PreviewDeliveryAsync(mailing, seq, recordId, cancellationToken).ConfigureAwait(false) is { } preview
            ? TypedResults.Ok(preview)
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Delivery not found",
                detail: seq is { } n ? $"Mailing {id} has no delivery {n}." : $"Mailing {id} has no delivery for record {recordId}.",
                extensions: new Dictionary<string, object?>
                {
                    ["code"] = "DeliveryNotFound",
                    ["args"] = new Dictionary<string, string>
                    {
                        ["id"] = id,
                        [seq is null ? "recordId" : "seq"] = Convert.ToString(seq ?? recordId, System.Globalization.CultureInfo.InvariantCulture) ?? "",
                    },
                });
    }

    public static async Task<Results<EmptyHttpResult, ProblemHttpResult>> ResultsAsync(string id, string? lang, HttpContext http,
        MailingService mailings, IMailingStore store, CancellationToken cancellationToken)
    {
        var mailing = await mailings.GetOwnedAsync(id, http.User.Sender(), cancellationToken).ConfigureAwait(false);
        if (mailing is null)
        {
            return NotFound(id);
        }
        var japanese = string.Equals(lang, "ja", StringComparison.OrdinalIgnoreCase);
        var final = MailingStates.IsFinal(mailing.State) && mailing.FinishedAt is not null;
        http.Response.ContentType = "text/csv; charset=utf-8";
        http.Response.Headers.ContentDisposition =
            $"attachment; filename=\"bulkmail-{id}{(final ? "" : "-partial")}.csv\"";
        http.Response.Headers["X-BulkMail-Final"] = final ? "true" : "false";
        await ResultCsv.WriteAsync(http.Response.Body, id, store.ReadDeliveriesAsync(id, cancellationToken), japanese, cancellationToken).ConfigureAwait(false);
        return TypedResults.Empty;
    }

    /// <summary>The status's sentences (why paused, why waiting) in the caller's language, from the same table as problems.</summary>
    private static MailingStatus InLanguageOf(HttpContext http, MailingStatus status) =>
        Infrastructure.ProblemLocalization.WantsJapanese(http)
            ? status with
            {
                PausedReason = status.PausedReason is { } p ? Infrastructure.ProblemLocalization.Translate(p) : null,
                WaitReason = status.WaitReason is { } w ? Infrastructure.ProblemLocalization.Translate(w) : null,
            }
            : status;

    private static ProblemHttpResult TooManyRunning(int max) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Too many mailings running",
            detail: $"You have {max} mailings running already; wait until one finishes (or cancel one), then try again.",
            extensions: new Dictionary<string, object?>
            {
                ["code"] = "TooManyRunningMailings",
                ["args"] = new Dictionary<string, string> { ["max"] = max.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            });

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Mailing not found", detail: $"There is no mailing {id} of yours.");
}

public sealed record SubmitResponse(string Id, MailingState State);
