using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace BulkMail.Sandbox.Graph;

public static partial class GraphSandboxEndpoints
{
    public static IServiceCollection AddGraphSandbox(this IServiceCollection services, Action<GraphSandboxOptions>? configure = null)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp =>
        {
            var options = new GraphSandboxOptions();
            configure?.Invoke(options);
            return new GraphSandbox(options, sp.GetRequiredService<TimeProvider>());
        });
        return services;
    }

    /// <summary>Graph root at <c>{prefix}/v1.0</c> (<c>/me/…</c> and <c>/users/{id}/…</c>), upload URLs at
    /// <c>{prefix}/upload/{token}</c>, faults at <c>{prefix}/_faults</c>, and the demo page <c>/sandbox/mailbox</c>.</summary>
    public static IEndpointRouteBuilder MapGraphSandbox(this IEndpointRouteBuilder app, string prefix = "/sandbox/graph")
    {
        var sandbox = app.ServiceProvider.GetRequiredService<GraphSandbox>();
        prefix = prefix.TrimEnd('/');
        var group = app.MapGroup(prefix).ExcludeFromDescription();
        group.AddEndpointFilter(async (context, next) =>
        {
            try
            {
                return await next(context);
            }
            catch (Exception e) when (!context.HttpContext.RequestAborted.IsCancellationRequested)
            {
                sandbox.RecordError($"{context.HttpContext.Request.Method} {context.HttpContext.Request.Path}", e);
                throw;
            }
        });
        group.Map("/v1.0/me/{**rest}", (HttpContext ctx, string rest) => HandleAsync(sandbox, ctx, MeOf(sandbox, ctx), rest, prefix));
        group.Map("/v1.0/users/{user}/{**rest}", (HttpContext ctx, string user, string rest) => HandleAsync(sandbox, ctx, user, rest, prefix));
        group.MapPut("/upload/{token}", (HttpContext ctx, string token) => UploadAsync(sandbox, ctx, token));
        group.MapGet("/_faults", () => Results.Json(Faults(sandbox.Faults)));
        group.MapPost("/_faults", async (HttpContext ctx) =>
        {
            var set = await JsonSerializer.DeserializeAsync<FaultSettings>(ctx.Request.Body, JsonSerializerOptions.Web, ctx.RequestAborted);
            var f = sandbox.Faults;
            if (set is not null)
            {
                if (set.Reset == true) { f.Reset(); }
                if (set.Seed is { } seed) { f.Seed = seed; }
                if (set.ThrottleRate is { } t) { f.ThrottleRate = t; }
                if (set.ServiceUnavailableRate is { } s) { f.ServiceUnavailableRate = s; }
                if (set.LostAnswerRate is { } l) { f.LostAnswerRate = l; }
                if (set.LatencyMs is { } ms) { f.Latency = TimeSpan.FromMilliseconds(ms); }
                if (set.MinRetryAfterSeconds is { } min) { f.MinRetryAfterSeconds = min; }
                if (set.MaxRetryAfterSeconds is { } max) { f.MaxRetryAfterSeconds = max; }
            }
            return Results.Json(Faults(f));
        });
        // Tests and the demo put mail into the sender's Inbox: a reply, an automatic reply or an NDR to a sent message,
        // named by its id or by the delivery id it carries (X-BulkMail-Delivery).
        group.MapPost("/_inbox", async (HttpContext ctx) =>
        {
            var set = await JsonSerializer.DeserializeAsync<InboxInjection>(ctx.Request.Body, JsonSerializerOptions.Web, ctx.RequestAborted);
            var sent = set is null ? null : sandbox.Sent().FirstOrDefault(m => m.Id == set.SentId
                || (set.DeliveryId is not null && m.Headers.TryGetValue("X-BulkMail-Delivery", out var d) && d == set.DeliveryId));
            if (set is null || sent is null)
            {
                return Results.NotFound(new { error = "No sent message has that id or delivery id." });
            }
            SandboxMessage made;
            switch (set.Kind?.ToLowerInvariant())
            {
                case "reply":
                    made = sandbox.Reply(sent, set.Body ?? "ご連絡ありがとうございます。", withThreadHeaders: set.ThreadHeaders ?? true);
                    break;
                case "autoreply":
                    made = sandbox.AutoReply(sent);
                    break;
                case "ndr":
                    var shape = Enum.TryParse<NdrShape>(set.Shape, ignoreCase: true, out var s) ? s : NdrShape.WithDeliveryHeader;
                    made = set.Status is { } status
                        ? sandbox.Ndr(sent, shape, status, $"smtp; 550 {status} {set.Diagnostic ?? "rejected"}")
                        : sandbox.Ndr(sent, shape);
                    break;
                default:
                    return Results.BadRequest(new { error = "kind is reply, autoReply or ndr." });
            }
            return Results.Json(new { made.Id, made.ConversationId, made.Folder });
        });
        app.MapGet("/sandbox/mailbox", (string? id) => Results.Content(id is null ? MailboxPage(sandbox) : MessagePage(sandbox, id), "text/html; charset=utf-8"))
            .ExcludeFromDescription();
        return app;
    }

    private sealed record InboxInjection(string? Kind, string? SentId, string? DeliveryId, string? Body, bool? ThreadHeaders, string? Shape,
        string? Status, string? Diagnostic);

    private sealed record FaultSettings(bool? Reset, int? Seed, double? ThrottleRate, double? ServiceUnavailableRate, double? LostAnswerRate,
        int? LatencyMs, int? MinRetryAfterSeconds, int? MaxRetryAfterSeconds);

    private static object Faults(GraphSandboxFaults f) => new
    {
        f.Seed, f.ThrottleRate, f.ServiceUnavailableRate, f.LostAnswerRate, LatencyMs = (int)f.Latency.TotalMilliseconds, f.MinRetryAfterSeconds, f.MaxRetryAfterSeconds,
    };

    private static string MeOf(GraphSandbox sandbox, HttpContext ctx)
    {
        var auth = ctx.Request.Headers.Authorization.ToString();
        if (sandbox.Options.ValidateAccessToken is { } validate && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return validate(auth["Bearer ".Length..].Trim())?.User ?? sandbox.Options.DefaultMailbox;
        }
        return auth.StartsWith("Bearer sandbox:", StringComparison.Ordinal) ? auth["Bearer sandbox:".Length..] : sandbox.Options.DefaultMailbox;
    }

    private static async Task HandleAsync(GraphSandbox sandbox, HttpContext ctx, string mailbox, string rest, string prefix)
    {
        mailbox = WebUtility.UrlDecode(mailbox);
        var method = ctx.Request.Method;
        var latency = sandbox.Faults.Latency;
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, ctx.RequestAborted);
        }
        if (sandbox.Options.ValidateAccessToken is { } validate)
        {
            var header = ctx.Request.Headers.Authorization.ToString();
            var caller = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? validate(header["Bearer ".Length..].Trim()) : null;
            if (caller is null)
            {
                await ErrorAsync(sandbox, ctx, mailbox, rest, 401, "InvalidAuthenticationToken",
                    header.Length == 0 ? "Access token is empty." : "Lifetime validation failed, the token is expired.");
                return;
            }
            if (!caller.AppOnly && !string.Equals(caller.User, mailbox, StringComparison.OrdinalIgnoreCase))
            {
                await ErrorAsync(sandbox, ctx, mailbox, rest, 403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.");
                return;
            }
        }
        if (ctx.Request.ContentLength > sandbox.Options.MaxRequestBytes)
        {
            await ErrorAsync(sandbox, ctx, mailbox, rest, 413, "RequestEntityTooLarge", "The maximum request length supported is 4MB.");
            return;
        }
        if (sandbox.Enter(mailbox) is { } refused)
        {
            if (refused.RetryAfter is { } ra)
            {
                ctx.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(ra.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }
            await ErrorAsync(sandbox, ctx, mailbox, rest, refused.Status, refused.Code, refused.Message, refused.RetryAfter);
            return;
        }
        try
        {
            var immutable = ctx.Request.Headers["Prefer"].Any(p => p is not null && p.Contains("IdType=\"ImmutableId\"", StringComparison.OrdinalIgnoreCase));
            if (immutable)
            {
                ctx.Response.Headers["Preference-Applied"] = "IdType=\"ImmutableId\"";
            }
            var segments = rest.Split('/', StringSplitOptions.RemoveEmptyEntries);
            switch (method, segments)
            {
                case ("POST", ["sendMail"]):
                    await SendMailAsync(sandbox, ctx, mailbox, rest);
                    return;
                case ("POST", ["messages"]):
                {
                    var body = await ReadJsonAsync(ctx);
                    // Outlook's upload budget counts the bytes of every POST/PATCH/PUT, inline attachments included.
                    if (!sandbox.SpendUpload(mailbox, Encoding.UTF8.GetByteCount(body.ToJsonString())))
                    {
                        await ErrorAsync(sandbox, ctx, mailbox, rest, 429, "ApplicationThrottled", "The mailbox's upload budget (150 MB per 5 minutes) is used up.", TimeSpan.FromSeconds(60));
                        return;
                    }
                    var m = sandbox.CreateMessage(mailbox, body, draft: true, immutable);
                    if (m.Headers.Keys.Any(h => !h.StartsWith("x-", StringComparison.OrdinalIgnoreCase)))
                    {
                        sandbox.Delete(mailbox, m.Id);
                        await ErrorAsync(sandbox, ctx, mailbox, rest, 400, "InvalidInternetMessageHeader", "The internet message header name should start with 'x-' or 'X-'.");
                        return;
                    }
                    await JsonAsync(sandbox, ctx, mailbox, rest, 201, MessageJson(m, select: null, expand: null));
                    return;
                }
                case ("GET", ["messages"]):
                    await ListAsync(sandbox, ctx, mailbox, rest, "*");
                    return;
                case ("GET", ["mailFolders"]):
                    await FoldersAsync(sandbox, ctx, mailbox, rest, null);
                    return;
                case ("GET", ["mailFolders", var parent, "childFolders"]):
                    await FoldersAsync(sandbox, ctx, mailbox, rest, parent);
                    return;
                case ("POST", ["mailFolders"]):
                    await CreateFolderAsync(sandbox, ctx, mailbox, rest, null);
                    return;
                case ("POST", ["mailFolders", var parent, "childFolders"]):
                    await CreateFolderAsync(sandbox, ctx, mailbox, rest, parent);
                    return;
                case ("POST", ["messages", var id, "move"]):
                {
                    var body = await ReadJsonAsync(ctx);
                    var destination = Json.Get(body, "destinationId")?.GetValue<string>() ?? "";
                    if (sandbox.Find(mailbox, id) is not { } m)
                    {
                        await ErrorAsync(sandbox, ctx, mailbox, rest, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
                        return;
                    }
                    if (!sandbox.FolderExists(mailbox, destination))
                    {
                        await ErrorAsync(sandbox, ctx, mailbox, rest, 404, "ErrorItemNotFound", "The specified folder could not be found in the store.");
                        return;
                    }
                    var moved = sandbox.Move(m, destination);
                    await JsonAsync(sandbox, ctx, mailbox, rest, 201, MessageJson(moved, select: null, expand: null));
                    return;
                }
                case ("GET", ["mailFolders", var folder, "messages"]):
                    await ListAsync(sandbox, ctx, mailbox, rest, folder.ToLowerInvariant());
                    return;
                case ("GET", ["messages", var id]):
                {
                    if (sandbox.Find(mailbox, id) is not { } m)
                    {
                        await ErrorAsync(sandbox, ctx, mailbox, rest, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
                        return;
                    }
                    await JsonAsync(sandbox, ctx, mailbox, rest, 200, MessageJson(m, ctx.Request.Query["$select"], ctx.Request.Query["$expand"]));
                    return;
                }
                case ("GET", ["messages", var id, "$value"]):
                {
                    if (sandbox.Find(mailbox, id) is not { } m)
                    {
                        await ErrorAsync(sandbox, ctx, mailbox, rest, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
                        return;
                    }
                    sandbox.Record(mailbox, method, rest, 200, null);
                    ctx.Response.ContentType = "message/rfc822";
                    await ctx.Response.WriteAsync(m.Mime ?? $"Message-ID: {m.InternetMessageId}\r\nSubject: {m.Subject}\r\n\r\n{m.Body}", ctx.RequestAborted);
                    return;
                }
                case ("DELETE", ["messages", var id]):
                    if (sandbox.Delete(mailbox, id))
                    {
                        sandbox.Record(mailbox, method, rest, 204, null);
                        ctx.Response.StatusCode = 204;
                    }
                    else
                    {
                        await ErrorAsync(sandbox, ctx, mailbox, rest, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
                    }
                    return;
                case ("POST", ["messages", var id, "attachments"]):
                {
                    if (sandbox.Find(mailbox, id) is not { IsDraft: true } m)
                    {
                        await ErrorAsync(sandbox, ctx, mailbox, rest, 404, "ErrorItemNotFound", "The draft was not found.");
                        return;
                    }
                    var attachmentJson = await ReadJsonAsync(ctx);
                    var a = GraphSandbox.FileAttachment(attachmentJson);
                    if (!sandbox.SpendUpload(mailbox, Encoding.UTF8.GetByteCount(attachmentJson.ToJsonString())))
                    {
                        await ErrorAsync(sandbox, ctx, mailbox, rest, 429, "ApplicationThrottled", "Upload budget exceeded.", TimeSpan.FromSeconds(60));
                        return;
                    }
                    m.Attachments.Add(a);
                    await JsonAsync(sandbox, ctx, mailbox, rest, 201, new JsonObject
                    {
                        ["@odata.type"] = "#microsoft.graph.fileAttachment",
                        ["id"] = Guid.NewGuid().ToString("N"),
                        ["name"] = a.Name,
                        ["contentType"] = a.ContentType,
                        ["size"] = a.Content.Length,
                    });
                    return;
                }
                case ("GET", ["messages", var id, "attachments"]):
                {
                    if (sandbox.Find(mailbox, id) is not { } m)
                    {
                        await ErrorAsync(sandbox, ctx, mailbox, rest, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
                        return;
                    }
                    await JsonAsync(sandbox, ctx, mailbox, rest, 200, new JsonObject
                    {
                        ["value"] = new JsonArray([.. sandbox.AttachmentsOf(m).Select((a, i) => (JsonNode)new JsonObject
                        {
                            ["@odata.type"] = "#microsoft.graph.fileAttachment",
                            ["id"] = $"{m.Id}-a{i}",
                            ["name"] = a.Name,
                            ["contentType"] = a.ContentType,
                            // Graph's size counts the MIME part, a little more than the file itself.
                            ["size"] = a.Content.Length + 512,
                        })]),
                    });
                    return;
                }
                case ("GET", ["messages", var id, "attachments", var attachmentId, "$value"]):
                {
                    // Graph's "get raw contents of a file attachment": the file's bytes, nothing else.
                    var files = sandbox.Find(mailbox, id) is { } m ? sandbox.AttachmentsOf(m) : [];
                    var index = files.Select((a, i) => (a, i)).Where(x => $"{id}-a{x.i}" == attachmentId).Select(x => (int?)x.i).FirstOrDefault();
                    if (index is not { } i)
                    {
                        await ErrorAsync(sandbox, ctx, mailbox, rest, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
                        return;
                    }
                    sandbox.Record(mailbox, method, rest, 200, null);
                    ctx.Response.ContentType = files[i].ContentType;
                    await ctx.Response.Body.WriteAsync(files[i].Content, ctx.RequestAborted);
                    return;
                }
                case ("POST", ["messages", var id, "attachments", "createUploadSession"]):
                {
                    if (sandbox.Find(mailbox, id) is not { IsDraft: true } m)
                    {
                        await ErrorAsync(sandbox, ctx, mailbox, rest, 404, "ErrorItemNotFound", "The draft was not found.");
                        return;
                    }
                    var body = await ReadJsonAsync(ctx);
                    var item = Json.Get(body, "AttachmentItem") as JsonObject ?? body;
                    var size = Json.Get(item, "size")?.GetValue<long>() ?? 0;
                    var token = sandbox.NewSession(mailbox, m, Json.Get(item, "name")?.GetValue<string>() ?? "attachment",
                        Json.Get(item, "contentType")?.GetValue<string>() ?? "application/octet-stream", size);
                    var origin = $"{ctx.Request.Scheme}://{ctx.Request.Host}";
                    await JsonAsync(sandbox, ctx, mailbox, rest, 201, new JsonObject
                    {
                        ["uploadUrl"] = $"{origin}{prefix}/upload/{token}",
                        ["expirationDateTime"] = sandbox.Now.AddHours(1).ToString("o", CultureInfo.InvariantCulture),
                        ["nextExpectedRanges"] = new JsonArray("0-"),
                    });
                    return;
                }
                case ("POST", ["messages", var id, "send"]):
                {
                    var held = sandbox.Faults.TakeSendDelay();
                    if (held > TimeSpan.Zero)
                    {
                        await Task.Delay(held, ctx.RequestAborted);
                    }
                    if (sandbox.Find(mailbox, id) is not { } m)
                    {
                        await ErrorAsync(sandbox, ctx, mailbox, rest, 404, "ErrorItemNotFound", "The specified object was not found in the store.");
                        return;
                    }
                    if (sandbox.Send(m) is { } failed)
                    {
                        await ErrorAsync(sandbox, ctx, mailbox, rest, 400, failed.Code, failed.Message);
                        return;
                    }
                    if (sandbox.Faults.Roll(sandbox.Faults.LostAnswerRate))
                    {
                        sandbox.Record(mailbox, method, rest, -1, null);
                        ctx.Abort(); // sent, but the answer never reaches the client
                        return;
                    }
                    sandbox.Record(mailbox, method, rest, 202, null);
                    ctx.Response.StatusCode = 202;
                    return;
                }
                default:
                    await ErrorAsync(sandbox, ctx, mailbox, rest, 400, "BadRequest", $"Unsupported request {method} {rest} in the sandbox.");
                    return;
            }
        }
        finally
        {
            sandbox.Leave(mailbox);
        }
    }

    private static async Task SendMailAsync(GraphSandbox sandbox, HttpContext ctx, string mailbox, string rest)
    {
        var body = await ReadJsonAsync(ctx);
        if (Json.Get(body, "message") is not JsonObject message)
        {
            await ErrorAsync(sandbox, ctx, mailbox, rest, 400, "ErrorInvalidRequest", "The message is missing.");
            return;
        }
        if (!sandbox.SpendUpload(mailbox, Encoding.UTF8.GetByteCount(body.ToJsonString())))
        {
            await ErrorAsync(sandbox, ctx, mailbox, rest, 429, "ApplicationThrottled", "The mailbox's upload budget (150 MB per 5 minutes) is used up.", TimeSpan.FromSeconds(60));
            return;
        }
        var m = sandbox.CreateMessage(mailbox, message, draft: true, immutable: true);
        if (sandbox.Validate(m) is { } invalid)
        {
            sandbox.Delete(mailbox, m.Id);
            await ErrorAsync(sandbox, ctx, mailbox, rest, 400, invalid.Code, invalid.Message);
            return;
        }
        sandbox.Send(m);
        if (Json.Get(body, "saveToSentItems") is { } save && save.GetValue<bool>() == false)
        {
            m.Folder = "sent-not-saved";
        }
        if (sandbox.Faults.Roll(sandbox.Faults.LostAnswerRate))
        {
            sandbox.Record(mailbox, "POST", rest, -1, null);
            ctx.Abort();
            return;
        }
        sandbox.Record(mailbox, "POST", rest, 202, null);
        ctx.Response.StatusCode = 202;
    }

    private static async Task FoldersAsync(GraphSandbox sandbox, HttpContext ctx, string mailbox, string rest, string? parent)
    {
        if (parent is not null && !sandbox.FolderExists(mailbox, parent))
        {
            await ErrorAsync(sandbox, ctx, mailbox, rest, 404, "ErrorItemNotFound", "The specified folder could not be found in the store.");
            return;
        }
        IEnumerable<GraphSandbox.MailFolderEntry> folders = sandbox.Folders(mailbox, parent);
        if (ctx.Request.Query["$filter"].ToString() is { Length: > 0 } filter)
        {
            if (DisplayNameFilter().Match(filter.Trim()) is not { Success: true } f)
            {
                await ErrorAsync(sandbox, ctx, mailbox, rest, 400, "ErrorInvalidUrlQueryFilter", $"The $filter is not supported: {filter}");
                return;
            }
            var name = f.Groups["value"].Value.Replace("''", "'", StringComparison.Ordinal);
            folders = folders.Where(x => x.DisplayName.Equals(name, StringComparison.OrdinalIgnoreCase));
        }
        await JsonAsync(sandbox, ctx, mailbox, rest, 200, new JsonObject
        {
            ["value"] = new JsonArray([.. folders.Select(x => (JsonNode)FolderJson(x))]),
        });
    }

    private static async Task CreateFolderAsync(GraphSandbox sandbox, HttpContext ctx, string mailbox, string rest, string? parent)
    {
        var body = await ReadJsonAsync(ctx);
        var name = Json.Get(body, "displayName")?.GetValue<string>();
        if (string.IsNullOrWhiteSpace(name))
        {
            await ErrorAsync(sandbox, ctx, mailbox, rest, 400, "ErrorInvalidRequest", "The displayName is required.");
            return;
        }
        if (parent is not null && !sandbox.FolderExists(mailbox, parent))
        {
            await ErrorAsync(sandbox, ctx, mailbox, rest, 404, "ErrorItemNotFound", "The specified folder could not be found in the store.");
            return;
        }
        if (sandbox.CreateFolder(mailbox, parent, name) is not { } created)
        {
            await ErrorAsync(sandbox, ctx, mailbox, rest, 409, "ErrorFolderExists", "A folder with the specified name already exists.");
            return;
        }
        await JsonAsync(sandbox, ctx, mailbox, rest, 201, FolderJson(created));
    }

    private static JsonObject FolderJson(GraphSandbox.MailFolderEntry f) => new()
    {
        ["id"] = f.Id,
        ["displayName"] = f.DisplayName,
        ["parentFolderId"] = f.ParentId,
        ["childFolderCount"] = 0,
    };

    [GeneratedRegex(@"^displayName eq '(?<value>(?:[^']|'')*)'$", RegexOptions.IgnoreCase)]
    private static partial Regex DisplayNameFilter();

    [GeneratedRegex(@"^receivedDateTime(\s+(?<dir>asc|desc))?$", RegexOptions.IgnoreCase)]
    private static partial Regex ReceivedOrder();

    private static async Task ListAsync(GraphSandbox sandbox, HttpContext ctx, string mailbox, string rest, string folder)
    {
        IEnumerable<GraphSandbox.Stored> messages = sandbox.Folder(mailbox, folder);
        if (ctx.Request.Query["$filter"].ToString() is { Length: > 0 } filter)
        {
            if (Filter(filter) is not { } predicate)
            {
                await ErrorAsync(sandbox, ctx, mailbox, rest, 400, "ErrorInvalidUrlQueryFilter", $"The $filter is not supported: {filter}");
                return;
            }
            messages = messages.Where(predicate);
        }
        if (ctx.Request.Query["$orderby"].ToString() is { Length: > 0 } orderBy)
        {
            if (ReceivedOrder().Match(orderBy.Trim()) is not { Success: true } o)
            {
                await ErrorAsync(sandbox, ctx, mailbox, rest, 400, "ErrorInvalidUrlQuery", $"The $orderby is not supported: {orderBy}");
                return;
            }
            messages = o.Groups["dir"].Value.Equals("desc", StringComparison.OrdinalIgnoreCase)
                ? messages.OrderByDescending(m => m.ReceivedOrSent).ThenByDescending(m => m.Order)
                : messages.OrderBy(m => m.ReceivedOrSent).ThenBy(m => m.Order);
        }
        var top = int.TryParse(ctx.Request.Query["$top"], CultureInfo.InvariantCulture, out var t) ? Math.Clamp(t, 1, 1000) : 10;
        var skip = int.TryParse(ctx.Request.Query["$skip"], CultureInfo.InvariantCulture, out var s) ? s : 0;
        var list = messages.ToList();
        var page = list.Skip(skip).Take(top).ToList();
        var result = new JsonObject
        {
            ["value"] = new JsonArray([.. page.Select(m => (JsonNode)MessageJson(m, ctx.Request.Query["$select"], ctx.Request.Query["$expand"]))]),
        };
        if (skip + top < list.Count)
        {
            var q = System.Web.HttpUtility.ParseQueryString(ctx.Request.QueryString.Value ?? "");
            q["$skip"] = (skip + top).ToString(CultureInfo.InvariantCulture);
            result["@odata.nextLink"] = $"{ctx.Request.Scheme}://{ctx.Request.Host}{ctx.Request.Path}?{q}";
        }
        await JsonAsync(sandbox, ctx, mailbox, rest, 200, result);
    }

    [GeneratedRegex(@"^singleValueExtendedProperties/Any\(\s*(\w+)\s*:\s*\1/id eq '(?<id>(?:[^']|'')*)' and \1/value eq '(?<value>(?:[^']|'')*)'\s*\)$", RegexOptions.IgnoreCase)]
    private static partial Regex PropertyFilter();

    [GeneratedRegex(@"^internetMessageId eq '(?<value>(?:[^']|'')*)'$", RegexOptions.IgnoreCase)]
    private static partial Regex MessageIdFilter();

    [GeneratedRegex(@"^receivedDateTime ge (?<value>\S+)$", RegexOptions.IgnoreCase)]
    private static partial Regex ReceivedFilter();

    private static Func<GraphSandbox.Stored, bool>? Filter(string filter)
    {
        if (PropertyFilter().Match(filter.Trim()) is { Success: true } p)
        {
            var id = p.Groups["id"].Value.Replace("''", "'", StringComparison.Ordinal);
            var value = p.Groups["value"].Value.Replace("''", "'", StringComparison.Ordinal);
            return m => m.Properties.TryGetValue(id, out var v) && v == value;
        }
        if (MessageIdFilter().Match(filter.Trim()) is { Success: true } mid)
        {
            var value = mid.Groups["value"].Value.Replace("''", "'", StringComparison.Ordinal);
            return m => m.InternetMessageId == value;
        }
        if (ReceivedFilter().Match(filter.Trim()) is { Success: true } r
            && DateTimeOffset.TryParse(r.Groups["value"].Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var since))
        {
            return m => m.ReceivedOrSent >= since;
        }
        return null;
    }

    private static JsonObject MessageJson(GraphSandbox.Stored m, string? select, string? expand)
    {
        var selected = string.IsNullOrEmpty(select) ? null : select.Split(',').Select(s => s.Trim()).ToHashSet(StringComparer.OrdinalIgnoreCase);
        bool Want(string name) => selected is null || selected.Contains(name);
        var json = new JsonObject { ["id"] = m.Id };
        if (Want("createdDateTime")) { json["createdDateTime"] = m.Created.ToString("o", CultureInfo.InvariantCulture); }
        if (Want("sentDateTime")) { json["sentDateTime"] = m.Sent?.ToString("o", CultureInfo.InvariantCulture); }
        if (Want("receivedDateTime")) { json["receivedDateTime"] = m.ReceivedOrSent.ToString("o", CultureInfo.InvariantCulture); }
        if (Want("conversationId")) { json["conversationId"] = m.ConversationId; }
        if (Want("subject")) { json["subject"] = m.Subject; }
        if (Want("isDraft")) { json["isDraft"] = m.IsDraft; }
        if (Want("parentFolderId")) { json["parentFolderId"] = m.Folder; }
        if (Want("internetMessageId")) { json["internetMessageId"] = m.InternetMessageId; }
        if (Want("body")) { json["body"] = new JsonObject { ["contentType"] = m.BodyType, ["content"] = m.Body }; }
        if (Want("from")) { json["from"] = Address(m.From); }
        // Graph answers with a name for every recipient: the one sent, else the address itself.
        if (Want("toRecipients")) { json["toRecipients"] = new JsonArray([.. m.To.Select((a, k) => (JsonNode)Address(a, k < m.ToNames.Count ? m.ToNames[k] ?? a : a))]); }
        if (Want("hasAttachments")) { json["hasAttachments"] = m.Attachments.Count > 0; }
        // Graph returns headers only when asked for with $select.
        if (selected?.Contains("internetMessageHeaders") == true)
        {
            json["internetMessageHeaders"] = new JsonArray([.. m.Headers.Select(h => (JsonNode)new JsonObject { ["name"] = h.Key, ["value"] = h.Value })]);
        }
        if (expand?.Contains("singleValueExtendedProperties", StringComparison.OrdinalIgnoreCase) == true)
        {
            json["singleValueExtendedProperties"] = new JsonArray([.. m.Properties.Select(p => (JsonNode)new JsonObject { ["id"] = p.Key, ["value"] = p.Value })]);
        }
        return json;
    }

    private static string ToLine(SandboxMessage m) =>
        string.Join(", ", m.To.Select((a, k) => k < m.ToNames.Count && m.ToNames[k] is { } name ? $"{name} <{a}>" : a));

    private static JsonObject Address(string address, string? name = null) => name is null
        ? new() { ["emailAddress"] = new JsonObject { ["address"] = address } }
        : new() { ["emailAddress"] = new JsonObject { ["name"] = name, ["address"] = address } };

    private static async Task UploadAsync(GraphSandbox sandbox, HttpContext ctx, string token)
    {
        var session = sandbox.Session(token);
        if (session is null)
        {
            await ErrorAsync(sandbox, ctx, "", "upload", 404, "ItemNotFound", "The upload session does not exist or has expired.");
            return;
        }
        var range = ctx.Request.Headers.ContentRange.ToString();
        var m = ContentRange().Match(range);
        if (!m.Success)
        {
            await ErrorAsync(sandbox, ctx, session.Mailbox, "upload", 400, "InvalidRange", "Content-Range is required: bytes a-b/total.");
            return;
        }
        var from = long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        var to = long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        var total = long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        var length = to - from + 1;
        if (from != session.Data.Length || total != session.Size || to >= total)
        {
            await ErrorAsync(sandbox, ctx, session.Mailbox, "upload", 416, "InvalidRange", $"The next expected range starts at {session.Data.Length}.");
            return;
        }
        if (length >= sandbox.Options.MaxRequestBytes)
        {
            await ErrorAsync(sandbox, ctx, session.Mailbox, "upload", 413, "RequestEntityTooLarge", "Each upload request must stay under 4 MB.");
            return;
        }
        if (!sandbox.SpendUpload(session.Mailbox, length))
        {
            ctx.Response.Headers.RetryAfter = "60";
            await ErrorAsync(sandbox, ctx, session.Mailbox, "upload", 429, "ApplicationThrottled", "The mailbox's upload budget (150 MB per 5 minutes) is used up.", TimeSpan.FromSeconds(60));
            return;
        }
        var buffer = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(buffer, ctx.RequestAborted);
        if (buffer.Length != length)
        {
            await ErrorAsync(sandbox, ctx, session.Mailbox, "upload", 400, "InvalidRange", "The body length does not match Content-Range.");
            return;
        }
        buffer.Position = 0;
        await buffer.CopyToAsync(session.Data, ctx.RequestAborted);
        if (session.Data.Length == session.Size)
        {
            sandbox.CompleteSession(token, session);
            sandbox.Record(session.Mailbox, "PUT", "upload", 201, null);
            ctx.Response.StatusCode = 201;
            ctx.Response.Headers.Location = $"{ctx.Request.Scheme}://{ctx.Request.Host}/attachments/{token}";
            return;
        }
        sandbox.Record(session.Mailbox, "PUT", "upload", 200, null);
        ctx.Response.StatusCode = 200;
        await ctx.Response.WriteAsJsonAsync(new
        {
            expirationDateTime = session.Expires.ToString("o", CultureInfo.InvariantCulture),
            nextExpectedRanges = new[] { $"{session.Data.Length}-" },
        }, ctx.RequestAborted);
    }

    [GeneratedRegex(@"^bytes (\d+)-(\d+)/(\d+)$")]
    private static partial Regex ContentRange();

    private static async Task<JsonObject> ReadJsonAsync(HttpContext ctx)
    {
        var node = await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted);
        return node as JsonObject ?? [];
    }

    private static async Task JsonAsync(GraphSandbox sandbox, HttpContext ctx, string mailbox, string rest, int status, JsonObject body)
    {
        sandbox.Record(mailbox, ctx.Request.Method, rest, status, null);
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        await ctx.Response.WriteAsync(body.ToJsonString(), ctx.RequestAborted);
    }

    private static async Task ErrorAsync(GraphSandbox sandbox, HttpContext ctx, string mailbox, string rest, int status, string code, string message, TimeSpan? retryAfter = null)
    {
        sandbox.Record(mailbox, ctx.Request.Method, rest, status, retryAfter);
        ctx.Response.StatusCode = status;
        if (retryAfter is { } ra && !ctx.Response.Headers.ContainsKey("Retry-After"))
        {
            ctx.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(ra.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
        ctx.Response.ContentType = "application/json; charset=utf-8";
        var error = new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["code"] = code,
                ["message"] = message,
                ["innerError"] = new JsonObject { ["date"] = sandbox.Now.ToString("o", CultureInfo.InvariantCulture), ["request-id"] = Guid.NewGuid().ToString() },
            },
        };
        await ctx.Response.WriteAsync(error.ToJsonString(), ctx.RequestAborted);
    }

    private static string MailboxPage(GraphSandbox sandbox)
    {
        var html = new StringBuilder("""
            <!doctype html><html lang="ja"><head><meta charset="utf-8"><title>Sandbox mailbox</title>
            <style>body{font-family:system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;font-size:.9rem}</style>
            </head><body><h1>Sandbox mailbox / 送信済みメール</h1>
            <table><thead><tr><th>Sent</th><th>From</th><th>To</th><th>Subject</th><th>Attachments</th><th>X-BulkMail-Delivery</th></tr></thead><tbody>
            """);
        foreach (var m in sandbox.Sent().Reverse().Take(500))
        {
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><td>{Enc(m.SentAt?.ToString("u", CultureInfo.InvariantCulture))}</td><td>{Enc(m.From)}</td><td>{Enc(ToLine(m))}</td>" +
                $"<td><a href=\"/sandbox/mailbox?id={Uri.EscapeDataString(m.Id)}\">{Enc(m.Subject)}</a></td><td>{m.Attachments.Count}</td>" +
                $"<td>{Enc(m.Headers.GetValueOrDefault("X-BulkMail-Delivery"))}</td></tr>");
        }
        html.Append(CultureInfo.InvariantCulture, $"</tbody></table><p>{sandbox.Sent().Count} sent, {sandbox.Inbox().Count} in the Inbox (NDRs).</p></body></html>");
        return html.ToString();
    }

    private static string MessagePage(GraphSandbox sandbox, string id)
    {
        var m = sandbox.Sent().Concat(sandbox.Inbox()).FirstOrDefault(x => x.Id == id);
        if (m is null)
        {
            return "<!doctype html><p>Not found. <a href=\"/sandbox/mailbox\">Back</a></p>";
        }
        // The body is the recipient's HTML: shown in a sandboxed frame, never in this page's own document.
        return $"<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>{Enc(m.Subject)}</title></head><body style=\"font-family:system-ui\">" +
            $"<p><a href=\"/sandbox/mailbox\">← Back</a></p><h2>{Enc(m.Subject)}</h2><p>From {Enc(m.From)} to {Enc(ToLine(m))}</p>" +
            $"<ul>{string.Concat(m.Attachments.Select(a => $"<li>{Enc(a.Name)} ({a.Content.Length:N0} bytes)</li>"))}</ul>" +
            $"<iframe sandbox style=\"width:100%;height:60vh;border:1px solid #ccc\" srcdoc=\"{Enc(m.BodyContentType.Equals("html", StringComparison.OrdinalIgnoreCase) ? m.Body : "<pre>" + WebUtility.HtmlEncode(m.Body) + "</pre>")}\"></iframe></body></html>";
    }

    private static string Enc(string? s) => WebUtility.HtmlEncode(s ?? "");
}

/// <summary>The Graph sandbox alone on its own loopback port.</summary>
public sealed class GraphSandboxHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GraphSandboxHost(WebApplication app, Uri baseUrl, GraphSandbox sandbox)
    {
        _app = app;
        BaseUrl = baseUrl;
        Sandbox = sandbox;
    }

    /// <summary>The Graph root to give GraphServiceClient, e.g. <c>http://127.0.0.1:41234/sandbox/graph/v1.0</c>.</summary>
    public Uri BaseUrl { get; }

    public GraphSandbox Sandbox { get; }

    public static async Task<GraphSandboxHost> StartAsync(GraphSandboxOptions? options = null, TimeProvider? time = null, CancellationToken ct = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 64 * 1024 * 1024);
        var sandbox = new GraphSandbox(options ?? new GraphSandboxOptions(), time ?? TimeProvider.System);
        builder.Services.AddSingleton(sandbox);
        builder.Services.AddRouting();
        var app = builder.Build();
        app.MapGraphSandbox("/sandbox/graph");
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new GraphSandboxHost(app, new Uri(address.TrimEnd('/') + "/sandbox/graph/v1.0"), sandbox);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
