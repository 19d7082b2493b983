using System.Net;
using Microsoft.Extensions.Options;
using Microsoft.Graph;
using Microsoft.Graph.Models;
using Microsoft.Graph.Models.ODataErrors;
using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary.Middleware.Options;

namespace BulkMail.Api.Mail;

/// <summary>A message to send to one recipient; <see cref="DeliveryId"/> tags it for later lookups.</summary>
public sealed record OutgoingMail(string DeliveryId, string To, string? ToName, string Subject, string HtmlBody)
{
    public IReadOnlyList<MailAttachment> Attachments { get; init; } = [];
}

/// <summary>
/// How a message's attachments travel, given Graph's 4 MB cap on any one request (base64 adds a third): inline in the
/// draft when everything fits one request; otherwise each file is added to the draft on its own — a plain POST when
/// it fits, an upload session in ranges under 4 MB when not (3 MB and up, as Graph's guide says).
/// </summary>
public static class MailSizing
{
    public const long MaxRequestBytes = 4L * 1024 * 1024;
    /// <summary>Room for the JSON around the content and the headers.</summary>
    public const long Overhead = 64 * 1024;
    public const long UploadSessionThreshold = 3L * 1024 * 1024;
    /// <summary>A multiple of 320 KiB under 4 MB (the SDK's default 5 MB slice is over Graph's cap).</summary>
    public const int SliceBytes = 10 * 320 * 1024;

    public static long Base64Length(long bytes) => (bytes + 2) / 3 * 4;

    public static bool FitsInline(OutgoingMail mail) =>
        mail.Attachments.Count == 0 || FitsInline(mail.Attachments, System.Text.Encoding.UTF8.GetByteCount(mail.HtmlBody));

    private static bool FitsInline(IReadOnlyList<MailAttachment> attachments, long bodyBytes) =>
        Base64Length(attachments.Sum(a => a.Content.LongLength)) + bodyBytes + Overhead <= MaxRequestBytes;

    public static bool NeedsUploadSession(MailAttachment a) =>
        a.Content.LongLength >= UploadSessionThreshold || Base64Length(a.Content.LongLength) + Overhead > MaxRequestBytes;

    /// <summary>What one message spends of the mailbox's upload budget (150 MB per 5 minutes, counted on request bytes).</summary>
    public static long UploadCost(IReadOnlyList<MailAttachment> attachments, int bodyBytes)
    {
        if (attachments.Count == 0 || FitsInline(attachments, bodyBytes))
        {
            return Base64Length(attachments.Sum(a => a.Content.LongLength)) + bodyBytes;
        }
        return bodyBytes + attachments.Sum(a => NeedsUploadSession(a) ? a.Content.LongLength : Base64Length(a.Content.LongLength));
    }
}

/// <summary>Where a message stands in the sender's mailbox.</summary>
public enum MessageState { Missing, Draft, Sent }

public sealed record FoundMessage(string Id, MessageState State, DateTimeOffset? SentAt)
{
    /// <summary>The RFC 5322 Message-ID Exchange gave the message (kept when it moves to Sent Items).</summary>
    public string? InternetMessageId { get; init; }

    public string? ConversationId { get; init; }
}

/// <summary>A draft as Graph created it: its immutable id, and the Message-ID and conversation Exchange assigned at creation.</summary>
public sealed record CreatedDraft(string Id, string? InternetMessageId, string? ConversationId);

/// <summary>What kind of failure a Graph call ended with.</summary>
public enum GraphFailureKind
{
    Throttled,
    Transient,
    Permanent,
    /// <summary>No valid token for the mailbox (sign-in expired or revoked, consent missing): nothing was sent, and
    /// nothing will be until the user opens BulkMail again or an administrator mends the app registration.</summary>
    SignInRequired,
}

/// <summary>A Graph call failed; <see cref="RetryAfter"/> for 429/503; <see cref="OutcomeUnknown"/> when the request
/// may have reached Graph (timeout, dropped connection, 5xx) so that the effect has to be looked up.</summary>
public sealed class GraphSendException(GraphFailureKind kind, string code, string message, TimeSpan? retryAfter, bool outcomeUnknown, Exception? inner = null)
    : Exception($"{code}: {message}", inner)
{
    public GraphFailureKind Kind { get; } = kind;
    public string Code { get; } = code;
    public string GraphMessage { get; } = message;
    public TimeSpan? RetryAfter { get; } = retryAfter;
    public bool OutcomeUnknown { get; } = outcomeUnknown;
}

/// <summary>A file every message of a mailing carries.</summary>
public sealed record MailAttachment(string Name, string ContentType, byte[] Content);

/// <summary>
/// The seam to the mailbox (the sandbox or Microsoft Graph): the steps of the exactly-once protocol, each one
/// request. The worker decides what to do with their outcomes.
/// </summary>
public interface IMailSender
{
    /// <summary>Creates the message as a draft with an immutable id, the <c>X-BulkMail-Delivery</c> header and the
    /// delivery id as a single-value extended property.</summary>
    Task<CreatedDraft> CreateDraftAsync(string mailbox, OutgoingMail mail, CancellationToken cancellationToken);

    Task SendDraftAsync(string mailbox, string draftId, CancellationToken cancellationToken);

    /// <summary>Looks a message up by its immutable id.</summary>
    Task<FoundMessage> GetMessageAsync(string mailbox, string messageId, CancellationToken cancellationToken);

    /// <summary>Finds the message of a delivery by its extended property, in any folder.</summary>
    Task<FoundMessage?> FindByDeliveryAsync(string mailbox, string deliveryId, CancellationToken cancellationToken);

    /// <summary>Sends a message directly (no draft): for a test send to oneself, where no retry bookkeeping is needed.</summary>
    Task SendDirectAsync(string mailbox, OutgoingMail mail, CancellationToken cancellationToken);

    /// <summary>The names of a message's attachments (to tell a complete draft from one whose uploads were cut short).</summary>
    Task<IReadOnlyList<string>> AttachmentNamesAsync(string mailbox, string messageId, CancellationToken cancellationToken);

    /// <summary>Deletes a draft (one left incomplete by an interrupted attempt).</summary>
    Task DeleteMessageAsync(string mailbox, string messageId, CancellationToken cancellationToken);

    /// <summary>One page of the Inbox's messages received at or after <paramref name="since"/>, oldest first, with their
    /// message class, conversation, Message-ID and internet headers; <paramref name="nextLink"/> continues a listing.</summary>
    Task<InboxPage> InboxAsync(string mailbox, DateTimeOffset since, string? nextLink, int pageSize, CancellationToken cancellationToken);

    /// <summary>A message's MIME source, as bytes (an NDR: the delivery-status part and the original's headers).</summary>
    Task<byte[]> MimeAsync(string mailbox, string messageId, CancellationToken cancellationToken);

    /// <summary>The id of a mail folder under the mailbox's top (levels separated by <c>/</c>), created where missing.</summary>
    Task<string> EnsureFolderAsync(string mailbox, string path, CancellationToken cancellationToken);

    /// <summary>Moves a message into a folder.</summary>
    Task MoveAsync(string mailbox, string messageId, string folderId, CancellationToken cancellationToken);
}

/// <summary>A message in the sender's Inbox, as the reply and bounce reader sees it.</summary>
public sealed record InboxMessage(string Id, DateTimeOffset ReceivedAt, string MessageClass, string? ConversationId, string? InternetMessageId,
    string? From, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;
}

/// <summary>A page of <see cref="IMailSender.InboxAsync"/>; <see cref="NextLink"/> null on the last.</summary>
public sealed record InboxPage(IReadOnlyList<InboxMessage> Messages, string? NextLink);

/// <summary>
/// Sends through the Microsoft Graph SDK, always as <c>/users/{mailbox}</c>. The SDK's retry handler is turned
/// off for every call: a retried send can duplicate mail, and the worker retries only after looking the outcome up.
/// </summary>
public sealed class GraphMailSender(GraphClientAccessor accessor, TimeProvider time) : IMailSender
{
    private GraphServiceClient Graph => accessor.Client;

    /// <summary>Our named MAPI property holding the delivery id (GUID of BulkMail's manifest id).</summary>
    public const string DeliveryPropertyId = "String {6f0c2d2e-5a0b-4c61-9d2f-8b1e2a7c4b10} Name BulkMailDeliveryId";
    public const string DeliveryHeader = "X-BulkMail-Delivery";
    private const string ImmutableId = "IdType=\"ImmutableId\"";

    public async Task<CreatedDraft> CreateDraftAsync(string mailbox, OutgoingMail mail, CancellationToken cancellationToken)
    {
        var inline = MailSizing.FitsInline(mail);
        var created = await CallAsync(() => Graph.Users[mailbox].Messages.PostAsync(ToMessage(mail, inline), Configure, cancellationToken), unknownOutcome: true).ConfigureAwait(false);
        var id = created?.Id ?? throw new GraphSendException(GraphFailureKind.Transient, "NoId", "Graph created a draft without an id.", null, true);
        var draft = new CreatedDraft(id, created.InternetMessageId, created.ConversationId);
        if (inline)
        {
            return draft;
        }
        try
        {
            foreach (var a in mail.Attachments)
            {
                await AddAttachmentAsync(mailbox, id, a, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // An incomplete draft must never be sent: remove it (best effort; a leftover is found and checked by lookups).
            try
            {
                await DeleteMessageAsync(mailbox, id, CancellationToken.None).ConfigureAwait(false);
            }
            catch (GraphSendException)
            {
            }
            throw;
        }
        return draft;
    }

    private async Task AddAttachmentAsync(string mailbox, string messageId, MailAttachment a, CancellationToken cancellationToken)
    {
        if (!MailSizing.NeedsUploadSession(a))
        {
            await CallAsync(() => Graph.Users[mailbox].Messages[messageId].Attachments.PostAsync(ToAttachment(a), Configure, cancellationToken),
                unknownOutcome: false).ConfigureAwait(false);
            return;
        }
        var session = await CallAsync(() => Graph.Users[mailbox].Messages[messageId].Attachments.CreateUploadSession.PostAsync(
            new Microsoft.Graph.Users.Item.Messages.Item.Attachments.CreateUploadSession.CreateUploadSessionPostRequestBody
            {
                AttachmentItem = new AttachmentItem { AttachmentType = AttachmentType.File, Name = a.Name, Size = a.Content.LongLength, ContentType = a.ContentType },
            }, Configure, cancellationToken), unknownOutcome: false).ConfigureAwait(false);
        using var stream = new MemoryStream(a.Content, writable: false);
        // The upload URL is pre-authenticated: ranges go through a client that adds no token.
        var task = new LargeFileUploadTask<FileAttachment>(session!, stream, MailSizing.SliceBytes, accessor.UploadAdapter);
        var result = await CallAsync(() => task.UploadAsync(null, 3, cancellationToken), unknownOutcome: false).ConfigureAwait(false);
        if (!result.UploadSucceeded)
        {
            throw new GraphSendException(GraphFailureKind.Transient, "UploadIncomplete", $"The upload of {a.Name} did not complete.", null, false);
        }
    }

    public async Task<IReadOnlyList<string>> AttachmentNamesAsync(string mailbox, string messageId, CancellationToken cancellationToken)
    {
        var page = await CallAsync(() => Graph.Users[mailbox].Messages[messageId].Attachments.GetAsync(rc =>
        {
            Configure(rc);
            rc.QueryParameters.Select = ["id", "name", "size"];
        }, cancellationToken), unknownOutcome: false).ConfigureAwait(false);
        return [.. (page?.Value ?? []).Select(a => a.Name ?? "")];
    }

    /// <summary>PidTagMessageClass, read as a single-value extended property.</summary>
    public const string MessageClassProperty = "String 0x001A";

    /// <summary>What the Inbox reader asks for: the fields it matches on, the headers (only returned when selected) and
    /// the message class as an extended property.</summary>
    private static readonly string[] InboxFields = ["id", "receivedDateTime", "conversationId", "internetMessageId", "internetMessageHeaders", "from"];

    public async Task<InboxPage> InboxAsync(string mailbox, DateTimeOffset since, string? nextLink, int pageSize, CancellationToken cancellationToken)
    {
        var inbox = Graph.Users[mailbox].MailFolders["inbox"].Messages;
        var page = nextLink is not null
            ? await CallAsync(() => inbox.WithUrl(nextLink).GetAsync(Configure, cancellationToken), unknownOutcome: false).ConfigureAwait(false)
            : await CallAsync(() => inbox.GetAsync(rc =>
            {
                Configure(rc);
                rc.QueryParameters.Filter = $"receivedDateTime ge {since.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)}";
                rc.QueryParameters.Orderby = ["receivedDateTime asc"];
                rc.QueryParameters.Select = InboxFields;
                rc.QueryParameters.Expand = [$"singleValueExtendedProperties($filter=id eq '{MessageClassProperty}')"];
                rc.QueryParameters.Top = pageSize;
            }, cancellationToken), unknownOutcome: false).ConfigureAwait(false);
        var messages = (page?.Value ?? []).Select(m => new InboxMessage(
            m.Id ?? "",
            m.ReceivedDateTime ?? since,
            m.SingleValueExtendedProperties?.FirstOrDefault(p => string.Equals(p.Id, MessageClassProperty, StringComparison.OrdinalIgnoreCase))?.Value ?? "IPM.Note",
            m.ConversationId,
            m.InternetMessageId,
            m.From?.EmailAddress?.Address,
            [.. (m.InternetMessageHeaders ?? []).Select(h => new KeyValuePair<string, string>(h.Name ?? "", h.Value ?? ""))])).ToList();
        return new InboxPage(messages, page?.OdataNextLink);
    }

    public async Task<byte[]> MimeAsync(string mailbox, string messageId, CancellationToken cancellationToken)
    {
        await using var stream = await CallAsync(() => Graph.Users[mailbox].Messages[messageId].Content.GetAsync(Configure, cancellationToken),
            unknownOutcome: false).ConfigureAwait(false);
        if (stream is null)
        {
            return [];
        }
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
        return copy.ToArray();
    }

    public async Task<string> EnsureFolderAsync(string mailbox, string path, CancellationToken cancellationToken)
    {
        string? parent = null;
        foreach (var name in path.Split('/', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            parent = await FindFolderAsync(mailbox, parent, name, cancellationToken).ConfigureAwait(false)
                ?? await CreateFolderAsync(mailbox, parent, name, cancellationToken).ConfigureAwait(false);
        }
        return parent ?? throw new ArgumentException("The folder path is empty.", nameof(path));
    }

    private async Task<string?> FindFolderAsync(string mailbox, string? parent, string name, CancellationToken cancellationToken)
    {
        var filter = $"displayName eq '{name.Replace("'", "''", StringComparison.Ordinal)}'";
        var page = parent is null
            ? await CallAsync(() => Graph.Users[mailbox].MailFolders.GetAsync(rc => { Configure(rc); rc.QueryParameters.Filter = filter; }, cancellationToken),
                unknownOutcome: false).ConfigureAwait(false)
            : await CallAsync(() => Graph.Users[mailbox].MailFolders[parent].ChildFolders.GetAsync(rc => { Configure(rc); rc.QueryParameters.Filter = filter; }, cancellationToken),
                unknownOutcome: false).ConfigureAwait(false);
        return page?.Value?.FirstOrDefault()?.Id;
    }

    private async Task<string> CreateFolderAsync(string mailbox, string? parent, string name, CancellationToken cancellationToken)
    {
        var folder = new MailFolder { DisplayName = name };
        try
        {
            var created = parent is null
                ? await CallAsync(() => Graph.Users[mailbox].MailFolders.PostAsync(folder, Configure, cancellationToken), unknownOutcome: false).ConfigureAwait(false)
                : await CallAsync(() => Graph.Users[mailbox].MailFolders[parent].ChildFolders.PostAsync(folder, Configure, cancellationToken), unknownOutcome: false).ConfigureAwait(false);
            return created?.Id ?? throw new GraphSendException(GraphFailureKind.Transient, "NoId", "Graph created a folder without an id.", null, false);
        }
        catch (GraphSendException e) when (e.Code == "ErrorFolderExists")
        {
            // created meanwhile (another instance)
            if (await FindFolderAsync(mailbox, parent, name, cancellationToken).ConfigureAwait(false) is { } existing)
            {
                return existing;
            }
            throw;
        }
    }

    public Task MoveAsync(string mailbox, string messageId, string folderId, CancellationToken cancellationToken) =>
        CallAsync(() => Graph.Users[mailbox].Messages[messageId].Move.PostAsync(
            new Microsoft.Graph.Users.Item.Messages.Item.Move.MovePostRequestBody { DestinationId = folderId }, Configure, cancellationToken), unknownOutcome: false);

    public Task DeleteMessageAsync(string mailbox, string messageId, CancellationToken cancellationToken) =>
        CallAsync(async () =>
        {
            await Graph.Users[mailbox].Messages[messageId].DeleteAsync(Configure, cancellationToken).ConfigureAwait(false);
            return true;
        }, unknownOutcome: false);

    public Task SendDraftAsync(string mailbox, string draftId, CancellationToken cancellationToken) =>
        CallAsync(async () =>
        {
            await Graph.Users[mailbox].Messages[draftId].Send.PostAsync(Configure, cancellationToken).ConfigureAwait(false);
            return true;
        }, unknownOutcome: true);

    public async Task<FoundMessage> GetMessageAsync(string mailbox, string messageId, CancellationToken cancellationToken)
    {
        try
        {
            var m = await CallAsync(() => Graph.Users[mailbox].Messages[messageId].GetAsync(rc =>
            {
                Configure(rc);
                rc.QueryParameters.Select = ["id", "isDraft", "sentDateTime", "parentFolderId", "internetMessageId", "conversationId"];
            }, cancellationToken), unknownOutcome: false).ConfigureAwait(false);
            return Found(m!);
        }
        catch (GraphSendException e) when (e.Code is "ErrorItemNotFound" or "ResourceNotFound" or "404")
        {
            return new FoundMessage(messageId, MessageState.Missing, null);
        }
    }

    public async Task<FoundMessage?> FindByDeliveryAsync(string mailbox, string deliveryId, CancellationToken cancellationToken)
    {
        // /messages covers every folder (Drafts, Outbox, Sent Items), so one query finds the message wherever it is.
        var filter = $"singleValueExtendedProperties/Any(ep: ep/id eq '{DeliveryPropertyId}' and ep/value eq '{deliveryId.Replace("'", "''", StringComparison.Ordinal)}')";
        var page = await CallAsync(() => Graph.Users[mailbox].Messages.GetAsync(rc =>
        {
            Configure(rc);
            rc.QueryParameters.Filter = filter;
            rc.QueryParameters.Select = ["id", "isDraft", "sentDateTime", "internetMessageId", "conversationId"];
            rc.QueryParameters.Top = 5;
        }, cancellationToken), unknownOutcome: false).ConfigureAwait(false);
        // A sent copy wins over a leftover draft.
        return page?.Value is { Count: > 0 } found ? found.Select(Found).OrderByDescending(f => f.State).First() : null;
    }

    public async Task SendDirectAsync(string mailbox, OutgoingMail mail, CancellationToken cancellationToken)
    {
        if (!MailSizing.FitsInline(mail))
        {
            // Too big for one sendMail request: the draft path carries the attachments.
            var draft = await CreateDraftAsync(mailbox, mail, cancellationToken).ConfigureAwait(false);
            await SendDraftAsync(mailbox, draft.Id, cancellationToken).ConfigureAwait(false);
            return;
        }
        await CallAsync(async () =>
        {
            await Graph.Users[mailbox].SendMail.PostAsync(new Microsoft.Graph.Users.Item.SendMail.SendMailPostRequestBody
            {
                Message = ToMessage(mail, inlineAttachments: true),
                SaveToSentItems = true,
            }, Configure, cancellationToken).ConfigureAwait(false);
            return true;
        }, unknownOutcome: true).ConfigureAwait(false);
    }

    private static Message ToMessage(OutgoingMail mail, bool inlineAttachments) => new()
    {
        Subject = mail.Subject,
        Body = new ItemBody { ContentType = BodyType.Html, Content = mail.HtmlBody },
        ToRecipients = [new Recipient { EmailAddress = new EmailAddress { Address = mail.To, Name = mail.ToName } }],
        InternetMessageHeaders = [new InternetMessageHeader { Name = DeliveryHeader, Value = mail.DeliveryId }],
        SingleValueExtendedProperties = [new SingleValueLegacyExtendedProperty { Id = DeliveryPropertyId, Value = mail.DeliveryId }],
        Attachments = inlineAttachments && mail.Attachments.Count > 0 ? [.. mail.Attachments.Select(ToAttachment)] : null,
    };

    private static FileAttachment ToAttachment(MailAttachment a) => new()
    {
        OdataType = "#microsoft.graph.fileAttachment",
        Name = a.Name,
        ContentType = a.ContentType,
        ContentBytes = a.Content,
    };

    private static FoundMessage Found(Message m) =>
        new(m.Id ?? "", m.IsDraft == false ? MessageState.Sent : MessageState.Draft, m.SentDateTime)
        {
            InternetMessageId = m.InternetMessageId,
            ConversationId = m.ConversationId,
        };

    private static void Configure<T>(RequestConfiguration<T> rc) where T : class, new()
    {
        rc.Headers.Add("Prefer", ImmutableId);
        rc.Options.Add(new RetryHandlerOption { MaxRetry = 0, ShouldRetry = (_, _, _) => false });
    }

    private async Task<T> CallAsync<T>(Func<Task<T>> call, bool unknownOutcome)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (ODataError e)
        {
            var status = e.ResponseStatusCode;
            var code = e.Error?.Code ?? status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var message = e.Error?.Message ?? e.Message;
            var retryAfter = RetryAfter(e);
            if (status == (int)HttpStatusCode.Unauthorized)
            {
                // Graph refused the token before acting on anything.
                throw new GraphSendException(GraphFailureKind.SignInRequired, code, message, null, false, e);
            }
            if (status == (int)HttpStatusCode.TooManyRequests)
            {
                throw new GraphSendException(GraphFailureKind.Throttled, code, message, retryAfter ?? TimeSpan.FromSeconds(5), false, e);
            }
            if (status >= 500 || status == (int)HttpStatusCode.RequestTimeout)
            {
                // The request reached Graph; whether it acted is not known.
                throw new GraphSendException(GraphFailureKind.Transient, code, message, retryAfter, unknownOutcome, e);
            }
            throw new GraphSendException(GraphFailureKind.Permanent, code, message, null, false, e);
        }
        catch (ApiException e)
        {
            throw new GraphSendException(e.ResponseStatusCode >= 500 ? GraphFailureKind.Transient : GraphFailureKind.Permanent,
                e.ResponseStatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, null, unknownOutcome, e);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            throw new GraphSendException(GraphFailureKind.Transient, "ConnectionLost", e.Message, null, unknownOutcome, e);
        }
    }

    private TimeSpan? RetryAfter(ApiException e)
    {
        if (e.ResponseHeaders is null || !e.ResponseHeaders.TryGetValue("Retry-After", out var values))
        {
            var key = e.ResponseHeaders?.Keys.FirstOrDefault(k => k.Equals("Retry-After", StringComparison.OrdinalIgnoreCase));
            if (key is null)
            {
                return null;
            }
            values = e.ResponseHeaders![key];
        }
        var text = values.FirstOrDefault();
        if (int.TryParse(text, out var seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }
        return DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
            ? at - time.GetUtcNow()
            : null;
    }
}

/// <summary>The process's one GraphServiceClient, built on first use: in the demo its address is this server's own,
/// known only once the server listens.</summary>
public sealed class GraphClientAccessor(Func<GraphServiceClient> create)
{
    private readonly Lazy<GraphServiceClient> _client = new(create);
    private readonly Lazy<IRequestAdapter> _upload = new(() => new Microsoft.Kiota.Http.HttpClientLibrary.HttpClientRequestAdapter(
        new AnonymousAuthenticationProvider(), httpClient: GraphClientFactory.Create()));

    public GraphServiceClient Client => _client.Value;

    /// <summary>For upload-session ranges: the URL carries its own authorization, so no token is added.</summary>
    public IRequestAdapter UploadAdapter => _upload.Value;
}

/// <summary>Builds the process's one GraphServiceClient: the SDK's middleware kept, pointed at <c>Graph:BaseUrl</c>.</summary>
public static class GraphClientSetup
{
    public static GraphServiceClient Create(GraphOptions options, IAuthenticationProvider auth)
    {
        var http = GraphClientFactory.Create(GraphClientFactory.CreateDefaultHandlers(), finalHandler: new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        });
        http.Timeout = options.RequestTimeout;
        return new GraphServiceClient(http, auth, options.BaseUrl.AbsoluteUri.TrimEnd('/'));
    }
}
