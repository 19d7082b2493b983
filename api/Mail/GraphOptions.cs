using System.ComponentModel.DataAnnotations;

namespace BulkMail.Api.Mail;

public enum GraphAuthMode { OnBehalfOf, ClientCredentials, None }

/// <summary>The <c>Graph</c> section: where Microsoft Graph is and how BulkMail authenticates to it.</summary>
public sealed class GraphOptions
{
    public const string Section = "Graph";

    [Required]
    public Uri BaseUrl { get; set; } = new("https://graph.microsoft.com/v1.0");

    /// <summary>Not configuration: set by a host that serves a Graph stand-in itself (the demo's sandbox mailbox), as a
    /// path on this server's own address; it wins over <see cref="BaseUrl"/>, which that host left unset.</summary>
    public string? SelfHostedPath { get; set; }

    /// <summary><c>None</c> sends no token: for the sandbox and tests only, refused outside Development.</summary>
    public GraphAuthMode Auth { get; set; } = GraphAuthMode.OnBehalfOf;

    /// <summary>How long one Graph request may take before its outcome counts as unknown.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The resource the scopes name; by default the scheme and host of <see cref="BaseUrl"/>
    /// (<c>https://graph.microsoft.com</c>, or a national cloud's Graph).</summary>
    public Uri? Resource { get; set; }

    /// <summary>MSAL's instance discovery: leave on for Microsoft's clouds; off only for an authority MSAL cannot know.</summary>
    public bool InstanceDiscovery { get; set; } = true;

    /// <summary>Encrypts the shared token cache in Redis; by default derived from the client secret.</summary>
    public string? TokenCacheKey { get; set; }

    private string ResourceRoot => (Resource ?? new Uri(BaseUrl.GetLeftPart(UriPartial.Authority))).GetLeftPart(UriPartial.Authority);

    /// <summary>Delegated permissions (OnBehalfOf): drafts, attachments and lookups need Mail.ReadWrite, sending Mail.Send.</summary>
    public IReadOnlyList<string> DelegatedScopes => [$"{ResourceRoot}/Mail.ReadWrite", $"{ResourceRoot}/Mail.Send"];

    /// <summary>App-only (ClientCredentials): the application permissions granted to the app registration.</summary>
    public string AppScope => $"{ResourceRoot}/.default";
}

/// <summary>The <c>Sending</c> section: per-mailbox pacing and retries.</summary>
public sealed class SendingOptions
{
    public const string Section = "Sending";

    /// <summary>Exchange Online's own limit is 30; higher values are for tenants with raised limits and for benchmarks.</summary>
    [Range(1, 1_000_000)]
    public int MessagesPerMinute { get; set; } = 30;

    [Range(1, 4)]
    public int MaxConcurrency { get; set; } = 4;

    [Range(1, 1_000_000)]
    public int DailyRecipientLimit { get; set; } = 10_000;

    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Failures in a row after which a mailing pauses itself.</summary>
    [Range(1, 1000)]
    public int MaxFailureStreak { get; set; } = 10;

    /// <summary>First retry delay after a 5xx or timeout; doubles each attempt, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a worker holds a delivery before another may take it over (renewed while working).</summary>
    [Range(typeof(TimeSpan), "00:00:02", "1.00:00:00")]
    public TimeSpan DeliveryLease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>In-memory store only: how often an idle worker looks for mailings (memory costs nothing to look at).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Redis: the longest a worker sleeps with nothing due. Wake-ups come by pub/sub; this only bounds the
    /// delay after one that was lost.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan IdleWake { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a mailing taken by a worker is its alone (renewed while it works; then any instance takes it).</summary>
    [Range(typeof(TimeSpan), "00:00:02", "01:00:00")]
    public TimeSpan MailingHold { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Mailings one instance works on at once; the rest wait in the due index for any instance.</summary>
    [Range(1, 10_000)]
    public int MaxMailingsPerInstance { get; set; } = 200;

    /// <summary>How often one instance checks that every active mailing is in the due index (repairs a lost write).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan RepairInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Off: the worker does not run in this process (an API-only instance).</summary>
    public bool WorkerEnabled { get; set; } = true;

    /// <summary>The window <see cref="MessagesPerMinute"/> counts in. Exchange's is a minute; a shorter one is for tests and
    /// benchmarks that must see pacing across instances without waiting real minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan PacingWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Added to the minute of <see cref="MessagesPerMinute"/>. The window counts each message from its send's
    /// answer, when Microsoft has counted it for certain, so the margin only covers the instances' clocks differing
    /// and a send whose answer's stamp is lost with the Redis connection (then it counts from the call).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan PacingMargin { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long before the pacing window frees a slot the next message's draft is made, so that its send goes
    /// the moment the slot frees (0: the draft is made after the grant, and its round trip is added to every window).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan PrepareAhead { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Attachment bytes a mailbox may upload per 5 minutes: under Outlook's 150 MB, leaving room for the JSON
    /// around them and for the user's own Outlook.</summary>
    [Range(1, 150L * 1024 * 1024)]
    public long UploadBudgetBytes { get; set; } = 140L * 1024 * 1024;

    /// <summary>After Start, nothing of a mailing is handed to Microsoft 365 for this many seconds: the undo window
    /// (a Start body's <c>undoSeconds</c> overrides it per mailing, within the same range).</summary>
    [Range(0, 600)]
    public int UndoSeconds { get; set; } = 30;

    public MailboxLimits Limits => new(MessagesPerMinute, MaxConcurrency, DailyRecipientLimit, DeliveryLease)
    {
        RateWindow = PacingWindow + PacingMargin,
        UploadBudgetBytes = UploadBudgetBytes,
    };
}
