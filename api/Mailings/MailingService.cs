using BulkMail.Api.Modes;
using BulkMail.Api.Auth;
using BulkMail.Api.Infrastructure;
using Microsoft.Extensions.Options;
using System.Security.Cryptography;

namespace BulkMail.Api.Mailings;

/// <summary>Submits mailings (every check before anything is stored) and finds the caller's own. Preview and test send
/// are <see cref="MailingPreviewer"/>'s, the status <see cref="MailingStatusReader"/>'s, start and control
/// <see cref="MailingControl"/>'s.</summary>
public sealed class MailingService(
    IMailingStore store,
    MailingPlanner planner,
    MailingAttachmentBuilder attachments,
    IOptions<BulkMail.Api.Infrastructure.RateLimitOptions> rateLimits,
    TimeProvider time)
{
    public async Task<Mailing> SubmitAsync(MailingRequest request, Sender user, CancellationToken cancellationToken)
    {
        if (request.IdempotencyKey is { Length: > 0 } key
            && await store.FindByIdempotencyKeyAsync(user.Id, key, cancellationToken).ConfigureAwait(false) is { } earlier)
        {
            return earlier;
        }
        var spec = await planner.ValidateAsync(request, user, cancellationToken).ConfigureAwait(false);
        var files = await attachments.BuildAsync(spec, request.Attachments, user.Id, cancellationToken).ConfigureAwait(false);
        spec = spec with { Attachments = [.. files.Files.Select(f => f.Info)], ZipEncryption = files.ZipEncryption };
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        if (request.IdempotencyKey is { Length: > 0 } claim)
        {
            // Claim the key before storing anything: a racing submit with the same key gets the first one's id, so the
            // files are stored once, under the mailing that will exist (no orphaned copies outside the upload quota).
            id = await store.ClaimIdempotencyKeyAsync(user.Id, claim, id, cancellationToken).ConfigureAwait(false);
            if (await store.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } first)
            {
                return first;
            }
        }
        if (files.Files.Count > 0)
        {
            // Stored before the mailing exists, so no worker can see the mailing without its files.
            await store.SaveAttachmentsAsync(id, files.Files, cancellationToken).ConfigureAwait(false);
        }
        var mailing = await store.CreateAsync(new Mailing
        {
            Id = id,
            Owner = user.Id,
            Mailbox = user.Mailbox,
            Spec = spec,
            CreatedAt = time.GetUtcNow(),
            IdempotencyKey = request.IdempotencyKey,
            Held = request.Hold,
            TraceParent = System.Diagnostics.Activity.Current?.Id,
        }, cancellationToken).ConfigureAwait(false);
        return mailing;
    }

    public async Task<Mailing?> GetOwnedAsync(string id, Sender user, CancellationToken cancellationToken)
    {
        var mailing = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        return mailing is not null && mailing.Owner == user.Id ? mailing : null; // someone else's mailing does not exist for you
    }

    /// <summary>RateLimits:RunningMailings when the user has that many running (preparing without hold, queued,
    /// sending, paused) — null when another may start, or when the idempotency key names one already submitted.
    /// A soft cap: two submits at the same instant may both pass.</summary>
    public async Task<int?> RunningCapReachedAsync(Sender user, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var o = rateLimits.Value;
        if (!o.Enabled
            || idempotencyKey is { Length: > 0 } && await store.FindByIdempotencyKeyAsync(user.Id, idempotencyKey, cancellationToken).ConfigureAwait(false) is not null)
        {
            return null;
        }
        var running = await store.CountRunningAsync(user.Id, cancellationToken).ConfigureAwait(false);
        return running >= o.RunningMailings ? o.RunningMailings : null;
    }

}
