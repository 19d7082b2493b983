using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Mailings;

/// <summary>The <c>Bounces</c> section: how long and how often a finished mailing's mailbox is read for NDRs.</summary>
public sealed class BounceOptions
{
    public const string Section = "Bounces";

    /// <summary>How long after a mailing finishes its bounces are looked for (Exchange retries for up to 2 days).</summary>
    public TimeSpan WatchFor { get; set; } = TimeSpan.FromDays(3);

    public TimeSpan ScanInterval { get; set; } = TimeSpan.FromMinutes(5);

    public bool Enabled { get; set; } = true;
}

/// <summary>What an NDR says: which delivery bounced, for whom, and why (RFC 3464 fields).</summary>
public sealed record NonDelivery(string? DeliveryId, string? Recipient, string? Status, string? Diagnostic)
{
    public string Reason => string.Join(" ", new[] { Status, Diagnostic }.Where(x => !string.IsNullOrWhiteSpace(x)));
}

/// <summary>
/// Reads an NDR's MIME (RFC 3464): the <c>message/delivery-status</c> part (Final-Recipient, Status, Diagnostic-Code)
/// and the returned original headers, where BulkMail's <c>X-BulkMail-Delivery</c> header names the delivery. The
/// subject is never used: Outlook localizes its "Undeliverable:" prefix.
/// </summary>
public static partial class NdrParser
{
    public static NonDelivery Parse(string mime)
    {
        var text = Unfold(mime);
        var delivery = DeliveryHeader().Matches(text).Select(m => m.Groups[1].Value.Trim()).LastOrDefault();
        return new NonDelivery(delivery,
            Field(text, "Final-Recipient") is { } r ? r[(r.IndexOf(';') + 1)..].Trim() : Field(text, "Original-Recipient"),
            Field(text, "Status"),
            Field(text, "Diagnostic-Code"));
    }

    private static string? Field(string text, string name) =>
        Regex.Match(text, $@"^{Regex.Escape(name)}:[ \t]*(.+?)\r?$", RegexOptions.Multiline | RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1)) is { Success: true } m
            ? m.Groups[1].Value.Trim()
            : null;

    // header continuation lines (RFC 5322 folding)
    private static string Unfold(string text) => Regex.Replace(text, @"\r?\n[ \t]+", " ", RegexOptions.None, TimeSpan.FromSeconds(1));

    [GeneratedRegex(@"^X-BulkMail-Delivery:[ \t]*([0-9a-f]+-\d+)[ \t]*\r?$", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex DeliveryHeader();

    /// <summary>Splits <c>{mailingId}-{seq}</c>.</summary>
    public static (string MailingId, int Seq)? SplitDeliveryId(string? deliveryId)
    {
        var dash = deliveryId?.LastIndexOf('-') ?? -1;
        return dash > 0 && int.TryParse(deliveryId![(dash + 1)..], out var seq) ? (deliveryId[..dash], seq) : null;
    }
}

/// <summary>
/// Finds bounces (docs/architecture.md, Bounces; docs/graph.md, Bounces): for finished mailings (watched for <c>Bounces:WatchFor</c>), reads the sender's Inbox
/// for non-delivery reports, matches each to its delivery by the returned <c>X-BulkMail-Delivery</c> header and marks
/// that delivery Bounced with the reason, so the result file tells what HRBC leaves the user to read by hand. A
/// mailbox is read only while none of its mailings is sending (Graph allows 4 concurrent requests per mailbox).
/// </summary>
public sealed partial class BounceScanner(IMailingStore store, IMailSender mail, IOptions<BounceOptions> options, TimeProvider time,
    ILogger<BounceScanner> logger) : BackgroundService
{
    // NDRs already applied by this process (a restart reads them again: applying twice changes nothing).
    private readonly ConcurrentDictionary<string, byte> _seen = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ScanAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.ScanFailed(logger, LogSafe.Of(e));
            }
            try
            {
                await Task.Delay(options.Value.ScanInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>One pass over every watched mailbox; returns how many deliveries were marked bounced.</summary>
    public async Task<int> ScanAsync(CancellationToken cancellationToken)
    {
        var watched = new List<Mailing>();
        foreach (var id in await store.BounceWatchesAsync(time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
        {
            if (await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } m && MailingStates.IsFinal(m.State))
            {
                watched.Add(m);
            }
        }
        var busy = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var id in await store.ActiveMailingIdsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } m)
            {
                busy.Add(m.Mailbox);
            }
        }
        var marked = 0;
        foreach (var mailbox in watched.GroupBy(m => m.Mailbox, StringComparer.OrdinalIgnoreCase).Where(g => !busy.Contains(g.Key)))
        {
            var byId = mailbox.ToDictionary(m => m.Id);
            var since = mailbox.Min(m => m.StartedAt ?? m.CreatedAt) - TimeSpan.FromMinutes(1);
            try
            {
                foreach (var report in await mail.NonDeliveryReportsAsync(mailbox.Key, since, cancellationToken).ConfigureAwait(false))
                {
                    if (_seen.ContainsKey(report.Id))
                    {
                        continue;
                    }
                    var ndr = NdrParser.Parse(await mail.MimeAsync(mailbox.Key, report.Id, cancellationToken).ConfigureAwait(false));
                    if (NdrParser.SplitDeliveryId(ndr.DeliveryId) is { } key && byId.ContainsKey(key.MailingId)
                        && await store.GetDeliveryAsync(key.MailingId, key.Seq, cancellationToken).ConfigureAwait(false) is { Status: DeliveryStatus.Sent } delivery)
                    {
                        await store.UpdateDeliveryAsync(key.MailingId, delivery with
                        {
                            Status = DeliveryStatus.Bounced,
                            BouncedAt = report.ReceivedAt,
                            BounceReason = ndr.Reason.Length > 0 ? ndr.Reason : "Non-delivery report",
                        }, cancellationToken).ConfigureAwait(false);
                        marked++;
                    }
                    _seen.TryAdd(report.Id, 0);
                }
            }
            catch (GraphSendException e)
            {
                Log.MailboxScanFailed(logger, e.Code, LogSafe.Of(e));
            }
        }
        if (marked > 0)
        {
            Log.Marked(logger, marked);
        }
        return marked;
    }

    private static partial class Log
    {
        [LoggerMessage(70, LogLevel.Warning, "Bounce scan failed; it runs again at the next interval")]
        public static partial void ScanFailed(ILogger logger, Exception exception);

        [LoggerMessage(71, LogLevel.Warning, "Reading a mailbox for bounces failed with {Code}; it is read again at the next interval")]
        public static partial void MailboxScanFailed(ILogger logger, string code, Exception exception);

        [LoggerMessage(72, LogLevel.Information, "{Count} deliveries marked bounced")]
        public static partial void Marked(ILogger logger, int count);
    }
}
