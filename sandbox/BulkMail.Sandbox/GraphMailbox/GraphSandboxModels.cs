namespace BulkMail.Sandbox.Graph;

/// <summary>How the Graph mailbox sandbox behaves (limits after Microsoft's documented Outlook service limits).</summary>
public sealed class GraphSandboxOptions
{
    /// <summary>Who <c>/me</c> is when the bearer token does not say (<c>Bearer sandbox:{upn}</c> does).</summary>
    public string DefaultMailbox { get; set; } = "demo@bulkmail.example";

    public int MaxConcurrentRequestsPerMailbox { get; set; } = 4;

    public long MaxRequestBytes { get; set; } = 4 * 1024 * 1024;

    public long UploadBudgetBytesPer5Minutes { get; set; } = 150L * 1024 * 1024;

    /// <summary>Recipients here get a non-delivery report in the sender's Inbox after the send.</summary>
    public string[] BouncingDomains { get; set; } = ["bounce.example"];

    /// <summary>The shape of the NDRs the bouncing domains produce.</summary>
    public NdrShape BounceShape { get; set; } = NdrShape.WithDeliveryHeader;

    /// <summary>Recipients here make the send fail 400 ErrorInvalidRecipients.</summary>
    public string[] RejectedDomains { get; set; } = ["invalid.example"];

    /// <summary>A request arriving this soon after a 429 was answered left before the client could know of it:
    /// it is not counted as ignoring Retry-After.</summary>
    public TimeSpan InFlightGrace { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Unset (the demo): any or no token. Set: every Graph call needs a bearer token this accepts, as
    /// Microsoft Graph does — none or an unknown/expired one → 401 InvalidAuthenticationToken; a delegated token of
    /// another user → 403 ErrorAccessDenied; an app-only token may act on any mailbox.</summary>
    public Func<string, SandboxCaller?>? ValidateAccessToken { get; set; }
}

/// <summary>Who a bearer token speaks for: a user (delegated) or the application itself (app-only).</summary>
public sealed record SandboxCaller(string? User, bool AppOnly);

/// <summary>Faults switched on by tests at run time. Thread-safe; choices are deterministic for a given seed.</summary>
public sealed class GraphSandboxFaults
{
    private readonly Lock _gate = new();
    private Random _random = new(1);
    private int _seed = 1;

    public double ThrottleRate { get; set; }
    public int MinRetryAfterSeconds { get; set; } = 1;
    public int MaxRetryAfterSeconds { get; set; } = 2;
    public double ServiceUnavailableRate { get; set; }
    public double LostAnswerRate { get; set; }
    public TimeSpan Latency { get; set; }

    private int _slowSends;
    private TimeSpan _slowSendDelay;

    /// <summary>The next <paramref name="count"/> sends wait <paramref name="delay"/> before Exchange takes (and counts)
    /// them: a send held up on its way, on top of <see cref="Latency"/>.</summary>
    public void DelaySends(int count, TimeSpan delay)
    {
        lock (_gate) { _slowSends = count; _slowSendDelay = delay; }
    }

    internal TimeSpan TakeSendDelay()
    {
        lock (_gate)
        {
            if (_slowSends <= 0)
            {
                return TimeSpan.Zero;
            }
            _slowSends--;
            return _slowSendDelay;
        }
    }

    public int Seed
    {
        get { lock (_gate) { return _seed; } }
        set { lock (_gate) { _seed = value; _random = new Random(value); } }
    }

    public void Reset()
    {
        lock (_gate)
        {
            ThrottleRate = ServiceUnavailableRate = LostAnswerRate = 0;
            MinRetryAfterSeconds = 1;
            MaxRetryAfterSeconds = 2;
            Latency = TimeSpan.Zero;
            _slowSends = 0;
            _random = new Random(_seed);
        }
    }

    internal bool Roll(double rate)
    {
        if (rate <= 0)
        {
            return false;
        }
        lock (_gate)
        {
            return _random.NextDouble() < rate;
        }
    }

    internal int RetryAfterSeconds()
    {
        lock (_gate)
        {
            return _random.Next(MinRetryAfterSeconds, Math.Max(MinRetryAfterSeconds, MaxRetryAfterSeconds) + 1);
        }
    }
}

public sealed record SandboxAttachment(string Name, string ContentType, byte[] Content);

/// <summary>A message as the sandbox keeps it (a snapshot).</summary>
public sealed record SandboxMessage(string Id, string InternetMessageId, string Mailbox, string From, IReadOnlyList<string> To,
    IReadOnlyList<string> Cc, IReadOnlyList<string> Bcc, string Subject, string BodyContentType, string Body,
    IReadOnlyList<SandboxAttachment> Attachments, IReadOnlyDictionary<string, string> Headers,
    IReadOnlyDictionary<string, string> ExtendedProperties, DateTimeOffset? SentAt, bool IsDraft, string Folder)
{
    /// <summary>The display name of each <see cref="To"/> recipient as the request gave it (Graph's
    /// <c>recipient.emailAddress.name</c>), null where it gave none.</summary>
    public IReadOnlyList<string?> ToNames { get; init; } = [];

    /// <summary>Graph's <c>conversationId</c>: the same for a message and the replies to it.</summary>
    public string ConversationId { get; init; } = "";

    /// <summary>When a message delivered to the mailbox arrived (null for what the mailbox sent).</summary>
    public DateTimeOffset? ReceivedAt { get; init; }
}

public sealed record GraphSandboxRequest(DateTimeOffset At, string Mailbox, string Method, string Path, int Status, TimeSpan? RetryAfter);
