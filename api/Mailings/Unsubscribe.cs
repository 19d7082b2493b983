using System.Net;
using BulkMail.Api.Hrbc;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Suppressions;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Mailings;

/// <summary>
/// The public opt-out page (docs/opt-out.md), outside <c>/api</c> and without sign-in. <c>GET /unsubscribe/{token}</c>
/// only shows the address (masked) and one button: mail security scanners open every link in a message, so a GET never
/// changes anything. <c>POST</c> (the button's form, or an RFC 8058 one-click POST) adds the address to the tenant's
/// suppression list with code <c>Unsubscribed</c> and, when configured, writes the HRBC opt-out field or an activity on
/// the record, once. There is no session to bind an antiforgery token to: the signed link itself is the capability (it
/// names one delivery, cannot be forged or guessed, and all it can do is unsubscribe that delivery's own address).
/// </summary>
public static partial class UnsubscribePage
{
    public static IEndpointRouteBuilder MapUnsubscribePage(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/unsubscribe").WithTags("Unsubscribe").AllowAnonymous().RequireRateLimiting(RateLimits.Unsubscribes);
        group.MapGet("/{token}", ShowAsync).WithSummary("The opt-out page: the address (masked) and one button; changes nothing")
            .Produces(StatusCodes.Status200OK, contentType: "text/html").Produces(StatusCodes.Status404NotFound, contentType: "text/html");
        group.MapPost("/{token}", ConfirmAsync).WithSummary("Unsubscribes the link's address (the page's button, or RFC 8058 one-click)")
            .Produces(StatusCodes.Status200OK, contentType: "text/html").Produces(StatusCodes.Status404NotFound, contentType: "text/html")
            .DisableAntiforgery();
        return app;
    }

    /// <summary>The delivery a link names and who it unsubscribes (the address normalized): from the link itself, or
    /// (links of earlier versions) from the stored delivery.</summary>
    private sealed record Target(string MailingId, int Seq, UnsubscribeRecipient Recipient);

    private static async Task<Target?> FindAsync(string token, UnsubscribeTokens tokens, IMailingStore store, CancellationToken cancellationToken)
    {
        if (tokens.Read(token) is not { } t)
        {
            return null;
        }
        // sealed into the link: it works whether or not the mailing is still stored
        var recipient = t.Recipient;
        if (recipient is null && await store.GetAsync(t.MailingId, cancellationToken).ConfigureAwait(false) is { } mailing
            && await store.GetDeliveryAsync(t.MailingId, t.Seq, cancellationToken).ConfigureAwait(false) is { Address: { } stored } delivery)
        {
            recipient = new UnsubscribeRecipient(mailing.Spec.Tenant, stored, mailing.Spec.Mode, delivery.RecordId, delivery.ResumeId);
        }
        return recipient is not null && SuppressionAddress.Normalize(recipient.Address) is { } address
            ? new Target(t.MailingId, t.Seq, recipient with { Address = address })
            : null;
    }

    public static async Task<IResult> ShowAsync(string token, HttpContext http, UnsubscribeTokens tokens, IMailingStore store, ISuppressionList suppressions,
        CancellationToken cancellationToken)
    {
        var ja = Problems.WantsJapanese(http);
        var target = await FindAsync(token, tokens, store, cancellationToken).ConfigureAwait(false);
        if (target is null)
        {
            return Page(http, StatusCodes.Status404NotFound, ja, T(ja, "Link not valid", "無効なリンク"),
                $"<p>{Enc(ServerText.Format(ProblemCode.UnsubscribeLinkInvalid, null, ja))}</p>");
        }
        var masked = Enc(SuppressionAddress.Mask(target.Recipient.Address));
        if (await suppressions.GetAsync(target.Recipient.Tenant, target.Recipient.Address, cancellationToken).ConfigureAwait(false) is not null)
        {
            return Page(http, StatusCodes.Status200OK, ja, T(ja, "Unsubscribed", "配信停止済み"),
                $"<p>{T(ja, $"{masked} is unsubscribed: no more of these messages are sent to it.", $"{masked} は配信停止済みです。今後このメールはお送りしません。")}</p>");
        }
        return Page(http, StatusCodes.Status200OK, ja, T(ja, "Unsubscribe", "配信停止"),
            $"""
            <p>{T(ja, $"Stop these messages to <strong>{masked}</strong>?", $"<strong>{masked}</strong> へのメール配信を停止しますか？")}</p>
            <form method="post" action="/unsubscribe/{Enc(token)}"><button type="submit">{T(ja, "Unsubscribe", "配信を停止する")}</button></form>
            """);
    }

    public static async Task<IResult> ConfirmAsync(string token, HttpContext http, UnsubscribeTokens tokens, IMailingStore store, ISuppressionList suppressions,
        HrbcClient hrbc, IOptions<OptOutOptions> options, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var ja = Problems.WantsJapanese(http);
        var target = await FindAsync(token, tokens, store, cancellationToken).ConfigureAwait(false);
        if (target is null)
        {
            return Page(http, StatusCodes.Status404NotFound, ja, T(ja, "Link not valid", "無効なリンク"),
                $"<p>{Enc(ServerText.Format(ProblemCode.UnsubscribeLinkInvalid, null, ja))}</p>");
        }
        var (tenant, address) = (target.Recipient.Tenant, target.Recipient.Address);
        var added = await suppressions.AddAsync(tenant, address, "Unsubscribe link", "unsubscribe", target.MailingId, SuppressionCode.Unsubscribed,
            cancellationToken).ConfigureAwait(false);
        if (added)
        {
            // Once: only the request that put the address on the list writes to HRBC.
            await WriteHrbcAsync(target, hrbc, options.Value, time, loggers.CreateLogger(typeof(UnsubscribePage).FullName!), cancellationToken)
                .ConfigureAwait(false);
        }
        var masked = Enc(SuppressionAddress.Mask(address));
        return Page(http, StatusCodes.Status200OK, ja, T(ja, "Unsubscribed", "配信停止しました"),
            $"<p>{T(ja, $"{masked} is unsubscribed: no more of these messages are sent to it.", $"{masked} の配信を停止しました。今後このメールはお送りしません。")}</p>");
    }

    /// <summary>The HRBC side of an unsubscribe (<c>OptOut:Write</c>, <c>OptOut:LogActivity</c>): the recipient's record
    /// gets its opt-out option and/or an activity. A failure is logged and not retried: the suppression list, which every
    /// mailing reads, already holds the address.</summary>
    private static async Task WriteHrbcAsync(Target target, HrbcClient hrbc, OptOutOptions o, TimeProvider time, ILogger logger,
        CancellationToken cancellationToken)
    {
        var who = target.Recipient;
        var shape = Modes.ModeShape.Of(who.Mode);
        var recipient = shape.Recipient;
        // The recipient's record id when the delivery knows it: the listed record, or the resume of a matching mode.
        long? recordId = !shape.RecipientIsAnchor && shape.List == recipient ? who.RecordId
            : recipient == HrbcResource.Resume ? who.ResumeId : null;
        try
        {
            if (o.Write.GetValueOrDefault(recipient.Name) is { Field.Length: > 0, Option.Length: > 0 } write && recordId is { } id)
            {
                var results = await hrbc.WriteAsync(recipient, [new HrbcWriteItem(id).SetOptions(write.Field, write.Option)], cancellationToken).ConfigureAwait(false);
                if (results.FirstOrDefault() is { Succeeded: false } r)
                {
                    Log.WriteRefused(logger, target.MailingId, target.Seq, r.Code);
                }
            }
            if (o.LogActivity)
            {
                var (resource, on) = shape.ActivityOn(who.RecordId, who.ResumeId, null);
                var deliveryId = Delivery.IdOf(target.MailingId, target.Seq);
                await hrbc.CreateActivitiesAsync([new HrbcActivityEntry(resource.Value, on, "配信停止（BulkMail）",
                    $"配信停止リンクからメール配信の停止が申し込まれました（{deliveryId}）。", time.GetUtcNow(), $"[BulkMail unsubscribe {deliveryId}]")],
                    cancellationToken, lookFirst: true).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (HrbcTransience.IsFailure(e))
        {
            Log.WriteFailed(logger, target.MailingId, target.Seq, LogSafe.Of(e));
        }
    }

    private static string T(bool ja, string en, string jaText) => ja ? jaText : en;

    private static string Enc(string s) => WebUtility.HtmlEncode(s);

    private static IResult Page(HttpContext http, int status, bool ja, string title, string content)
    {
        var headers = http.Response.Headers;
        headers.CacheControl = "no-store";
        headers["Referrer-Policy"] = "no-referrer"; // the token is in the address
        headers["X-Robots-Tag"] = "noindex";
        headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";
        var html = $"""
            <!DOCTYPE html>
            <html lang="{(ja ? "ja" : "en")}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="robots" content="noindex"><title>{Enc(title)}</title>
            <style>body{"{"}font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;line-height:1.6{"}"}button{"{"}font-size:1em;padding:.5em 1.5em{"}"}</style>
            </head><body><h1>{Enc(title)}</h1>
            {content}
            </body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", System.Text.Encoding.UTF8, status);
    }

    private static partial class Log
    {
        [LoggerMessage(90, LogLevel.Warning, "Unsubscribe of mailing {MailingId} delivery {Seq}: HRBC refused the opt-out write (code {Code})")]
        public static partial void WriteRefused(ILogger logger, string mailingId, int seq, int code);

        [LoggerMessage(91, LogLevel.Warning, "Unsubscribe of mailing {MailingId} delivery {Seq}: the HRBC write failed")]
        public static partial void WriteFailed(ILogger logger, string mailingId, int seq, Exception exception);
    }
}
