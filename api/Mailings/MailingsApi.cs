using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using BulkMail.Api.Auth;
using BulkMail.Api.Hrbc;
using BulkMail.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using BulkMail.Api.Modes;
using BulkMail.Api.Mail;
using BulkMail.Api.Mailings.Scheduling;

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
        group.MapGet("/events", OwnEventsAsync)
            .WithSummary("The caller's mailings as server-sent events: the status of each listed mailing, then of each one that changes or is new, until the client goes")
            .RequireRateLimiting(RateLimits.Streams);
        group.MapPost("/{id}/{action:regex(^(pause|resume|cancel|retry-failed)$)}", ControlAsync).WithSummary("pause, resume, cancel or retry-failed")
            .AddEndpointFilter<GraphSessionFilter>();
        group.MapPost("/{id}/start", StartAsync)
            .WithSummary("Starts a held (Ready) mailing now or by a schedule (sendAt, window, undoSeconds; dryRun changes nothing), or reschedules a Scheduled one that has sent nothing: 409 from any other state")
            .AddEndpointFilter<GraphSessionFilter>();
        group.MapPost("/{id}/undo", UndoAsync).WithSummary("Within the undo window, with nothing handed to Microsoft 365: cancels the mailing with nothing sent; 409 UndoExpired after");
        group.MapDelete("/{id}", DeleteAsync).WithSummary("Removes a held or final mailing and everything stored for it: 204; 409 while it runs");
        group.MapGet("/{id}/preview", PreviewDeliveryAsync).WithSummary("One delivery of the expanded mailing (?seq=N or ?recordId=), rendered from its stored values")
            .RequireRateLimiting(RateLimits.Previews);
        group.MapGet("/{id}/deliveries", DeliveriesList.ListAsync).WithSummary("The deliveries, a page at a time (?filter=replied|bounced|all, ?cursor=, ?count= up to 200): who replied, who bounced");
        group.MapGet("/{id}/results.csv", ResultsAsync).WithSummary("The result file (?lang=ja: in Japanese with local times; ?tz=: the time zone, default Results:TimeZone)");
        return group;
    }

    public static async Task<Ok<PreviewResponse>> PreviewAsync(MailingRequest request, HttpContext http, MailingPreviewer previews, CancellationToken cancellationToken) =>
        TypedResults.Ok(await previews.PreviewAsync(request, http.User.Sender(), cancellationToken).ConfigureAwait(false));

    public static async Task<Accepted<TestSendResponse>> TestAsync(MailingRequest request, HttpContext http, MailingPreviewer previews, CancellationToken cancellationToken) =>
        TypedResults.Accepted((string?)null, await previews.TestAsync(request, http.User.Sender(),
            Problems.WantsJapanese(http), cancellationToken).ConfigureAwait(false));

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

    public static async Task<Ok<IReadOnlyList<MailingStatus>>> ListAsync(HttpContext http, MailingStatusReader statuses, CancellationToken cancellationToken) =>
        TypedResults.Ok<IReadOnlyList<MailingStatus>>([.. (await statuses.ListAsync(http.User.Sender(), cancellationToken).ConfigureAwait(false)).Select(s => InLanguageOf(http, s))]);

    public static async Task<Results<Ok<MailingStatus>, ProblemHttpResult>> GetAsync(string id, HttpContext http, MailingService mailings, MailingStatusReader statuses, CancellationToken cancellationToken) =>
        await mailings.GetOwnedAsync(id, http.User.Sender(), cancellationToken).ConfigureAwait(false) is { } m
            ? TypedResults.Ok(InLanguageOf(http, await statuses.StatusAsync(m, cancellationToken).ConfigureAwait(false)))
            : NotFound(id);

    public static async Task<Results<HeartbeatEventsResult<MailingStatus>, ProblemHttpResult>> EventsAsync(string id, HttpContext http,
        MailingService mailings, MailingStatusReader statuses, IMailingStore store, IMailingChanges changes, IOptions<StatusStreamOptions> options,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var mailing = await mailings.GetOwnedAsync(id, http.User.Sender(), cancellationToken).ConfigureAwait(false);
        return mailing is null ? NotFound(id) : InLanguageOf(http,
            StatusStreams.MailingAsync(mailing.Id, statuses, store, changes, options.Value, time, cancellationToken));
    }

    public static HeartbeatEventsResult<MailingStatus> OwnEventsAsync(HttpContext http, MailingStatusReader statuses, IMailingStore store,
        IMailingChanges changes, IOptions<StatusStreamOptions> options, TimeProvider time, CancellationToken cancellationToken) =>
        InLanguageOf(http, StatusStreams.OwnerAsync(http.User.Sender().Id, statuses, store, changes, options.Value, time, cancellationToken));

    private static HeartbeatEventsResult<MailingStatus> InLanguageOf(HttpContext http, IAsyncEnumerable<SseItem<MailingStatus>?> events) =>
        new(events.Select(item => item is { } sse ? new SseItem<MailingStatus>(InLanguageOf(http, sse.Data), sse.EventType) : item));

    public static async Task<Results<Ok<MailingStatus>, ProblemHttpResult>> ControlAsync(string id, string action, HttpContext http,
        MailingService mailings, MailingControl control, MailingStatusReader statuses, CancellationToken cancellationToken)
    {
        var mailing = await mailings.GetOwnedAsync(id, http.User.Sender(), cancellationToken).ConfigureAwait(false);
        if (mailing is null)
        {
            return NotFound(id);
        }
        // The route admits the four names only.
        var typed = MailingActions.ByName[action];
        var changed = await control.ControlAsync(mailing, typed, cancellationToken).ConfigureAwait(false);
        return changed is null
            ? typed == MailingAction.RetryFailed
                ? Problems.Of(StatusCodes.Status409Conflict, ProblemCode.NothingToRetry, ("id", id), ("state", mailing.State))
                : Problems.Of(StatusCodes.Status409Conflict, ProblemCode.NotPossibleInState, ("id", id), ("state", mailing.State), ("action", action))
            : TypedResults.Ok(InLanguageOf(http, await statuses.StatusAsync(changed, cancellationToken).ConfigureAwait(false)));
    }

    /// <summary>Ready → Queued (at once), or Ready → Scheduled (a sendAt, a window or an undo window; docs/scheduling.md);
    /// Scheduled with nothing handed over → rescheduled. The body is optional; with <c>dryRun</c> nothing changes and the
    /// answer is the status the mailing would have.</summary>
    public static async Task<Results<Ok<MailingStatus>, ValidationProblem, ProblemHttpResult>> StartAsync(string id, StartRequest? request, HttpContext http,
        MailingService mailings, MailingControl control, MailingStatusReader statuses, MailingScheduler scheduler, IOptions<SendingOptions> sending,
        IOptions<MailingStoreOptions> store, TimeProvider time, CancellationToken cancellationToken)
    {
        var mailing = await mailings.GetOwnedAsync(id, http.User.Sender(), cancellationToken).ConfigureAwait(false);
        if (mailing is null)
        {
            return NotFound(id);
        }
        var (plan, errors) = StartRequests.Validate(request, sending.Value.UndoSeconds, time.GetUtcNow(), Horizon(store.Value.Retention),
            scheduler.Holidays.Dates);
        if (plan is null)
        {
            return Problems.Validation(ProblemCode.ValidationFailed, errors);
        }
        if (mailing.State == MailingState.Ready
            && await mailings.RunningCapReachedAsync(http.User.Sender(), null, cancellationToken).ConfigureAwait(false) is { } max)
        {
            return TooManyRunning(max);
        }
        var started = plan.DryRun
            ? await control.WouldStartAsync(mailing, plan, cancellationToken).ConfigureAwait(false)
            : await control.StartAsync(mailing, plan, cancellationToken).ConfigureAwait(false);
        return started is null
            ? Problems.Of(StatusCodes.Status409Conflict, ProblemCode.MailingNotReady, ("id", id), ("state", mailing.State))
            : TypedResults.Ok(InLanguageOf(http, await statuses.StatusAsync(started, cancellationToken).ConfigureAwait(false)));
    }

    /// <summary>How far ahead sendAt may be: a mailing is kept for the retention after its last change, and waiting is no change.</summary>
    private static TimeSpan Horizon(TimeSpan retention) =>
        retention > TimeSpan.FromDays(2) ? retention - TimeSpan.FromDays(1) : retention / 2;

    public static async Task<Results<Ok<MailingStatus>, ProblemHttpResult>> UndoAsync(string id, HttpContext http, MailingService mailings,
        MailingControl control, MailingStatusReader statuses, CancellationToken cancellationToken)
    {
        var mailing = await mailings.GetOwnedAsync(id, http.User.Sender(), cancellationToken).ConfigureAwait(false);
        if (mailing is null)
        {
            return NotFound(id);
        }
        var undone = await control.UndoAsync(mailing, cancellationToken).ConfigureAwait(false);
        return undone is null
            ? Problems.Of(StatusCodes.Status409Conflict, ProblemCode.UndoExpired, ("id", id))
            : TypedResults.Ok(InLanguageOf(http, await statuses.StatusAsync(undone, cancellationToken).ConfigureAwait(false)));
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
            _ => mailing.State == MailingState.Cancelled
                ? Problems.Of(StatusCodes.Status409Conflict, ProblemCode.MailingStillStopping, ("id", id))
                : Problems.Of(StatusCodes.Status409Conflict, ProblemCode.MailingNotDeletable, ("id", id), ("state", mailing.State)),
        };
    }

    public static async Task<Results<Ok<DeliveryPreview>, ProblemHttpResult>> PreviewDeliveryAsync(string id, int? seq, long? recordId, HttpContext http,
        MailingService mailings, MailingPreviewer previews, CancellationToken cancellationToken)
    {
        var mailing = await mailings.GetOwnedAsync(id, http.User.Sender(), cancellationToken).ConfigureAwait(false);
        if (mailing is null)
        {
            return NotFound(id);
        }
        if (seq is null && recordId is null)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, ProblemCode.PreviewTargetRequired);
        }
        return await previews.PreviewDeliveryAsync(mailing, seq, recordId, cancellationToken).ConfigureAwait(false) is { } preview
            ? TypedResults.Ok(preview)
            : seq is { } n
                ? Problems.Of(StatusCodes.Status404NotFound, ProblemCode.DeliveryNotFound, ("id", id), ("seq", n))
                : Problems.Of(StatusCodes.Status404NotFound, ProblemCode.DeliveryNotFoundForRecord, ("id", id), ("recordId", recordId));
    }

    public static async Task<Results<EmptyHttpResult, ValidationProblem, ProblemHttpResult>> ResultsAsync(string id, string? lang, string? tz, HttpContext http,
        MailingService mailings, IMailingStore store, HrbcClient hrbc, IOptions<ResultCsvOptions> options, ILoggerFactory logs, CancellationToken cancellationToken)
    {
        var mailing = await mailings.GetOwnedAsync(id, http.User.Sender(), cancellationToken).ConfigureAwait(false);
        if (mailing is null)
        {
            return NotFound(id);
        }
        var japanese = string.Equals(lang, "ja", StringComparison.OrdinalIgnoreCase);
        var zoneName = string.IsNullOrWhiteSpace(tz) ? options.Value.TimeZone : tz.Trim();
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(zoneName, out var zone))
        {
            return Problems.Validation(ProblemCode.ValidationFailed, new Dictionary<string, CodedText[]>
            {
                [string.IsNullOrWhiteSpace(tz) ? "Results:TimeZone" : "tz"] = [CodedText.Of(ProblemCode.TimeZoneUnknown, ("tz", zoneName))],
            });
        }
        var labels = new Dictionary<string, string>();
        if (japanese)
        {
            try
            {
                // the HRBC labels of the mail fields (Field Read, cached); the aliases when HRBC cannot say
                foreach (var f in await hrbc.GetMailFieldsAsync(ModeShape.Of(mailing.Spec.Mode).Recipient, cancellationToken).ConfigureAwait(false))
                {
                    labels[f.Alias] = f.Name;
                }
            }
            catch (Exception e) when (HrbcTransience.IsFailure(e))
            {
                logs.CreateLogger(typeof(MailingsApi)).LogWarning(LogSafe.Of(e), "Result file of {MailingId}: mail field labels unavailable", id);
            }
        }
        // The English file keeps UTC unless a zone is asked for; the Japanese one is local.
        var format = new ResultCsvFormat(japanese, japanese || !string.IsNullOrWhiteSpace(tz) ? zone : null, labels);
        var final = MailingStates.IsFinal(mailing.State) && mailing.FinishedAt is not null;
        var name = ResultCsv.FileName(mailing, zone);
        if (!final)
        {
            name = name[..^4] + "_partial.csv";
        }
        http.Response.ContentType = "text/csv; charset=utf-8";
        http.Response.Headers.ContentDisposition = new Microsoft.Net.Http.Headers.ContentDispositionHeaderValue("attachment")
        {
            FileName = Ascii(name),
            FileNameStar = name,
        }.ToString();
        http.Response.Headers["X-BulkMail-Final"] = final ? "true" : "false";
        await ResultCsv.WriteAsync(http.Response.Body, id, store.ReadDeliveriesAsync(id, cancellationToken), format, cancellationToken).ConfigureAwait(false);
        return TypedResults.Empty;
    }

    /// <summary>The file name for clients that ignore <c>filename*</c>: its ASCII characters only.</summary>
    private static string Ascii(string name)
    {
        var ascii = new string([.. name.Where(c => c is >= ' ' and < (char)127 and not '"' and not '\\')]);
        return ascii.Replace("__", "_", StringComparison.Ordinal);
    }

    /// <summary>The status's sentences (why paused, why waiting) in the caller's language, from the table of codes.</summary>
    private static MailingStatus InLanguageOf(HttpContext http, MailingStatus status) =>
        Problems.WantsJapanese(http)
            ? status with
            {
                // by code; a status stored before codes: its English matched against the table's
                PausedReason = status.PausedReason is { } p
                    ? ServerText.Format<PausedCode>(status.PausedCode, status.PausedArgs, japanese: true) ?? ServerText.Japanese<PausedCode>(p) : null,
                WaitReason = status.WaitReason is { } w
                    ? ServerText.Format<WaitCode>(status.WaitCode, status.WaitArgs, japanese: true) ?? ServerText.Japanese<WaitCode>(w) : null,
            }
            : status;

    private static ProblemHttpResult TooManyRunning(int max) =>
        Problems.Of(StatusCodes.Status409Conflict, ProblemCode.TooManyRunningMailings, ("max", max));

    private static ProblemHttpResult NotFound(string id) =>
        Problems.Of(StatusCodes.Status404NotFound, ProblemCode.MailingNotFound, ("id", id));
}

public sealed record SubmitResponse(string Id, MailingState State);
