using System.Buffers;
using System.Net.ServerSentEvents;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Mailings;

/// <summary>The <c>StatusStreams</c> section: how the status streams wait (docs/operations.md).</summary>
public sealed class StatusStreamOptions
{
    public const string Section = "StatusStreams";

    /// <summary>At most one status read per stream in this time: a burst of changes (a fast mailing) is read once, the
    /// latest state always.</summary>
    public TimeSpan MinInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>A comment line after this much silence, so proxies keep an idle stream open.</summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Read again after this long without a change notice: pub/sub is at most once, and a status also moves
    /// with things that are not the mailing's own changes (the mailbox's pace, the mailings ahead of it).</summary>
    public TimeSpan SafetyReread { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// The status streams, pushed from the store's change notices (<see cref="IMailingChanges"/>) instead of read on a
/// timer: a stream reads when a notice comes (at most once per <see cref="StatusStreamOptions.MinInterval"/>), when the
/// status itself says it changes by then (resumesAt, the undo window's end, sendAt), and after
/// <see cref="StatusStreamOptions.SafetyReread"/>; in between it sends only a heartbeat comment. A null item is that heartbeat.
/// </summary>
public static class StatusStreams
{
    // read a moment after a time the status names, so the status read then is past it
    private static readonly TimeSpan BoundaryGrace = TimeSpan.FromMilliseconds(100);

    /// <summary>One mailing: its status whenever it changes, until it is finished (as before: the same events).</summary>
    public static async IAsyncEnumerable<SseItem<MailingStatus>?> MailingAsync(string id, MailingStatusReader statuses, IMailingStore store,
        IMailingChanges changes, StatusStreamOptions o, TimeProvider time, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var watch = new MailingChangeWatch(changes);
        // subscribed before the first read: a change during it is read next
        await watch.WatchAsync(id, cancellationToken).ConfigureAwait(false);
        string? last = null;
        var wrote = time.GetUtcNow();
        while (true)
        {
            var readAt = time.GetUtcNow();
            // Ownership was checked when the stream opened.
            var current = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (current is null)
            {
                yield break;
            }
            var status = await statuses.StatusAsync(current, cancellationToken).ConfigureAwait(false);
            // Compared as JSON: the status holds collections (reference equality), and only a visible change is pushed.
            var json = JsonSerializer.Serialize(status, JsonSerializerOptions.Web);
            if (json != last)
            {
                yield return new SseItem<MailingStatus>(status, "status");
                last = json;
                wrote = time.GetUtcNow();
            }
            if (Finished(current))
            {
                yield break;
            }
            var due = Earliest(readAt + o.SafetyReread, Boundary(status, readAt));
            Wake wake;
            while ((wake = await WaitAsync(watch, due, wrote + o.Heartbeat, time, cancellationToken).ConfigureAwait(false)) == Wake.Heartbeat)
            {
                yield return null;
                wrote = time.GetUtcNow();
            }
            await SpaceAsync(readAt, o, time, cancellationToken).ConfigureAwait(false);
            watch.Take();
        }
    }

    /// <summary>
    /// The owner's mailings (the header indicator and the list): first the status of each mailing in the owner's list,
    /// then the status of each one that changes while it is not finished, of each new one, and of a finished one whose
    /// replies or bounces changed (on the owner's notice). It never ends by itself.
    /// </summary>
    public static async IAsyncEnumerable<SseItem<MailingStatus>?> OwnerAsync(string owner, MailingStatusReader statuses, IMailingStore store,
        IMailingChanges changes, StatusStreamOptions o, TimeProvider time, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var watch = new MailingChangeWatch(changes);
        await watch.WatchOwnerAsync(owner, cancellationToken).ConfigureAwait(false);
        var last = new Dictionary<string, string>(StringComparer.Ordinal);
        var wrote = time.GetUtcNow();
        IReadOnlySet<string>? changed = null; // null: every mailing of the list (the first read, a lost notice, the safety re-read)
        // Finished mailings are read on the first pass and on the owner's notices only: a reply or a bounce found days
        // later (InboxScanner tells the owner), a new mailing, a lost subscription.
        var first = true;
        var ownerNoticed = false;
        while (true)
        {
            var readAt = time.GetUtcNow();
            var due = readAt + o.SafetyReread;
            var mailings = await store.ListAsync(owner, 100, cancellationToken).ConfigureAwait(false);
            var listed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var m in mailings)
            {
                listed.Add(m.Id);
                var watched = watch.Watches(m.Id);
                if (Finished(m) ? !(first || watched || ownerNoticed) : watched && changed is not null && !changed.Contains(m.Id))
                {
                    continue; // finished before and no owner notice: nothing new; followed and unchanged: nothing to read
                }
                if (!Finished(m) && !watched)
                {
                    // a new one: subscribed first, read after, so no change of it is missed
                    await watch.WatchAsync(m.Id, cancellationToken).ConfigureAwait(false);
                }
                var status = await statuses.StatusAsync(m, cancellationToken, mailings).ConfigureAwait(false);
                var json = JsonSerializer.Serialize(status, JsonSerializerOptions.Web);
                if (!last.TryGetValue(m.Id, out var before) || before != json)
                {
                    yield return new SseItem<MailingStatus>(status, "status");
                    wrote = time.GetUtcNow();
                }
                if (Finished(m))
                {
                    // kept (at most the newest 100): an owner notice re-reads it, and only a change is sent again
                    last[m.Id] = json;
                    await watch.UnwatchAsync(m.Id).ConfigureAwait(false);
                }
                else
                {
                    last[m.Id] = json;
                    due = Earliest(due, Boundary(status, readAt));
                }
            }
            foreach (var gone in last.Keys.Where(id => !listed.Contains(id)).ToList())
            {
                // deleted, expired or past the newest 100
                last.Remove(gone);
                await watch.UnwatchAsync(gone).ConfigureAwait(false);
            }
            first = false;
            Wake wake;
            while ((wake = await WaitAsync(watch, due, wrote + o.Heartbeat, time, cancellationToken).ConfigureAwait(false)) == Wake.Heartbeat)
            {
                yield return null;
                wrote = time.GetUtcNow();
            }
            await SpaceAsync(readAt, o, time, cancellationToken).ConfigureAwait(false);
            // a new mailing (an owner notice) is found by the listing, whatever else changed
            var noticed = watch.Take(out ownerNoticed);
            changed = wake == Wake.Due ? null : noticed;
        }
    }

    private enum Wake
    {
        Notice,
        Due,
        Heartbeat,
    }

    private static async Task<Wake> WaitAsync(MailingChangeWatch watch, DateTimeOffset due, DateTimeOffset heartbeatAt, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var until = Earliest(due, heartbeatAt);
        if (await watch.WaitAsync(until - time.GetUtcNow(), time, cancellationToken).ConfigureAwait(false))
        {
            return Wake.Notice;
        }
        return until == due ? Wake.Due : Wake.Heartbeat;
    }

    /// <summary>Waits out the rest of the minimum interval since the last read; notices meanwhile are read together.</summary>
    private static async Task SpaceAsync(DateTimeOffset readAt, StatusStreamOptions o, TimeProvider time, CancellationToken cancellationToken)
    {
        var rest = readAt + o.MinInterval - time.GetUtcNow();
        if (rest > TimeSpan.Zero)
        {
            await Task.Delay(rest, time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool Finished(Mailing m) => MailingStates.IsFinal(m.State) && m.FinishedAt is not null;

    /// <summary>The next time the status changes by itself, without a change in the store.</summary>
    private static DateTimeOffset? Boundary(MailingStatus s, DateTimeOffset now) =>
        new[] { s.ResumesAt, s.UndoUntil, s.SendAt }.Where(t => t > now).Min() is { } t ? t + BoundaryGrace : null;

    private static DateTimeOffset Earliest(DateTimeOffset a, DateTimeOffset? b) => b is { } x && x < a ? x : a;
}

/// <summary>
/// Server-sent events written as <see cref="Microsoft.AspNetCore.Http.HttpResults.ServerSentEventsResult{T}"/> writes
/// them (its headers, <c>event:</c> and <c>data:</c> lines, the same JSON options, the same OpenAPI description), plus
/// a comment line (<c>:</c>) for a null item: a heartbeat that every SSE parser skips.
/// </summary>
public sealed class HeartbeatEventsResult<T>(IAsyncEnumerable<SseItem<T>?> events) : IResult, IEndpointMetadataProvider, IStatusCodeHttpResult
{
    private static ReadOnlySpan<byte> Heartbeat => ":\n\n"u8;

    public int? StatusCode => StatusCodes.Status200OK;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache,no-store";
        response.Headers.Pragma = "no-cache";
        response.Headers.ContentEncoding = "identity";
        httpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        var json = httpContext.RequestServices.GetService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>()?.Value.SerializerOptions
            ?? JsonSerializerOptions.Web;
        var info = json.GetTypeInfo(typeof(T));
        var cancellationToken = httpContext.RequestAborted;
        var buffer = new ArrayBufferWriter<byte>();
        await response.StartAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var item in events.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            buffer.ResetWrittenCount();
            if (item is not { } sse)
            {
                buffer.Write(Heartbeat);
            }
            else
            {
                if (sse.EventType is { } type)
                {
                    buffer.Write("event: "u8);
                    buffer.Write(Encoding.UTF8.GetBytes(type));
                    buffer.Write("\n"u8);
                }
                buffer.Write("data: "u8);
                buffer.Write(JsonSerializer.SerializeToUtf8Bytes(sse.Data, info)); // one line: never indented
                buffer.Write("\n\n"u8);
            }
            await response.Body.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
            await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    static void IEndpointMetadataProvider.PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        Populate<Microsoft.AspNetCore.Http.HttpResults.ServerSentEventsResult<T>>(method, builder);

    private static void Populate<TResult>(MethodInfo method, EndpointBuilder builder) where TResult : IEndpointMetadataProvider =>
        TResult.PopulateMetadata(method, builder);
}
