using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace BulkMail.Sandbox.Graph;

/// <summary>
/// A stand-in for the Outlook mail part of Microsoft Graph v1.0 (docs/graph.md): sendMail,
/// drafts with immutable ids, attachments and upload sessions, send, Sent Items with $filter, NDRs in the Inbox,
/// and Outlook's limits (4 concurrent requests per mailbox, 4 MB per request, 150 MB uploads per 5 minutes) with
/// injectable 429/503/latency/lost answers. Everything sent is kept for tests and the demo page.
/// </summary>
public sealed partial class GraphSandbox
{
    internal sealed class Stored
    {
        public required string Id { get; set; }
        public required string InternetMessageId { get; init; }
        public required string Mailbox { get; init; }
        public string From { get; set; } = "";
        public string Subject { get; set; } = "";
        public string BodyType { get; set; } = "text";
        public string Body { get; set; } = "";
        public List<string> To { get; set; } = [];
        /// <summary>The display names of <see cref="To"/> as sent (<c>emailAddress.name</c>; null when none was given).</summary>
        public List<string?> ToNames { get; set; } = [];
        public List<string> Cc { get; set; } = [];
        public List<string> Bcc { get; set; } = [];
        public List<SandboxAttachment> Attachments { get; } = [];
        public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);
        public Dictionary<string, string> Properties { get; set; } = new(StringComparer.OrdinalIgnoreCase);
        public DateTimeOffset Created { get; init; }
        public DateTimeOffset? Sent { get; set; }
        public bool IsDraft { get; set; } = true;
        public string Folder { get; set; } = "drafts";
        public bool Immutable { get; init; }
        public string? Mime { get; set; }
        public long Order { get; init; }
        /// <summary>Exchange assigns a conversation to every new message; a reply to it carries the same one.</summary>
        public string ConversationId { get; init; } = NewConversationId();
        /// <summary>When it arrived (messages delivered to the Inbox); sent copies use their send time.</summary>
        public DateTimeOffset? Received { get; set; }
        public DateTimeOffset ReceivedOrSent => Received ?? Sent ?? Created;
    }

    internal sealed class UploadSession
    {
        public required string MessageId { get; init; }
        public required string Mailbox { get; init; }
        public required string Name { get; init; }
        public required string ContentType { get; init; }
        public required long Size { get; init; }
        public MemoryStream Data { get; } = new();
        public DateTimeOffset Expires { get; init; }
    }

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<string, Stored> _messages = [];
    private readonly List<GraphSandboxRequest> _requests = [];
    private readonly Dictionary<string, (DateTimeOffset Issued, DateTimeOffset Until)> _blocked = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int> _inFlight = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int> _maxInFlight = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, List<(DateTimeOffset At, long Bytes)>> _uploads = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, UploadSession> _sessions = [];
    private long _order;
    private int _violations;

    public GraphSandbox(GraphSandboxOptions options, TimeProvider time)
    {
        Options = options;
        _time = time;
    }

    public GraphSandboxOptions Options { get; }

    public GraphSandboxFaults Faults { get; } = new();

    internal DateTimeOffset Now => _time.GetUtcNow();

    public IReadOnlyList<SandboxMessage> Sent(string? mailbox = null) => Snapshot(m => m.Folder == "sentitems" && !m.IsDraft, mailbox);

    public IReadOnlyList<SandboxMessage> Drafts(string? mailbox = null) => Snapshot(m => m.Folder == "drafts", mailbox);

    public IReadOnlyList<SandboxMessage> Inbox(string? mailbox = null) => Snapshot(m => m.Folder == "inbox", mailbox);

    public IReadOnlyList<GraphSandboxRequest> Requests
    {
        get { lock (_gate) { return [.. _requests]; } }
    }

    public int RetryAfterViolations
    {
        get { lock (_gate) { return _violations; } }
    }

    private readonly List<string> _errors = [];

    /// <summary>Exceptions the sandbox's own handlers threw (each a 500 to the client), newest last, at most 20: its
    /// logging is off, and a test that sees Graph answer 500 needs to know why.</summary>
    public IReadOnlyList<string> Errors
    {
        get { lock (_gate) { return [.. _errors]; } }
    }

    internal void RecordError(string request, Exception e)
    {
        lock (_gate)
        {
            if (_errors.Count == 20)
            {
                _errors.RemoveAt(0);
            }
            _errors.Add($"{request}: {e}");
        }
    }

    public int MaxObservedConcurrency(string mailbox)
    {
        lock (_gate)
        {
            return _maxInFlight.GetValueOrDefault(mailbox);
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _messages.Clear();
            _requests.Clear();
            _blocked.Clear();
            _maxInFlight.Clear();
            _uploads.Clear();
            _sessions.Clear();
            _folders.Clear();
            _violations = 0;
        }
    }

    private IReadOnlyList<SandboxMessage> Snapshot(Func<Stored, bool> where, string? mailbox)
    {
        lock (_gate)
        {
            return [.. _messages.Values.Where(m => (mailbox is null || m.Mailbox.Equals(mailbox, StringComparison.OrdinalIgnoreCase)) && where(m))
                .OrderBy(m => m.Sent ?? m.Created).ThenBy(m => m.Order).Select(ToRecord)];
        }
    }

    private static SandboxMessage ToRecord(Stored m) => new(m.Id, m.InternetMessageId, m.Mailbox, m.From, [.. m.To], [.. m.Cc], [.. m.Bcc],
        m.Subject, m.BodyType, m.Body, [.. m.Attachments], new Dictionary<string, string>(m.Headers), new Dictionary<string, string>(m.Properties),
        m.Sent, m.IsDraft, m.Folder)
    { ToNames = [.. m.ToNames], ConversationId = m.ConversationId, ReceivedAt = m.Received };

    // ---------------------------------------------------------------- limits and faults

    /// <summary>Admission of one mailbox request: Retry-After bookkeeping, concurrency, injected 429/503.
    /// Returns null when admitted (the caller must call <see cref="Leave"/>), else the error status and Retry-After.</summary>
    internal (int Status, string Code, string Message, TimeSpan? RetryAfter)? Enter(string mailbox)
    {
        lock (_gate)
        {
            var now = Now;
            if (_blocked.TryGetValue(mailbox, out var block) && now < block.Until)
            {
                if (now - block.Issued > Options.InFlightGrace)
                {
                    _violations++;
                }
                return (429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", block.Until - now);
            }
            var inFlight = _inFlight.GetValueOrDefault(mailbox) + 1;
            if (inFlight > Options.MaxConcurrentRequestsPerMailbox)
            {
                var ra = TimeSpan.FromSeconds(1);
                _blocked[mailbox] = (now, now + ra);
                return (429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", ra);
            }
            if (Faults.Roll(Faults.ThrottleRate))
            {
                var ra = TimeSpan.FromSeconds(Faults.RetryAfterSeconds());
                _blocked[mailbox] = (now, now + ra);
                return (429, "TooManyRequests", "The mailbox is throttled. Retry after the given time.", ra);
            }
            if (Faults.Roll(Faults.ServiceUnavailableRate))
            {
                return (503, "ServiceUnavailable", "The service is temporarily unavailable.", TimeSpan.FromSeconds(1));
            }
            _inFlight[mailbox] = inFlight;
            _maxInFlight[mailbox] = Math.Max(_maxInFlight.GetValueOrDefault(mailbox), inFlight);
            return null;
        }
    }

    internal void Leave(string mailbox)
    {
        lock (_gate)
        {
            _inFlight[mailbox] = Math.Max(0, _inFlight.GetValueOrDefault(mailbox) - 1);
        }
    }

    internal void Record(string mailbox, string method, string path, int status, TimeSpan? retryAfter)
    {
        lock (_gate)
        {
            _requests.Add(new GraphSandboxRequest(Now, mailbox, method, path, status, retryAfter));
        }
    }

    /// <summary>False when the mailbox's upload budget (bytes per 5 minutes) would be exceeded.</summary>
    internal bool SpendUpload(string mailbox, long bytes)
    {
        lock (_gate)
        {
            if (!_uploads.TryGetValue(mailbox, out var list))
            {
                _uploads[mailbox] = list = [];
            }
            var now = Now;
            list.RemoveAll(x => x.At <= now.AddMinutes(-5));
            if (list.Sum(x => x.Bytes) + bytes > Options.UploadBudgetBytesPer5Minutes)
            {
                return false;
            }
            list.Add((now, bytes));
            return true;
        }
    }

    // ---------------------------------------------------------------- mailbox operations (called under no lock)

    internal Stored CreateMessage(string mailbox, JsonObject json, bool draft, bool immutable)
    {
        lock (_gate)
        {
            var m = new Stored
            {
                Id = NewId(immutable),
                InternetMessageId = $"<{Guid.NewGuid():N}@sandbox.bulkmail.example>",
                Mailbox = mailbox,
                From = mailbox,
                Created = Now,
                Immutable = immutable,
                Order = ++_order,
                IsDraft = draft,
                Folder = draft ? "drafts" : "sentitems",
            };
            Apply(m, json);
            _messages[m.Id] = m;
            return m;
        }
    }

    internal static void Apply(Stored m, JsonObject json)
    {
        if (Json.Get(json, "subject") is { } s)
        {
            m.Subject = s.GetValue<string>();
        }
        if (Json.Get(json, "body") is JsonObject body)
        {
            m.BodyType = Json.Get(body, "contentType")?.GetValue<string>() ?? "text";
            m.Body = Json.Get(body, "content")?.GetValue<string>() ?? "";
        }
        m.To = Recipients(json, "toRecipients") ?? m.To;
        m.ToNames = RecipientNames(json, "toRecipients") ?? m.ToNames;
        m.Cc = Recipients(json, "ccRecipients") ?? m.Cc;
        m.Bcc = Recipients(json, "bccRecipients") ?? m.Bcc;
        if (Json.Get(json, "internetMessageHeaders") is JsonArray headers)
        {
            foreach (var h in headers.OfType<JsonObject>())
            {
                m.Headers[Json.Get(h, "name")?.GetValue<string>() ?? ""] = Json.Get(h, "value")?.GetValue<string>() ?? "";
            }
        }
        if (Json.Get(json, "singleValueExtendedProperties") is JsonArray props)
        {
            foreach (var p in props.OfType<JsonObject>())
            {
                m.Properties[Json.Get(p, "id")?.GetValue<string>() ?? ""] = Json.Get(p, "value")?.GetValue<string>() ?? "";
            }
        }
        if (Json.Get(json, "attachments") is JsonArray attachments)
        {
            foreach (var a in attachments.OfType<JsonObject>())
            {
                m.Attachments.Add(FileAttachment(a));
            }
        }
    }

    internal static SandboxAttachment FileAttachment(JsonObject a) => new(
        Json.Get(a, "name")?.GetValue<string>() ?? "attachment",
        Json.Get(a, "contentType")?.GetValue<string>() ?? "application/octet-stream",
        Convert.FromBase64String(Json.Get(a, "contentBytes")?.GetValue<string>() ?? ""));

    private static List<string?>? RecipientNames(JsonObject json, string name) =>
        Json.Get(json, name) is JsonArray list
            ? [.. list.OfType<JsonObject>().Select(r => Json.Get(r, "emailAddress") is JsonObject e ? Json.Get(e, "name")?.GetValue<string>() : null)]
            : null;

    private static List<string>? Recipients(JsonObject json, string name) =>
        Json.Get(json, name) is JsonArray list
            ? [.. list.OfType<JsonObject>().Select(r => Json.Get(r, "emailAddress") is JsonObject e ? Json.Get(e, "address")?.GetValue<string>() ?? "" : "")]
            : null;

    /// <summary>Header names must start with x-; recipients must exist and not be in a rejected domain.</summary>
    internal (string Code, string Message)? Validate(Stored m)
    {
        if (m.Headers.Keys.Any(h => !h.StartsWith("x-", StringComparison.OrdinalIgnoreCase)))
        {
            return ("InvalidInternetMessageHeader", "The internet message header name should start with 'x-' or 'X-'.");
        }
        var all = m.To.Concat(m.Cc).Concat(m.Bcc).ToList();
        if (all.Count == 0)
        {
            return ("ErrorInvalidRecipients", "At least one recipient is not valid., Recipient is missing.");
        }
        if (all.FirstOrDefault(a => !a.Contains('@') || Options.RejectedDomains.Any(d => a.EndsWith("@" + d, StringComparison.OrdinalIgnoreCase))) is { } bad)
        {
            return ("ErrorInvalidRecipients", $"At least one recipient is not valid., Recipient '{bad}' is not resolved.");
        }
        return null;
    }

    internal Stored? Find(string mailbox, string id)
    {
        lock (_gate)
        {
            return _messages.TryGetValue(id, out var m) && m.Mailbox.Equals(mailbox, StringComparison.OrdinalIgnoreCase) ? m : null;
        }
    }

    internal bool Delete(string mailbox, string id)
    {
        lock (_gate)
        {
            return Find(mailbox, id) is not null && _messages.Remove(id);
        }
    }

    /// <summary>Moves a draft to Sent Items: a new id unless the id is immutable; NDRs for bouncing recipients.</summary>
    internal (string Code, string Message)? Send(Stored m)
    {
        lock (_gate)
        {
            if (!m.IsDraft)
            {
                return ("ErrorInvalidOperation", "The message has already been sent.");
            }
            if (Validate(m) is { } invalid)
            {
                return invalid;
            }
            m.IsDraft = false;
            m.Folder = "sentitems";
            m.Sent = Now;
            if (!m.Immutable)
            {
                _messages.Remove(m.Id);
                m.Id = NewId(false);
                _messages[m.Id] = m;
            }
            Bounce(m);
            return null;
        }
    }

    /// <summary>NDRs (in <see cref="GraphSandboxOptions.BounceShape"/>) for the recipients in a bouncing domain.</summary>
    internal void Bounce(Stored sent)
    {
        foreach (var rcpt in sent.To.Concat(sent.Cc).Concat(sent.Bcc)
            .Where(a => Options.BouncingDomains.Any(d => a.EndsWith("@" + d, StringComparison.OrdinalIgnoreCase))))
        {
            var from = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@bulkmail.example";
            var ndr = new Stored
            {
                Id = NewId(true),
                InternetMessageId = $"<{Guid.NewGuid():N}@sandbox.bulkmail.example>",
                Mailbox = sent.Mailbox,
                From = from,
                Subject = "Undeliverable: " + sent.Subject,
                BodyType = "html",
                Body = $"<p>Your message to {System.Net.WebUtility.HtmlEncode(rcpt)} couldn't be delivered.</p>",
                To = [sent.Mailbox],
                Created = Now,
                Sent = Now,
                Received = Now,
                IsDraft = false,
                Folder = "inbox",
                Immutable = true,
                Order = ++_order,
                ConversationId = sent.ConversationId,
            };
            ndr.Properties["String 0x001A"] = "REPORT.IPM.Note.NDR";
            ndr.Mime = SandboxNdrs.Build(Options.BounceShape, from, sent.Mailbox, ndr.Subject, rcpt, sent.InternetMessageId, sent.Subject, sent.Headers,
                "5.1.1", "smtp; 550 5.1.1 RESOLVER.ADR.RecipNotFound; not found");
            _messages[ndr.Id] = ndr;
        }
    }

    internal string NewSession(string mailbox, Stored message, string name, string contentType, long size)
    {
        lock (_gate)
        {
            var token = Guid.NewGuid().ToString("N");
            _sessions[token] = new UploadSession
            {
                MessageId = message.Id,
                Mailbox = mailbox,
                Name = name,
                ContentType = contentType,
                Size = size,
                Expires = Now.AddHours(1),
            };
            return token;
        }
    }

    internal UploadSession? Session(string token)
    {
        lock (_gate)
        {
            return _sessions.GetValueOrDefault(token);
        }
    }

    internal IReadOnlyList<SandboxAttachment> AttachmentsOf(Stored m)
    {
        lock (_gate)
        {
            return [.. m.Attachments];
        }
    }

    internal void CompleteSession(string token, UploadSession session)
    {
        lock (_gate)
        {
            _sessions.Remove(token);
            if (_messages.TryGetValue(session.MessageId, out var m))
            {
                m.Attachments.Add(new SandboxAttachment(session.Name, session.ContentType, session.Data.ToArray()));
            }
        }
    }

    internal IReadOnlyList<Stored> Folder(string mailbox, string folder)
    {
        lock (_gate)
        {
            // Graph's default order: newest first
            return [.. _messages.Values.Where(m => m.Mailbox.Equals(mailbox, StringComparison.OrdinalIgnoreCase)
                && (folder == "*" || m.Folder.Equals(folder, StringComparison.OrdinalIgnoreCase)))
                .OrderByDescending(m => m.ReceivedOrSent).ThenByDescending(m => m.Order)];
        }
    }

    private static string NewId(bool immutable) =>
        (immutable ? "AAkALg" : "AAMkAG") + Convert.ToBase64String(Guid.NewGuid().ToByteArray()).Replace('/', '-').Replace('+', '_').TrimEnd('=');
}

internal static class Json
{
    /// <summary>Property lookup ignoring case: the Graph SDK writes some keys PascalCase ("Message", "AttachmentItem").</summary>
    public static JsonNode? Get(JsonObject o, string name)
    {
        foreach (var (key, value) in o)
        {
            if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }
        return null;
    }
}
