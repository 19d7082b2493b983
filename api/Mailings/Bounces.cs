using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using MimeKit;

namespace BulkMail.Api.Mailings;

/// <summary>The <c>Bounces</c> section: how long a finished mailing's mailbox is read for NDRs, and what a matched NDR
/// leads to (docs/graph.md, Replies and bounces).</summary>
public sealed class BounceOptions : IValidatableObject
{
    public const string Section = "Bounces";

    /// <summary>How long after a mailing finishes its bounces are looked for (Exchange retries for up to 2 days).</summary>
    public TimeSpan WatchFor { get; set; } = TimeSpan.FromDays(3);

    public TimeSpan ScanInterval { get; set; } = TimeSpan.FromMinutes(5);

    public bool Enabled { get; set; } = true;

    /// <summary>Move each matched NDR out of the Inbox into <see cref="Folder"/> (created if missing; needs Mail.ReadWrite).</summary>
    public bool MoveToFolder { get; set; }

    /// <summary>The folder for matched NDRs, <c>/</c> between levels under the mailbox's top (e.g. <c>BulkMail/Bounces</c>).</summary>
    [Required]
    public string Folder { get; set; } = "BulkMail/Bounces";

    /// <summary>Add hard-bounced addresses to the tenant's suppression list (needs the suppression list, issue 13 part 3).</summary>
    public bool SuppressHard { get; set; }

    /// <summary>Log one HRBC Activity on the record of each bounced delivery.</summary>
    public bool LogActivity { get; set; }

    /// <summary>At most this many Graph requests per mailbox per scan (list pages, MIME reads, moves): with the 5-minute
    /// interval well inside Outlook's 10,000 requests per 10 minutes, leaving the sends their budget.</summary>
    [Range(10, 5000)]
    public int MaxRequestsPerScan { get; set; } = 500;

    /// <summary>Inbox messages per listed page (Graph's <c>$top</c>).</summary>
    [Range(1, 1000)]
    public int PageSize { get; set; } = 50;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ScanInterval < TimeSpan.FromSeconds(0.05) || ScanInterval > TimeSpan.FromDays(1))
        {
            yield return new ValidationResult("Bounces:ScanInterval must be between 50 ms and 1 day.", [nameof(ScanInterval)]);
        }
        if (WatchFor <= TimeSpan.Zero || WatchFor > TimeSpan.FromDays(60))
        {
            yield return new ValidationResult("Bounces:WatchFor must be more than 0 and at most 60 days.", [nameof(WatchFor)]);
        }
        var levels = Folder.Split('/');
        if (levels.Any(l => l.Trim().Length == 0 || l.Length > 255))
        {
            yield return new ValidationResult("Bounces:Folder names folders separated by '/', none empty.", [nameof(Folder)]);
        }
    }
}

/// <summary>
/// What an NDR says (RFC 3464): the original's <c>X-BulkMail-Delivery</c> and <c>Message-ID</c> when the returned
/// headers survived, the recipient, the DSN action, status and diagnostic, and the human-readable text (only for the
/// classification: never stored or logged).
/// </summary>
public sealed record NonDelivery(string? DeliveryId, string? OriginalMessageId, string? Recipient, string? Action, string? Status,
    string? Diagnostic, string? Text)
{
    /// <summary>A failure report: <c>Action: failed</c> (or, without an action, a permanent 5.x.x status). A delayed
    /// DSN (<c>Action: delayed</c>, 4.4.7) only says Exchange is still trying: not a bounce.</summary>
    public bool IsFailure => Action is { } a
        ? a.Equals("failed", StringComparison.OrdinalIgnoreCase)
        : Status?.StartsWith('5') == true;

    public string Reason => string.Join(" ", new[] { Status, Diagnostic }.Where(x => !string.IsNullOrWhiteSpace(x)));

    public BounceClass Class => BounceClassifier.Classify(Status, Diagnostic, Text);
}

/// <summary>
/// Reads an NDR's MIME (<c>/messages/{id}/$value</c>) with MimeKit: <c>multipart/report; report-type=delivery-status</c>
/// with its <c>message/delivery-status</c> part (per-recipient Final-Recipient, Action, Status, Diagnostic-Code), the
/// returned original as <c>text/rfc822-headers</c> or <c>message/rfc822</c>, and the human-readable part — in any
/// transfer encoding (base64, quoted-printable) and charset (Japanese ISO-2022-JP, UTF-8). The subject is never used:
/// Outlook localizes its "Undeliverable:" prefix.
/// </summary>
public static partial class NdrParser
{
    // .NET ships only the Unicode and Latin-1 encodings; MimeKit decodes ISO-2022-JP, Shift_JIS and EUC-JP (Japanese
    // mail servers' NDR texts) through the code-page provider, which has to be registered once per process (idempotent).
    static NdrParser() => System.Text.Encoding.RegisterProvider(System.Text.CodePagesEncodingProvider.Instance);

    public static NonDelivery Parse(string mime)
    {
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(mime));
        return Parse(stream);
    }

    public static NonDelivery Parse(Stream mime, CancellationToken cancellationToken = default)
    {
        MimeMessage message;
        try
        {
            message = MimeMessage.Load(mime, cancellationToken);
        }
        catch (FormatException)
        {
            return new NonDelivery(null, null, null, null, null, null, null);
        }
        HeaderList? status = null;
        HeaderList? original = null;
        string? text = null;
        foreach (var entity in Walk(message.Body))
        {
            switch (entity)
            {
                case MessageDeliveryStatus dsn:
                    // group 0 is per message (Reporting-MTA); the rest per recipient: the first failed one, else the first
                    var recipients = dsn.StatusGroups.Skip(1).ToList();
                    status ??= recipients.FirstOrDefault(g => string.Equals(Trim(g["Action"]), "failed", StringComparison.OrdinalIgnoreCase))
                        ?? recipients.FirstOrDefault() ?? dsn.StatusGroups.FirstOrDefault();
                    break;
                case MessagePart { Message: { } returned }:
                    original ??= returned.Headers;
                    break;
                case MimePart part when IsReturnedHeaders(part.ContentType):
                    // an encoded (base64/quoted-printable) returned part is a leaf: decode it and read its headers
                    original ??= ReadHeaders(part, cancellationToken);
                    break;
                case TextPart t when text is null && !t.IsAttachment:
                    text = t.IsHtml ? HtmlTag().Replace(t.Text, " ") : t.Text;
                    break;
            }
        }
        string? recipient = null;
        if (status is not null)
        {
            recipient = Address(status["Final-Recipient"]) ?? Address(status["Original-Recipient"]);
        }
        var statusCode = status is null ? null : StatusCode(Trim(status["Status"]));
        var diagnostic = status is null ? null : Trim(status["Diagnostic-Code"]);
        return new NonDelivery(
            Trim(original?[BulkMail.Api.Mail.GraphMailSender.DeliveryHeader]),
            MessageIds.Normalize(original?[HeaderId.MessageId]),
            recipient,
            status is null ? null : Trim(status["Action"]),
            statusCode ?? (diagnostic is null ? null : StatusCode(diagnostic)),
            diagnostic,
            text is null ? null : Collapse(text));
    }

    private static bool IsReturnedHeaders(ContentType type) =>
        type.IsMimeType("text", "rfc822-headers") || type.IsMimeType("message", "rfc822") || type.IsMimeType("message", "global-headers")
        || type.IsMimeType("message", "global");

    private static HeaderList? ReadHeaders(MimePart part, CancellationToken cancellationToken)
    {
        if (part.Content is null)
        {
            return null;
        }
        using var decoded = new MemoryStream();
        part.Content.DecodeTo(decoded, cancellationToken);
        decoded.Position = 0;
        try
        {
            return MimeMessage.Load(decoded, cancellationToken).Headers;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static IEnumerable<MimeEntity> Walk(MimeEntity? entity)
    {
        if (entity is null)
        {
            yield break;
        }
        if (entity is Multipart multipart)
        {
            foreach (var child in multipart)
            {
                foreach (var e in Walk(child))
                {
                    yield return e;
                }
            }
            yield break;
        }
        yield return entity;
    }

    /// <summary><c>rfc822;taro@example.jp</c> → <c>taro@example.jp</c>.</summary>
    private static string? Address(string? value) =>
        Trim(value) is { } v ? (v.IndexOf(';', StringComparison.Ordinal) is var i and >= 0 ? v[(i + 1)..].Trim() : v).Trim('<', '>', ' ') is { Length: > 0 } a ? a : null : null;

    /// <summary>The enhanced status code (RFC 3463) in a Status or Diagnostic-Code value.</summary>
    private static string? StatusCode(string? value) =>
        value is not null && EnhancedCode().Match(value) is { Success: true } m ? m.Value : null;

    private static string? Trim(string? value) => value is null ? null : Collapse(value) is { Length: > 0 } v ? v : null;

    private static string Collapse(string value) => Whitespace().Replace(value, " ").Trim();

    [GeneratedRegex(@"\b[245]\.\d{1,3}\.\d{1,3}\b")]
    private static partial Regex EnhancedCode();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex("<[^>]*>")]
    private static partial Regex HtmlTag();

    /// <summary>Splits <c>{mailingId}-{seq}</c>.</summary>
    public static (string MailingId, int Seq)? SplitDeliveryId(string? deliveryId)
    {
        var dash = deliveryId?.LastIndexOf('-') ?? -1;
        return dash > 0 && int.TryParse(deliveryId![(dash + 1)..], out var seq) ? (deliveryId[..dash], seq) : null;
    }
}

/// <summary>RFC 5322 message ids as compared here: without the angle brackets and surrounding space.</summary>
public static class MessageIds
{
    public static string? Normalize(string? id) => id?.Trim().Trim('<', '>').Trim() is { Length: > 0 } v ? v : null;

    /// <summary>The ids in an <c>In-Reply-To</c> or <c>References</c> value (<c>&lt;a@b&gt; &lt;c@d&gt;</c>).</summary>
    public static IEnumerable<string> All(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            yield break;
        }
        var start = value.IndexOf('<', StringComparison.Ordinal);
        if (start < 0)
        {
            foreach (var bare in value.Split([' ', '\t', '\r', '\n', ','], StringSplitOptions.RemoveEmptyEntries))
            {
                yield return bare;
            }
            yield break;
        }
        while (start >= 0)
        {
            var end = value.IndexOf('>', start + 1);
            if (end < 0)
            {
                yield break;
            }
            if (Normalize(value[start..(end + 1)]) is { } id)
            {
                yield return id;
            }
            start = value.IndexOf('<', end + 1);
        }
    }
}

/// <summary>Why a message bounced, coarsely: what the enhanced status code (and for 5.7.x the text) says.</summary>
public enum BounceCategory
{
    UnknownRecipient,
    UnknownDomain,
    MailboxDisabled,
    MailboxFull,
    MessageTooBig,
    Expired,
    EncryptedAttachment,
    RateLimited,
    Policy,
    Transient,
    Other,
}

public sealed record BounceClass(BounceKind Kind, BounceCategory Category);

/// <summary>
/// Hard or soft from the NDR's enhanced status code (RFC 3463, Exchange Online's NDR codes). Hard means the address
/// itself is dead (suppress it); everything that may work later or with another message is soft. Unknown → soft: an
/// address is never suppressed on a guess.
/// </summary>
public static class BounceClassifier
{
    private static readonly string[] EncryptedWords = ["encrypt", "password", "passworded", "暗号", "パスワード", "zip"];

    public static BounceClass Classify(string? status, string? diagnostic, string? text)
    {
        if (status is null)
        {
            return new(BounceKind.Soft, BounceCategory.Other);
        }
        var parts = status.Split('.');
        if (parts.Length != 3)
        {
            return new(BounceKind.Soft, BounceCategory.Other);
        }
        var (cls, subject, detail) = (parts[0], parts[1], parts[2]);
        if (cls == "4")
        {
            return new(BounceKind.Soft, subject == "4" && detail == "7" ? BounceCategory.Expired : BounceCategory.Transient);
        }
        if (cls != "5")
        {
            return new(BounceKind.Soft, BounceCategory.Other);
        }
        return (subject, detail) switch
        {
            ("1", "2") => new(BounceKind.Hard, BounceCategory.UnknownDomain),
            ("1", _) => new(BounceKind.Hard, BounceCategory.UnknownRecipient),
            ("2", "1") => new(BounceKind.Hard, BounceCategory.MailboxDisabled),
            ("2", "2") => new(BounceKind.Soft, BounceCategory.MailboxFull),
            ("2", "3") or ("3", "4") => new(BounceKind.Soft, BounceCategory.MessageTooBig),
            ("4", "7") => new(BounceKind.Soft, BounceCategory.Expired),
            ("4", _) => new(BounceKind.Hard, BounceCategory.UnknownDomain),
            ("7", "233") or ("7", "232") => new(BounceKind.Soft, BounceCategory.RateLimited),
            ("7", _) when Mentions(diagnostic, text) => new(BounceKind.Soft, BounceCategory.EncryptedAttachment),
            ("7", _) => new(BounceKind.Soft, BounceCategory.Policy),
            // 5.3.x (the receiving system) and 5.6.x (the content): nothing says the address is wrong
            ("3", _) or ("6", _) => new(BounceKind.Soft, BounceCategory.Other),
            _ => new(BounceKind.Hard, BounceCategory.Other),
        };
    }

    private static bool Mentions(string? diagnostic, string? text) =>
        EncryptedWords.Any(w => (diagnostic?.Contains(w, StringComparison.OrdinalIgnoreCase) ?? false) || (text?.Contains(w, StringComparison.OrdinalIgnoreCase) ?? false));
}
