using BulkMail.Api.Modes;
using BulkMail.Api.Mail;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mailings;
using BulkMail.Api.Mailings.Scheduling;
using BulkMail.Tests.Support;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace BulkMail.Tests.Mailings;

/// <summary>The rules every mailing store must keep; run against Redis and against memory. Every method of
/// <see cref="IMailingStore"/> is named by a <see cref="CoversAttribute"/> here (ContractCoverageTests).</summary>
public abstract class MailingStoreContract : ContractSuite
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract IMailingStore CreateStoreCore();

    protected IMailingStore CreateStore() => Track(CreateStoreCore());

    protected static Mailing NewMailing(string? idempotencyKey = null, string owner = "alice@example.com") => new()
    {
        Id = Guid.NewGuid().ToString("N")[..12],
        Owner = owner,
        Mailbox = owner,
        CreatedAt = T0,
        IdempotencyKey = idempotencyKey,
        Spec = new MailingSpec
        {
            Mode = MailingMode.Resumes,
            ScopeKind = ScopeKind.Checked,
            Ids = [10001, 10002],
            MailFields = ["Resume.P_Mail"],
            Subject = "件名 {{Person.P_Name}}",
            Body = "<p>{{Person.P_Name}}様</p>",
        },
    };

    protected static List<Delivery> NewDeliveries(int firstSeq, int count, Func<int, DeliveryStatus>? status = null) =>
        [.. Enumerable.Range(firstSeq, count).Select(seq => new Delivery
        {
            Seq = seq,
            RecordType = "Resume",
            RecordId = 10000 + seq,
            RecordName = $"山田 太郎{seq}",
            MailField = "Resume.P_Mail",
            Address = $"user{seq}@example.jp",
            Status = status?.Invoke(seq) ?? DeliveryStatus.Pending,
            Reason = status?.Invoke(seq) == DeliveryStatus.Skipped ? "no address" : null,
            Values = new Dictionary<string, string?> { ["Person.P_Name"] = $"山田 太郎{seq}", ["Job.P_Position"] = null },
        })];

    private static async Task<(IMailingStore Store, Mailing Mailing)> QueuedAsync(IMailingStore store, int count)
    {
        var m = await store.CreateAsync(NewMailing(), Ct);
        Assert.True(await store.TryLeaseExpansionAsync(m.Id, "x", Lease, T0, Ct));
        Assert.True(await store.AppendDeliveriesAsync(m.Id, "x", 0, count, NewDeliveries(1, count), true, T0, Ct));
        return (store, m);
    }

    [Fact]
    [Covers(nameof(IMailingStore.LeasedUnderAsync), nameof(IMailingStore.ClaimAsync))]
    public async Task A_claim_under_a_token_of_the_callers_own_is_found_by_it_until_it_is_released_or_completed()
    {
        var (store, m) = await QueuedAsync(CreateStore(), 2);
        Assert.Null(await store.LeasedUnderAsync(m.Id, "token-a", Ct));
        var a = (await store.ClaimAsync(m.Id, Lease, T0, Ct, "token-a")).Claim!;
        var b = (await store.ClaimAsync(m.Id, Lease, T0, Ct, "token-b")).Claim!;
        Assert.Equal(("token-a", "token-b"), (a.LeaseToken, b.LeaseToken));
        Assert.Equal(a.Delivery.Seq, (await store.LeasedUnderAsync(m.Id, "token-a", Ct))!.Seq);
        Assert.Equal(b.Delivery.Seq, (await store.LeasedUnderAsync(m.Id, "token-b", Ct))!.Seq);
        Assert.Null(await store.LeasedUnderAsync(m.Id, "token-c", Ct));
        Assert.Null(await store.LeasedUnderAsync("no-such-mailing", "token-a", Ct));

        Assert.True(await store.ReleaseAsync(a, a.Delivery, T0, Ct));
        Assert.True(await store.CompleteAsync(b, b.Delivery with { Status = DeliveryStatus.Sent, SentAt = T0 }, 10, T0, Ct));
        Assert.Null(await store.LeasedUnderAsync(m.Id, "token-a", Ct));
        Assert.Null(await store.LeasedUnderAsync(m.Id, "token-b", Ct));
        Assert.Equal(a.Delivery.Seq, (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!.Delivery.Seq); // back in the queue
    }

    [Fact]
    [Covers(nameof(IMailingStore.CreateAsync), nameof(IMailingStore.FindByIdempotencyKeyAsync), nameof(IMailingStore.ListAsync), nameof(IMailingStore.GetAsync))]
    public async Task A_repeated_idempotency_key_returns_the_first_mailing()
    {
        var store = CreateStore();
        var first = await store.CreateAsync(NewMailing("key-1"), Ct);
        var again = await store.CreateAsync(NewMailing("key-1"), Ct);
        var otherOwner = await store.CreateAsync(NewMailing("key-1", owner: "bob@example.com"), Ct);

        Assert.Equal(first.Id, again.Id);
        Assert.Equal(first.Id, (await store.FindByIdempotencyKeyAsync("alice@example.com", "key-1", Ct))!.Id);
        Assert.Null(await store.FindByIdempotencyKeyAsync("alice@example.com", "key-2", Ct));
        Assert.NotEqual(first.Id, otherOwner.Id);
        Assert.Equal(MailingState.Preparing, first.State);
        Assert.Single(await store.ListAsync("alice@example.com", 10, Ct));
        Assert.Equal("<p>{{Person.P_Name}}様</p>", (await store.GetAsync(first.Id, Ct))!.Spec.Body);
    }

    [Fact]
    [Covers(nameof(IMailingStore.TryLeaseExpansionAsync), nameof(IMailingStore.AppendDeliveriesAsync), nameof(IMailingStore.GetCountsAsync), nameof(IMailingStore.GetExpansionAsync), nameof(IMailingStore.ReadDeliveriesAsync))]
    public async Task Pages_are_appended_once_and_the_mailing_is_queued_when_expanded()
    {
        var store = CreateStore();
        var m = await store.CreateAsync(NewMailing(), Ct);
        Assert.True(await store.TryLeaseExpansionAsync(m.Id, "worker-a", Lease, T0, Ct));
        Assert.False(await store.TryLeaseExpansionAsync(m.Id, "worker-b", Lease, T0, Ct));

        Assert.True(await store.AppendDeliveriesAsync(m.Id, "worker-a", 0, 200, NewDeliveries(1, 3, s => s == 2 ? DeliveryStatus.Skipped : DeliveryStatus.Pending), false, T0, Ct));
        // the same page again (a retry after a lost answer) is refused: nothing is stored twice
        Assert.False(await store.AppendDeliveriesAsync(m.Id, "worker-a", 0, 200, NewDeliveries(1, 3), false, T0, Ct));
        Assert.Equal(MailingState.Preparing, (await store.GetAsync(m.Id, Ct))!.State);
        Assert.True(await store.AppendDeliveriesAsync(m.Id, "worker-a", 200, 400, NewDeliveries(4, 2), true, T0, Ct));

        Assert.Equal(new MailingCounts(5, 0, 0, 1, 0, 0), await store.GetCountsAsync(m.Id, Ct));
        Assert.Equal(new ExpansionCursor(400, true), await store.GetExpansionAsync(m.Id, Ct));
        Assert.Equal(MailingState.Queued, (await store.GetAsync(m.Id, Ct))!.State);
        Assert.Equal([1, 2, 3, 4, 5], (await store.ReadDeliveriesAsync(m.Id, Ct).ToListAsync(Ct)).Select(d => d.Seq));
    }

    [Fact]
    [Covers(nameof(IMailingStore.TryLeaseExpansionAsync), nameof(IMailingStore.AppendDeliveriesAsync))]
    public async Task An_expansion_lease_passes_to_another_worker_once_it_expires()
    {
        var store = CreateStore();
        var m = await store.CreateAsync(NewMailing(), Ct);
        Assert.True(await store.TryLeaseExpansionAsync(m.Id, "a", Lease, T0, Ct));

        Assert.False(await store.TryLeaseExpansionAsync(m.Id, "b", Lease, T0.AddSeconds(59), Ct));
        Assert.True(await store.TryLeaseExpansionAsync(m.Id, "b", Lease, T0.AddSeconds(61), Ct));
        Assert.False(await store.AppendDeliveriesAsync(m.Id, "a", 0, 1, NewDeliveries(1, 1), true, T0, Ct));
    }

    [Fact]
    [Covers(nameof(IMailingStore.ClaimAsync), nameof(IMailingStore.UpdateClaimedAsync), nameof(IMailingStore.CompleteAsync), nameof(IMailingStore.GetDeliveryAsync), nameof(IMailingStore.ActiveMailingIdsAsync))]
    public async Task Claims_complete_deliveries_and_the_mailing_completes_when_none_is_left()
    {
        var (store, m) = await QueuedAsync(CreateStore(), 2);

        var first = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;
        Assert.Equal(MailingState.Sending, (await store.GetAsync(m.Id, Ct))!.State);
        Assert.True(await store.UpdateClaimedAsync(first, first.Delivery with { DraftId = "draft-1", Attempts = 1 }, Lease, T0, Ct));
        Assert.True(await store.CompleteAsync(first, first.Delivery with { Status = DeliveryStatus.Sent, DraftId = "draft-1", SentAt = T0 }, 10, T0, Ct));
        var second = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;
        Assert.Null((await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim);
        Assert.True(await store.CompleteAsync(second, second.Delivery with { Status = DeliveryStatus.Failed, Reason = "ErrorInvalidRecipients" }, 10, T0.AddSeconds(5), Ct));

        var done = (await store.GetAsync(m.Id, Ct))!;
        Assert.Equal(MailingState.Completed, done.State);
        Assert.Equal(T0.AddSeconds(5), done.FinishedAt);
        Assert.Equal(T0, done.StartedAt);
        Assert.Equal(new MailingCounts(2, 1, 1, 0, 0, 0), await store.GetCountsAsync(m.Id, Ct));
        Assert.Equal("draft-1", (await store.GetDeliveryAsync(m.Id, first.Delivery.Seq, Ct))!.DraftId);
        Assert.DoesNotContain(m.Id, await store.ActiveMailingIdsAsync(Ct));
    }

    [Fact]
    [Covers(nameof(IMailingStore.ClaimAsync), nameof(IMailingStore.UpdateClaimedAsync), nameof(IMailingStore.CompleteAsync))]
    public async Task A_delivery_whose_lease_expired_comes_back_with_its_draft_id_and_the_old_holder_is_refused()
    {
        var (store, m) = await QueuedAsync(CreateStore(), 1);
        var dead = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;
        Assert.True(await store.UpdateClaimedAsync(dead, dead.Delivery with { DraftId = "AAMk-1", Attempts = 1 }, Lease, T0, Ct));

        Assert.Null((await store.ClaimAsync(m.Id, Lease, T0.AddSeconds(30), Ct)).Claim);
        var again = (await store.ClaimAsync(m.Id, Lease, T0.AddSeconds(61), Ct)).Claim!;

        Assert.Equal(dead.Delivery.Seq, again.Delivery.Seq);
        Assert.Equal("AAMk-1", again.Delivery.DraftId);
        Assert.False(await store.CompleteAsync(dead, dead.Delivery with { Status = DeliveryStatus.Sent }, 10, T0.AddSeconds(62), Ct));
        Assert.False(await store.UpdateClaimedAsync(dead, dead.Delivery, Lease, T0.AddSeconds(62), Ct));
        Assert.True(await store.CompleteAsync(again, again.Delivery with { Status = DeliveryStatus.Sent }, 10, T0.AddSeconds(62), Ct));
        Assert.Equal(1, (await store.GetCountsAsync(m.Id, Ct)).Sent);
    }

    [Fact]
    [Covers(nameof(IMailingStore.ReleaseAsync), nameof(IMailingStore.ClaimAsync))]
    public async Task A_released_delivery_waits_until_its_time()
    {
        var (store, m) = await QueuedAsync(CreateStore(), 1);
        var claim = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;

        Assert.True(await store.ReleaseAsync(claim, claim.Delivery with { Attempts = 1, Reason = "503" }, T0.AddSeconds(10), Ct));
        var early = await store.ClaimAsync(m.Id, Lease, T0.AddSeconds(5), Ct);
        var onTime = await store.ClaimAsync(m.Id, Lease, T0.AddSeconds(10), Ct);

        Assert.Null(early.Claim);
        Assert.Equal(T0.AddSeconds(10), early.NextReadyAt);
        Assert.Equal(1, onTime.Claim!.Delivery.Attempts);
    }

    [Fact]
    [Covers(nameof(IMailingStore.CompleteAsync), nameof(IMailingStore.TransitionAsync))]
    public async Task Ten_failures_in_a_row_pause_the_mailing_with_a_reason()
    {
        var (store, m) = await QueuedAsync(CreateStore(), 12);
        for (var i = 0; i < 10; i++)
        {
            var c = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;
            await store.CompleteAsync(c, c.Delivery with { Status = DeliveryStatus.Failed, Reason = "x" }, 10, T0, Ct);
        }

        var paused = (await store.GetAsync(m.Id, Ct))!;
        Assert.Equal(MailingState.Paused, paused.State);
        Assert.Contains("10", paused.PausedReason);
        Assert.Null((await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim);
        Assert.DoesNotContain(m.Id, await store.ActiveMailingIdsAsync(Ct));

        var (resumed, changed) = await store.TransitionAsync(m.Id, [MailingState.Paused], MailingState.Sending, null, T0, Ct);
        Assert.True(changed);
        Assert.Null(resumed!.PausedReason);
        Assert.NotNull((await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim);
    }

    [Fact]
    [Covers(nameof(IMailingStore.TransitionAsync), nameof(IMailingStore.CancelQueuedAsync), nameof(IMailingStore.ReadDeliveriesAsync))]
    public async Task Cancel_marks_queued_deliveries_and_lets_in_flight_ones_finish()
    {
        var (store, m) = await QueuedAsync(CreateStore(), 5);
        var inFlight = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;

        var (_, changed) = await store.TransitionAsync(m.Id, [MailingState.Queued, MailingState.Sending, MailingState.Paused], MailingState.Cancelled, null, T0, Ct);
        var cancelled = await store.CancelQueuedAsync(m.Id, T0, Ct);
        Assert.True(changed);
        Assert.Equal(4, cancelled);
        Assert.Null((await store.GetAsync(m.Id, Ct))!.FinishedAt);
        Assert.True(await store.CompleteAsync(inFlight, inFlight.Delivery with { Status = DeliveryStatus.Sent }, 10, T0.AddSeconds(1), Ct));

        var final = (await store.GetAsync(m.Id, Ct))!;
        Assert.Equal(MailingState.Cancelled, final.State);
        Assert.Equal(T0.AddSeconds(1), final.FinishedAt);
        Assert.Equal(new MailingCounts(5, 1, 0, 0, 0, 4), await store.GetCountsAsync(m.Id, Ct));
        var rows = await store.ReadDeliveriesAsync(m.Id, Ct).ToListAsync(Ct);
        var row = rows.First(d => d.Status == DeliveryStatus.Cancelled);
        // the stored JSON survives the server-side rewrite intact
        Assert.Equal($"山田 太郎{row.Seq}", row.Values["Person.P_Name"]);
        Assert.Null(row.Values["Job.P_Position"]);
        Assert.Equal(10000 + row.Seq, row.RecordId);
    }

    [Fact]
    [Covers(nameof(IMailingStore.RequeueFailedAsync))]
    public async Task Retry_failed_puts_failures_back_and_the_mailing_sends_again()
    {
        var (store, m) = await QueuedAsync(CreateStore(), 3);
        for (var i = 0; i < 3; i++)
        {
            var c = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;
            var status = i == 1 ? DeliveryStatus.Sent : DeliveryStatus.Failed;
            await store.CompleteAsync(c, c.Delivery with { Status = status, Attempts = 5, DraftId = "d" }, 10, T0, Ct);
        }
        Assert.Equal(MailingState.Completed, (await store.GetAsync(m.Id, Ct))!.State);

        Assert.Equal(2, await store.RequeueFailedAsync(m.Id, T0, Ct));

        Assert.Equal(MailingState.Sending, (await store.GetAsync(m.Id, Ct))!.State);
        Assert.Equal(new MailingCounts(3, 1, 0, 0, 0, 0), await store.GetCountsAsync(m.Id, Ct));
        var again = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;
        Assert.Equal((DeliveryStatus.Pending, 0, (string?)null), (again.Delivery.Status, again.Delivery.Attempts, again.Delivery.DraftId));
        Assert.Contains(m.Id, await store.ActiveMailingIdsAsync(Ct));
    }

    [Fact]
    [Covers(nameof(IMailingStore.RequeueFailedAsync))]
    public async Task Retry_failed_with_no_failures_retries_nothing_and_changes_nothing()
    {
        // Found by the hostile corpus: on Redis this was a 500 (the script sent -0 to HINCRBY).
        var (store, m) = await QueuedAsync(CreateStore(), 2);
        Assert.Equal(0, await store.RequeueFailedAsync(m.Id, T0, Ct));
        Assert.Equal(MailingState.Queued, (await store.GetAsync(m.Id, Ct))!.State);
        Assert.Equal(0, (await store.GetCountsAsync(m.Id, Ct)).Failed);
    }

    [Fact]
    [Covers(nameof(IMailingStore.UpdateDeliveryAsync))]
    public async Task A_later_bounce_moves_the_counters()
    {
        var (store, m) = await QueuedAsync(CreateStore(), 1);
        var c = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;
        await store.CompleteAsync(c, c.Delivery with { Status = DeliveryStatus.Sent }, 10, T0, Ct);

        await store.UpdateDeliveryAsync(m.Id, c.Delivery with { Status = DeliveryStatus.Bounced, BouncedAt = T0, BounceReason = "5.1.1" }, Ct);

        Assert.Equal(new MailingCounts(1, 0, 0, 0, 1, 0), await store.GetCountsAsync(m.Id, Ct));
    }

    private static Delivery Skip(int seq, string code) => NewDeliveries(seq, 1)[0] with
    {
        Status = DeliveryStatus.Skipped, Reason = code, ReasonCode = code, Values = new Dictionary<string, string?>(),
    };

    [Fact]
    [Covers(nameof(IMailingStore.GetFiguresAsync), nameof(IMailingStore.StartAsync), nameof(IMailingStore.ActiveMailingIdsAsync))]
    public async Task A_held_mailing_waits_in_ready_with_exact_figures_and_nothing_is_claimable_until_started()
    {
        var store = CreateStore();
        var m = await store.CreateAsync(NewMailing() with { Held = true }, Ct);
        Assert.True(m.Held);
        Assert.True(await store.TryLeaseExpansionAsync(m.Id, "x", Lease, T0, Ct));
        List<Delivery> page1 = [.. NewDeliveries(1, 3), Skip(4, ReasonCodes.NoAddress), Skip(5, ReasonCodes.InvalidAddress), Skip(6, ReasonCodes.NoAddress)];
        Assert.True(await store.AppendDeliveriesAsync(m.Id, "x", 0, 200, page1, false, T0, Ct, new PageFigures(3, 250)));
        var halfway = await store.GetFiguresAsync(m.Id, Ct);
        Assert.Equal((200, 250), (halfway.Counted, halfway.ScopeTotal));
        Assert.Equal(MailingState.Preparing, (await store.GetAsync(m.Id, Ct))!.State);
        List<Delivery> page2 = [.. NewDeliveries(7, 2), Skip(9, ReasonCodes.RecordGone)];
        Assert.True(await store.AppendDeliveriesAsync(m.Id, "x", 200, 250, page2, true, T0, Ct, new PageFigures(2, 250)));

        var ready = (await store.GetAsync(m.Id, Ct))!;
        Assert.Equal(MailingState.Ready, ready.State);
        Assert.True(ready.Held);
        Assert.Equal(new MailingCounts(9, 0, 0, 4, 0, 0), await store.GetCountsAsync(m.Id, Ct));
        var figures = await store.GetFiguresAsync(m.Id, Ct);
        Assert.Equal(new Dictionary<string, int> { [ReasonCodes.NoAddress] = 2, [ReasonCodes.InvalidAddress] = 1, [ReasonCodes.RecordGone] = 1 },
            figures.SkippedByReason.OrderBy(x => x.Key).ToDictionary());
        Assert.Equal((5, 250, 250), (figures.PhaseUpdates, figures.Counted, figures.ScopeTotal));
        Assert.Equal(new ClaimResult(null, null), await store.ClaimAsync(m.Id, Lease, T0.AddHours(1), Ct));
        Assert.DoesNotContain(m.Id, await store.ActiveMailingIdsAsync(Ct));

        var (started, changed) = await store.StartAsync(m.Id, T0.AddMinutes(1), Ct);
        Assert.True(changed);
        Assert.Equal(MailingState.Queued, started!.State);
        Assert.False(started.Held);
        Assert.False((await store.StartAsync(m.Id, T0.AddMinutes(1), Ct)).Changed);
        Assert.Contains(m.Id, await store.ActiveMailingIdsAsync(Ct));
        Assert.NotNull((await store.ClaimAsync(m.Id, Lease, T0.AddMinutes(1), Ct)).Claim);
    }

    [Fact]
    [Covers(nameof(IMailingStore.StartAsync))]
    public async Task Only_a_ready_mailing_starts_and_one_with_nothing_to_send_completes_at_once()
    {
        var store = CreateStore();
        var plain = await store.CreateAsync(NewMailing(), Ct);
        Assert.False((await store.StartAsync(plain.Id, T0, Ct)).Changed); // Preparing
        Assert.True(await store.TryLeaseExpansionAsync(plain.Id, "x", Lease, T0, Ct));
        Assert.True(await store.AppendDeliveriesAsync(plain.Id, "x", 0, 1, NewDeliveries(1, 1), true, T0, Ct));
        Assert.Equal(MailingState.Queued, (await store.GetAsync(plain.Id, Ct))!.State); // without hold: as before
        Assert.False((await store.StartAsync(plain.Id, T0, Ct)).Changed);

        var empty = await store.CreateAsync(NewMailing() with { Held = true }, Ct);
        Assert.True(await store.TryLeaseExpansionAsync(empty.Id, "x", Lease, T0, Ct));
        Assert.True(await store.AppendDeliveriesAsync(empty.Id, "x", 0, 1, [Skip(1, ReasonCodes.NoAddress)], true, T0, Ct));
        Assert.Equal(MailingState.Ready, (await store.GetAsync(empty.Id, Ct))!.State);
        var (done, changed) = await store.StartAsync(empty.Id, T0.AddSeconds(3), Ct);
        Assert.True(changed);
        Assert.Equal(MailingState.Completed, done!.State);
        Assert.Equal(T0.AddSeconds(3), done.FinishedAt);
    }

    [Fact]
    [Covers(nameof(IMailingStore.TransitionAsync), nameof(IMailingStore.CancelQueuedAsync))]
    public async Task Cancelling_a_ready_mailing_cancels_every_delivery_and_it_stays_cancelled()
    {
        var store = CreateStore();
        var m = await store.CreateAsync(NewMailing() with { Held = true }, Ct);
        Assert.True(await store.TryLeaseExpansionAsync(m.Id, "x", Lease, T0, Ct));
        Assert.True(await store.AppendDeliveriesAsync(m.Id, "x", 0, 4, NewDeliveries(1, 4), true, T0, Ct));

        Assert.True((await store.TransitionAsync(m.Id, [MailingState.Ready], MailingState.Cancelled, null, T0.AddSeconds(1), Ct)).Changed);
        Assert.Equal(4, await store.CancelQueuedAsync(m.Id, T0.AddSeconds(1), Ct));

        var cancelled = (await store.GetAsync(m.Id, Ct))!;
        Assert.Equal(MailingState.Cancelled, cancelled.State);
        Assert.NotNull(cancelled.FinishedAt);
        Assert.True(cancelled.Held);
        Assert.Equal(new MailingCounts(4, 0, 0, 0, 0, 4), await store.GetCountsAsync(m.Id, Ct));
        Assert.False((await store.StartAsync(m.Id, T0.AddSeconds(2), Ct)).Changed);
        Assert.All(await store.ReadDeliveriesAsync(m.Id, Ct).ToListAsync(Ct), d => Assert.Equal(ReasonCodes.CancelledBeforeSend, d.ReasonCode));
    }

    [Fact]
    [Covers(nameof(IMailingStore.TransitionAsync), nameof(IMailingStore.CompleteAsync))]
    public async Task A_pause_keeps_its_code_and_a_failure_streak_pauses_with_its_count()
    {
        var (store, m) = await QueuedAsync(CreateStore(), 4);
        var (paused, _) = await store.TransitionAsync(m.Id, [MailingState.Queued], MailingState.Paused, "Paused by the user.", T0, Ct,
            PauseCodes.PausedByUser);
        Assert.Equal((PauseCodes.PausedByUser, "Paused by the user."), (paused!.PausedCode, paused.PausedReason));
        Assert.Equal(PauseCodes.PausedByUser, (await store.GetAsync(m.Id, Ct))!.PausedCode);
        var (resumed, _) = await store.TransitionAsync(m.Id, [MailingState.Paused], MailingState.Sending, null, T0, Ct);
        Assert.Null(resumed!.PausedCode);

        for (var i = 0; i < 2; i++)
        {
            var c = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;
            Assert.True(await store.CompleteAsync(c, c.Delivery with { Status = DeliveryStatus.Failed, Reason = "x" }, 2, T0, Ct));
        }
        var streak = (await store.GetAsync(m.Id, Ct))!;
        Assert.Equal(MailingState.Paused, streak.State);
        Assert.Equal(PauseCodes.FailureStreak, streak.PausedCode);
        Assert.Equal("2", streak.PausedArgs!["count"]);

        var (signIn, _) = await store.TransitionAsync(m.Id, [MailingState.Paused], MailingState.Paused, "Sign-in refused", T0, Ct,
            PauseCodes.SignInRefused, new Dictionary<string, string> { ["mailbox"] = "alice@example.com", ["entraCode"] = "AADSTS50173" });
        Assert.Equal("AADSTS50173", signIn!.PausedArgs!["entraCode"]);
    }

    [Fact]
    [Covers(nameof(IMailingStore.RecordErrorAsync), nameof(IMailingStore.GetFiguresAsync))]
    public async Task The_last_transient_error_is_kept_until_a_message_is_sent_and_skips_on_completion_are_counted()
    {
        var (store, m) = await QueuedAsync(CreateStore(), 3);
        Assert.Null((await store.GetFiguresAsync(m.Id, Ct)).LastError);
        var error = new MailingError("ServiceUnavailable", "Try later", T0, T0.AddSeconds(4));
        await store.RecordErrorAsync(m.Id, error, Ct);
        Assert.Equal(error, (await store.GetFiguresAsync(m.Id, Ct)).LastError);

        var skipped = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;
        Assert.True(await store.CompleteAsync(skipped, skipped.Delivery with { Status = DeliveryStatus.Skipped, ReasonCode = ReasonCodes.RecordGone }, 10, T0, Ct));
        Assert.Equal(error, (await store.GetFiguresAsync(m.Id, Ct)).LastError);
        var sent = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;
        Assert.True(await store.CompleteAsync(sent, sent.Delivery with { Status = DeliveryStatus.Sent, SentAt = T0 }, 10, T0, Ct));

        var figures = await store.GetFiguresAsync(m.Id, Ct);
        Assert.Null(figures.LastError);
        Assert.Equal(1, figures.SkippedByReason[ReasonCodes.RecordGone]);
    }

    [Fact]
    [Covers(nameof(IMailingStore.ClaimAsync), nameof(IMailingStore.CompleteAsync))]
    public async Task Parallel_claimers_get_each_delivery_exactly_once()
    {
        var (store, m) = await QueuedAsync(CreateStore(), 300);
        var seen = new System.Collections.Concurrent.ConcurrentBag<int>();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while ((await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim is { } c)
            {
                seen.Add(c.Delivery.Seq);
                Assert.True(await store.CompleteAsync(c, c.Delivery with { Status = DeliveryStatus.Sent }, 10, T0, Ct));
            }
        }, Ct)));

        Assert.Equal(Enumerable.Range(1, 300), seen.Order());
        Assert.Equal(300, (await store.GetCountsAsync(m.Id, Ct)).Sent);
        Assert.Equal(MailingState.Completed, (await store.GetAsync(m.Id, Ct))!.State);
    }

    [Fact]
    [Covers(nameof(IMailingStore.DeleteAsync), nameof(IMailingStore.SaveAttachmentsAsync), nameof(IMailingStore.GetAttachmentsAsync), nameof(IMailingStore.WatchBouncesAsync), nameof(IMailingStore.BounceWatchesAsync), nameof(IMailingStore.TryLeaseFollowUpsAsync))]
    public async Task Delete_removes_a_final_or_held_mailing_with_everything_of_it_and_refuses_a_running_one()
    {
        var store = CreateStore();
        var m = await store.CreateAsync(NewMailing("key-del"), Ct);
        await store.SaveAttachmentsAsync(m.Id, [new MailAttachment("a.pdf", "application/pdf", [1, 2, 3])], Ct);
        Assert.True(await store.TryLeaseExpansionAsync(m.Id, "x", Lease, T0, Ct));
        Assert.True(await store.AppendDeliveriesAsync(m.Id, "x", 0, 3, NewDeliveries(1, 3), true, T0, Ct));
        var claim = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;
        var other = await store.CreateAsync(NewMailing(), Ct); // untouched by the deletion

        // Sending (a lease is out): not deletable, nothing removed
        Assert.Equal(MailingDeletion.NotDeletable, await store.DeleteAsync(m.Id, Ct));
        Assert.Equal(3, (await store.GetCountsAsync(m.Id, Ct)).Total);
        // Cancelled while a delivery is still out: not yet (finishedAt comes when the lease is given back)
        await store.TransitionAsync(m.Id, [MailingState.Sending], MailingState.Cancelled, null, T0, Ct);
        await store.CancelQueuedAsync(m.Id, T0, Ct);
        Assert.Equal(MailingDeletion.NotDeletable, await store.DeleteAsync(m.Id, Ct));
        Assert.True(await store.CompleteAsync(claim, claim.Delivery with { Status = DeliveryStatus.Sent }, 10, T0, Ct, followUp: true));
        await store.WatchBouncesAsync(m.Id, T0.AddDays(2), Ct);
        Assert.NotNull((await store.GetAsync(m.Id, Ct))!.FinishedAt);

        Assert.Equal(MailingDeletion.Deleted, await store.DeleteAsync(m.Id, Ct));

        Assert.Null(await store.GetAsync(m.Id, Ct));
        Assert.Null(await store.FindByIdempotencyKeyAsync("alice@example.com", "key-del", Ct));
        Assert.Equal([other.Id], (await store.ListAsync("alice@example.com", 10, Ct)).Select(x => x.Id));
        Assert.Equal(0, (await store.GetCountsAsync(m.Id, Ct)).Total);
        Assert.Equal(0, (await store.GetCountsAsync(m.Id, Ct)).FollowUpsPending);
        Assert.Empty(await store.GetAttachmentsAsync(m.Id, Ct));
        Assert.Null(await store.GetDeliveryAsync(m.Id, 1, Ct));
        Assert.Empty(await store.ReadDeliveriesAsync(m.Id, Ct).ToListAsync(Ct));
        Assert.Empty((await store.GetFiguresAsync(m.Id, Ct)).SkippedByReason);
        Assert.DoesNotContain(m.Id, await store.BounceWatchesAsync(T0, Ct));
        Assert.DoesNotContain(m.Id, await store.ActiveMailingIdsAsync(Ct));
        Assert.Equal(MailingDeletion.NotFound, await store.DeleteAsync(m.Id, Ct));
        // a worker still holding the mailing's id changes nothing and brings nothing back
        Assert.False(await store.TryLeaseExpansionAsync(m.Id, "y", Lease, T0, Ct));
        Assert.False(await store.TryLeaseFollowUpsAsync(m.Id, "y", Lease, T0, Ct));
        Assert.Equal(0, await store.CancelQueuedAsync(m.Id, T0, Ct));
        Assert.Equal(0, await store.RequeueFailedAsync(m.Id, T0, Ct));
        Assert.Null(await store.GetAsync(m.Id, Ct));
        // the idempotency key is free again: the same key makes a new mailing
        Assert.NotEqual(m.Id, (await store.CreateAsync(NewMailing("key-del"), Ct)).Id);
        Assert.NotNull(await store.GetAsync(other.Id, Ct));
    }

    [Fact]
    [Covers(nameof(IMailingStore.DeleteAsync))]
    public async Task Delete_takes_a_held_mailing_while_preparing_or_ready_but_not_one_preparing_to_send()
    {
        var store = CreateStore();
        var preparing = await store.CreateAsync(NewMailing(), Ct);
        var heldPreparing = await store.CreateAsync(NewMailing() with { Held = true }, Ct);
        var ready = await store.CreateAsync(NewMailing() with { Held = true }, Ct);
        Assert.True(await store.TryLeaseExpansionAsync(ready.Id, "x", Lease, T0, Ct));
        Assert.True(await store.AppendDeliveriesAsync(ready.Id, "x", 0, 2, NewDeliveries(1, 2), true, T0, Ct));
        Assert.Equal(MailingState.Ready, (await store.GetAsync(ready.Id, Ct))!.State);
        Assert.True(await store.TryLeaseExpansionAsync(heldPreparing.Id, "x", Lease, T0, Ct));

        Assert.Equal(MailingDeletion.NotDeletable, await store.DeleteAsync(preparing.Id, Ct));
        Assert.Equal(MailingDeletion.Deleted, await store.DeleteAsync(heldPreparing.Id, Ct));
        Assert.Equal(MailingDeletion.Deleted, await store.DeleteAsync(ready.Id, Ct));

        // the expansion that was under way finds its mailing gone and stores nothing
        Assert.False(await store.AppendDeliveriesAsync(heldPreparing.Id, "x", 0, 2, NewDeliveries(1, 2), true, T0, Ct));
        Assert.Null(await store.GetAsync(heldPreparing.Id, Ct));
        Assert.Equal([preparing.Id], (await store.ListAsync("alice@example.com", 10, Ct)).Select(x => x.Id));
    }

    [Fact]
    [Covers(nameof(IMailingStore.SaveAttachmentsAsync), nameof(IMailingStore.GetAttachmentsAsync))]
    public async Task Attachments_are_stored_once_and_read_back_byte_for_byte()
    {
        var store = CreateStore();
        var m = NewMailing();
        byte[] pdf = [0x25, 0x50, 0x44, 0x46, 0, 255, 1];
        await store.SaveAttachmentsAsync(m.Id, [new MailAttachment("案内.pdf", "application/pdf", pdf), new MailAttachment("b.txt", "text/plain", [])], Ct);
        // a racing submit with the same idempotency key stores its files second: nothing changes
        await store.SaveAttachmentsAsync(m.Id, [new MailAttachment("other.pdf", "application/pdf", [9])], Ct);
        await store.CreateAsync(m, Ct);

        var files = await store.GetAttachmentsAsync(m.Id, Ct);
        Assert.Equal(["案内.pdf", "b.txt"], files.Select(f => f.Name));
        Assert.Equal(["application/pdf", "text/plain"], files.Select(f => f.ContentType));
        Assert.Equal(pdf, files[0].Content);
        Assert.Empty(files[1].Content);
        Assert.Empty(await store.GetAttachmentsAsync(NewMailing().Id, Ct));
    }

    [Fact]
    [Covers(nameof(IMailingStore.CompleteAsync), nameof(IMailingStore.TryLeaseFollowUpsAsync), nameof(IMailingStore.DueFollowUpsAsync),
        nameof(IMailingStore.NextFollowUpAtAsync), nameof(IMailingStore.RecordFollowUpsAsync), nameof(IMailingStore.ActiveMailingIdsAsync))]
    public async Task Follow_ups_of_sent_deliveries_come_due_in_order_are_retried_and_hold_the_mailing_open_until_written()
    {
        var (store, m) = await QueuedAsync(CreateStore(), 3);
        for (var i = 0; i < 3; i++)
        {
            var c = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;
            var status = i < 2 ? DeliveryStatus.Sent : DeliveryStatus.Failed; // a failure has no follow-up
            Assert.True(await store.CompleteAsync(c, c.Delivery with { Status = status }, 10, T0.AddSeconds(i), Ct, followUp: true));
        }

        Assert.Equal(MailingState.Sending, (await store.GetAsync(m.Id, Ct))!.State); // sent, but the HRBC writes are not
        Assert.Equal(2, (await store.GetCountsAsync(m.Id, Ct)).FollowUpsPending);
        Assert.Equal(T0, await store.NextFollowUpAtAsync(m.Id, Ct));
        Assert.Equal([1], (await store.DueFollowUpsAsync(m.Id, 10, T0, Ct)).Select(d => d.Seq));
        Assert.Equal([1, 2], (await store.DueFollowUpsAsync(m.Id, 10, T0.AddSeconds(5), Ct)).Select(d => d.Seq));
        Assert.Equal([1], (await store.DueFollowUpsAsync(m.Id, 1, T0.AddSeconds(5), Ct)).Select(d => d.Seq));

        Assert.True(await store.TryLeaseFollowUpsAsync(m.Id, "a", Lease, T0, Ct));
        Assert.False(await store.TryLeaseFollowUpsAsync(m.Id, "b", Lease, T0.AddSeconds(30), Ct));
        var done = new FollowUpOutcome(1, "Phase set to 応募", 1, null, new FollowUpProgress("応募", 42, true))
        {
            Codes = [new CodedText(nameof(PhaseUpdateCode.PhaseUpdated), new Dictionary<string, string> { ["phase"] = "応募" })],
        };
        var retry = new FollowUpOutcome(2, "HRBC busy; retrying", 1, T0.AddMinutes(1), new FollowUpProgress(null, 43, false));
        Assert.False(await store.RecordFollowUpsAsync(m.Id, "b", [done, retry], T0, Ct)); // not the lease holder
        Assert.True(await store.RecordFollowUpsAsync(m.Id, "a", [done, retry], T0.AddSeconds(6), Ct));

        var first = (await store.GetDeliveryAsync(m.Id, 1, Ct))!;
        Assert.Equal(("Phase set to 応募", 1, DeliveryStatus.Sent), (first.PhaseUpdate, first.FollowUpAttempts, first.Status));
        Assert.Equal(new FollowUpProgress("応募", 42, true), first.FollowUp);
        Assert.Equal("応募", Assert.Single(first.PhaseUpdateCodes!).Args["phase"]);
        var second = (await store.GetDeliveryAsync(m.Id, 2, Ct))!;
        Assert.Equal((1, 43L), (second.FollowUpAttempts, second.FollowUp!.ProcessId));
        Assert.Null(second.PhaseUpdateCodes); // no codes: null, never an empty object
        Assert.Equal(T0.AddMinutes(1), await store.NextFollowUpAtAsync(m.Id, Ct));
        Assert.Empty(await store.DueFollowUpsAsync(m.Id, 10, T0.AddSeconds(30), Ct));
        Assert.Equal(MailingState.Sending, (await store.GetAsync(m.Id, Ct))!.State);
        Assert.Contains(m.Id, await store.ActiveMailingIdsAsync(Ct));

        // the lease passes on once it expires; the last follow-up written completes the mailing
        Assert.True(await store.TryLeaseFollowUpsAsync(m.Id, "b", Lease, T0.AddMinutes(2), Ct));
        Assert.False(await store.RecordFollowUpsAsync(m.Id, "a", [retry with { RetryAt = null }], T0.AddMinutes(2), Ct));
        Assert.True(await store.RecordFollowUpsAsync(m.Id, "b", [retry with { RetryAt = null, Attempts = 2 }], T0.AddMinutes(2), Ct));

        var completed = (await store.GetAsync(m.Id, Ct))!;
        Assert.Equal((MailingState.Completed, T0.AddMinutes(2)), (completed.State, completed.FinishedAt));
        Assert.Null(await store.NextFollowUpAtAsync(m.Id, Ct));
        Assert.Equal(0, (await store.GetCountsAsync(m.Id, Ct)).FollowUpsPending);
        Assert.DoesNotContain(m.Id, await store.ActiveMailingIdsAsync(Ct));
    }

    [Fact]
    [Covers(nameof(IMailingStore.WatchBouncesAsync), nameof(IMailingStore.BounceWatchesAsync))]
    public async Task Bounce_watches_last_until_their_time_and_a_new_watch_replaces_the_old()
    {
        var store = CreateStore();
        var (a, b, c) = (NewMailing().Id, NewMailing().Id, NewMailing().Id);
        await store.WatchBouncesAsync(a, T0.AddDays(1), Ct);
        await store.WatchBouncesAsync(b, T0.AddDays(2), Ct);
        await store.WatchBouncesAsync(c, T0.AddHours(1), Ct);
        await store.WatchBouncesAsync(c, T0.AddDays(3), Ct); // watched again: the later time counts

        Assert.Equal(new[] { a, b, c }.Order(), (await store.BounceWatchesAsync(T0, Ct)).Order());
        Assert.Equal(new[] { b, c }.Order(), (await store.BounceWatchesAsync(T0.AddDays(1), Ct)).Order());
        Assert.Equal([c], await store.BounceWatchesAsync(T0.AddDays(2).AddSeconds(1), Ct));
        // expired watches were dropped, not just hidden
        Assert.Equal([c], await store.BounceWatchesAsync(T0, Ct));
    }

    [Fact]
    [Covers(nameof(IMailingStore.ClaimIdempotencyKeyAsync), nameof(IMailingStore.CreateAsync), nameof(IMailingStore.FindByIdempotencyKeyAsync))]
    public async Task The_first_claim_of_an_idempotency_key_wins_and_the_mailing_is_stored_under_its_id()
    {
        var store = CreateStore();
        var first = NewMailing("key-c");
        var second = NewMailing("key-c");

        Assert.Equal(first.Id, await store.ClaimIdempotencyKeyAsync(first.Owner, "key-c", first.Id, Ct));
        Assert.Equal(first.Id, await store.ClaimIdempotencyKeyAsync(second.Owner, "key-c", second.Id, Ct));
        Assert.Equal("m-bob", await store.ClaimIdempotencyKeyAsync("bob@example.com", "key-c", "m-bob", Ct));
        Assert.Null(await store.FindByIdempotencyKeyAsync(first.Owner, "key-c", Ct)); // claimed, not stored yet

        // the second submit stores first (the first claimant died): it takes the claimed id
        var stored = await store.CreateAsync(second, Ct);
        Assert.Equal(first.Id, stored.Id);
        Assert.Equal(first.Id, (await store.FindByIdempotencyKeyAsync(first.Owner, "key-c", Ct))!.Id);
        Assert.Equal(first.Id, (await store.CreateAsync(first, Ct)).Id);
        Assert.Single(await store.ListAsync(first.Owner, 10, Ct));
    }

    [Fact]
    [Covers(nameof(IMailingStore.CountRunningAsync), nameof(IMailingStore.StartAsync), nameof(IMailingStore.TransitionAsync),
        nameof(IMailingStore.RequeueFailedAsync), nameof(IMailingStore.CancelQueuedAsync), nameof(IMailingStore.DeleteAsync))]
    public async Task Running_mailings_are_counted_per_owner_through_every_state_change()
    {
        const string alice = "alice@example.com", bob = "bob@example.com";
        var (store, m) = await QueuedAsync(CreateStore(), 1);
        Assert.Equal(1, await store.CountRunningAsync(alice, Ct));
        Assert.Equal(0, await store.CountRunningAsync(bob, Ct));

        var held = await store.CreateAsync(NewMailing() with { Held = true }, Ct);
        Assert.Equal(1, await store.CountRunningAsync(alice, Ct)); // held: waits for Start, not running
        Assert.True(await store.TryLeaseExpansionAsync(held.Id, "x", Lease, T0, Ct));
        Assert.True(await store.AppendDeliveriesAsync(held.Id, "x", 0, 1, NewDeliveries(1, 1), true, T0, Ct));
        Assert.Equal(1, await store.CountRunningAsync(alice, Ct)); // Ready
        Assert.True((await store.StartAsync(held.Id, T0, Ct)).Changed);
        Assert.Equal(2, await store.CountRunningAsync(alice, Ct));
        await store.CreateAsync(NewMailing(owner: bob), Ct);
        Assert.Equal((2, 1), (await store.CountRunningAsync(alice, Ct), await store.CountRunningAsync(bob, Ct)));

        var c = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;
        Assert.True(await store.CompleteAsync(c, c.Delivery with { Status = DeliveryStatus.Failed }, 10, T0, Ct));
        Assert.Equal(MailingState.Completed, (await store.GetAsync(m.Id, Ct))!.State);
        Assert.Equal(1, await store.CountRunningAsync(alice, Ct));
        Assert.Equal(1, await store.RequeueFailedAsync(m.Id, T0, Ct)); // Completed → Sending: running again
        Assert.Equal(2, await store.CountRunningAsync(alice, Ct));
        Assert.True((await store.TransitionAsync(m.Id, [MailingState.Sending], MailingState.Paused, "Paused by the user.", T0, Ct, PauseCodes.PausedByUser)).Changed);
        Assert.Equal(2, await store.CountRunningAsync(alice, Ct)); // paused still counts

        Assert.True((await store.TransitionAsync(held.Id, [MailingState.Queued], MailingState.Cancelled, null, T0, Ct)).Changed);
        await store.CancelQueuedAsync(held.Id, T0, Ct);
        Assert.Equal(1, await store.CountRunningAsync(alice, Ct));
        Assert.True((await store.TransitionAsync(m.Id, [MailingState.Paused], MailingState.Cancelled, null, T0, Ct)).Changed);
        Assert.Equal(1, await store.CancelQueuedAsync(m.Id, T0, Ct));
        Assert.Equal(0, await store.CountRunningAsync(alice, Ct));
        Assert.Equal(MailingDeletion.Deleted, await store.DeleteAsync(m.Id, Ct));
        Assert.Equal((0, 1), (await store.CountRunningAsync(alice, Ct), await store.CountRunningAsync(bob, Ct)));
    }

    [Fact]
    [Covers(nameof(IMailingStore.FindDeliveryByRecordAsync), nameof(IMailingStore.AppendDeliveriesAsync), nameof(IMailingStore.DeleteAsync))]
    public async Task A_delivery_is_found_by_its_record_the_first_one_when_the_record_has_several()
    {
        var store = CreateStore();
        var m = await store.CreateAsync(NewMailing(), Ct);
        Assert.True(await store.TryLeaseExpansionAsync(m.Id, "x", Lease, T0, Ct));
        var page1 = NewDeliveries(1, 3);
        page1[2] = page1[2] with { RecordId = page1[0].RecordId, MailField = "Resume.P_Mail2" }; // one record, two addresses
        Assert.True(await store.AppendDeliveriesAsync(m.Id, "x", 0, 3, page1, false, T0, Ct));
        List<Delivery> page2 = [Skip(4, ReasonCodes.NoAddress) with { RecordId = 9_007_199_254_740_993 }, .. NewDeliveries(5, 1)];
        Assert.True(await store.AppendDeliveriesAsync(m.Id, "x", 3, 5, page2, true, T0, Ct));

        Assert.Equal(1, (await store.FindDeliveryByRecordAsync(m.Id, page1[0].RecordId, Ct))!.Seq);
        Assert.Equal(2, (await store.FindDeliveryByRecordAsync(m.Id, page1[1].RecordId, Ct))!.Seq);
        var skipped = (await store.FindDeliveryByRecordAsync(m.Id, 9_007_199_254_740_993, Ct))!;
        Assert.Equal((4, DeliveryStatus.Skipped), (skipped.Seq, skipped.Status));
        Assert.Equal(5, (await store.FindDeliveryByRecordAsync(m.Id, 10005, Ct))!.Seq);
        Assert.Null(await store.FindDeliveryByRecordAsync(m.Id, 99999, Ct));
        Assert.Null(await store.FindDeliveryByRecordAsync(NewMailing().Id, 10001, Ct));
        // the index goes with the mailing
        await store.TransitionAsync(m.Id, [MailingState.Queued], MailingState.Cancelled, null, T0, Ct);
        await store.CancelQueuedAsync(m.Id, T0, Ct);
        Assert.Equal(MailingDeletion.Deleted, await store.DeleteAsync(m.Id, Ct));
        Assert.Null(await store.FindDeliveryByRecordAsync(m.Id, page1[0].RecordId, Ct));
    }

    // ---- scheduling and undo

    private static async Task<Mailing> ReadyAsync(IMailingStore store, int count)
    {
        var m = await store.CreateAsync(NewMailing() with { Held = true }, Ct);
        Assert.True(await store.TryLeaseExpansionAsync(m.Id, "x", Lease, T0, Ct));
        Assert.True(await store.AppendDeliveriesAsync(m.Id, "x", 0, count, NewDeliveries(1, count), true, T0, Ct));
        Assert.Equal(MailingState.Ready, (await store.GetAsync(m.Id, Ct))!.State);
        return m;
    }

    private static MailingSchedule At(DateTimeOffset notBefore, string stamp = "s1", DateTimeOffset? undoUntil = null) => new()
    {
        SendAt = notBefore, NotBefore = notBefore, Stamp = stamp, UndoUntil = undoUntil,
        Window = new SendingWindow(["Mon", "Fri"], "09:00", "18:00", "Asia/Tokyo", true),
    };

    [Fact]
    [Covers(nameof(IMailingStore.ScheduleAsync), nameof(IMailingStore.PromoteAsync), nameof(IMailingStore.ClaimAsync), nameof(IMailingStore.ActiveMailingIdsAsync),
        nameof(IMailingStore.GetAsync))]
    public async Task A_scheduled_mailing_is_stored_with_its_schedule_claimable_only_once_promoted_and_promoted_once()
    {
        var store = CreateStore();
        var m = await ReadyAsync(store, 3);
        var due = T0.AddHours(10);
        var (scheduled, changed) = await store.ScheduleAsync(m.Id, At(due, undoUntil: T0.AddSeconds(30)), T0, Ct);
        Assert.True(changed);
        Assert.Equal(MailingState.Scheduled, scheduled!.State);
        Assert.False(scheduled.Held);
        var stored = (await store.GetAsync(m.Id, Ct))!;
        Assert.Equal(At(due, undoUntil: T0.AddSeconds(30)) with { Window = null }, stored.Schedule! with { Window = null });
        Assert.Equal(["Mon", "Fri"], stored.Schedule!.Window!.Days);
        Assert.Equal(("09:00", "18:00", "Asia/Tokyo", true), (stored.Schedule.Window.From, stored.Schedule.Window.To, stored.Schedule.Window.TimeZone, stored.Schedule.Window.SkipHolidays));
        Assert.Contains(m.Id, await store.ActiveMailingIdsAsync(Ct)); // any worker looks at it
        Assert.Equal(new ClaimResult(null, null), await store.ClaimAsync(m.Id, Lease, due.AddDays(1), Ct)); // Scheduled: never claimable

        Assert.False(await store.PromoteAsync(m.Id, "s1", null, due.AddMilliseconds(-1), Ct)); // not yet
        Assert.False(await store.PromoteAsync(m.Id, "other", null, due, Ct)); // not by another schedule
        var racing = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => store.PromoteAsync(m.Id, "s1", due.AddHours(8), due, Ct)));
        Assert.Equal(1, racing.Count(p => p)); // one worker promotes
        var queued = (await store.GetAsync(m.Id, Ct))!;
        Assert.Equal((MailingState.Queued, due.AddHours(8)), (queued.State, queued.OpenUntil));
        Assert.Equal(new ClaimResult(null, null), await store.ClaimAsync(m.Id, Lease, due.AddMilliseconds(-1), Ct)); // a clock behind
        Assert.NotNull((await store.ClaimAsync(m.Id, Lease, due, Ct)).Claim);
        Assert.Equal(new ClaimResult(null, null), await store.ClaimAsync(m.Id, Lease, due.AddHours(8), Ct)); // the opening has ended
        Assert.False(await store.PromoteAsync(m.Id, "s1", null, due, Ct)); // not Scheduled any more
    }

    [Fact]
    [Covers(nameof(IMailingStore.ParkAsync), nameof(IMailingStore.PromoteAsync), nameof(IMailingStore.CompleteAsync))]
    public async Task At_the_end_of_its_opening_a_mailing_goes_back_to_scheduled_and_what_was_in_flight_finishes_once()
    {
        var store = CreateStore();
        var m = await ReadyAsync(store, 3);
        Assert.True((await store.ScheduleAsync(m.Id, At(T0), T0, Ct)).Changed);
        var closes = T0.AddHours(1);
        Assert.True(await store.PromoteAsync(m.Id, "s1", closes, T0, Ct));
        var first = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;
        var inFlight = (await store.ClaimAsync(m.Id, TimeSpan.FromHours(2), T0.AddSeconds(1), Ct)).Claim!;
        Assert.True(await store.CompleteAsync(first, first.Delivery with { Status = DeliveryStatus.Sent, SentAt = T0 }, 10, T0, Ct));

        Assert.False(await store.ParkAsync(m.Id, closes.AddMilliseconds(-1), Ct)); // still open
        Assert.True(await store.ParkAsync(m.Id, closes, Ct));
        Assert.False(await store.ParkAsync(m.Id, closes, Ct));
        Assert.Equal(MailingState.Scheduled, (await store.GetAsync(m.Id, Ct))!.State);
        Assert.Equal(new ClaimResult(null, null), await store.ClaimAsync(m.Id, Lease, closes, Ct));
        // the delivery in flight finishes under its lease; nothing new was claimed
        Assert.True(await store.CompleteAsync(inFlight, inFlight.Delivery with { Status = DeliveryStatus.Sent, SentAt = closes }, 10, closes, Ct));
        Assert.Equal(new MailingCounts(3, 2, 0, 0, 0, 0), await store.GetCountsAsync(m.Id, Ct));
        Assert.Equal(MailingState.Scheduled, (await store.GetAsync(m.Id, Ct))!.State);
        // it has sent: no new schedule, no undo
        Assert.False((await store.ScheduleAsync(m.Id, At(T0.AddDays(1), "s2"), closes, Ct)).Changed);
        Assert.False((await store.UndoAsync(m.Id, closes, Ct)).Changed);

        // the next opening: the last one goes, and it completes
        var next = T0.AddDays(1);
        Assert.True(await store.PromoteAsync(m.Id, "s1", next.AddHours(1), next, Ct));
        var last = (await store.ClaimAsync(m.Id, Lease, next, Ct)).Claim!;
        Assert.Equal(3, last.Delivery.Seq);
        Assert.True(await store.CompleteAsync(last, last.Delivery with { Status = DeliveryStatus.Sent, SentAt = next }, 10, next, Ct));
        Assert.Equal(MailingState.Completed, (await store.GetAsync(m.Id, Ct))!.State);
        Assert.False(await store.ParkAsync(m.Id, next.AddHours(2), Ct));

        // a mailing whose queue is empty at the end of its opening is not parked: its last delivery completes it
        var two = await ReadyAsync(store, 1);
        Assert.True((await store.ScheduleAsync(two.Id, At(T0, "t"), T0, Ct)).Changed);
        Assert.True(await store.PromoteAsync(two.Id, "t", closes, T0, Ct));
        var only = (await store.ClaimAsync(two.Id, TimeSpan.FromHours(2), T0, Ct)).Claim!;
        Assert.False(await store.ParkAsync(two.Id, closes, Ct));
        Assert.True(await store.CompleteAsync(only, only.Delivery with { Status = DeliveryStatus.Sent, SentAt = closes }, 10, closes, Ct));
        Assert.Equal(MailingState.Completed, (await store.GetAsync(two.Id, Ct))!.State);
    }

    [Fact]
    [Covers(nameof(IMailingStore.ScheduleAsync), nameof(IMailingStore.PromoteAsync))]
    public async Task A_schedule_is_replaced_only_while_nothing_was_handed_over_and_the_old_one_no_longer_promotes()
    {
        var store = CreateStore();
        var m = await ReadyAsync(store, 2);
        Assert.False((await store.ScheduleAsync(NewMailing().Id, At(T0), T0, Ct)).Changed); // no such mailing
        Assert.True((await store.ScheduleAsync(m.Id, At(T0.AddHours(1), "old"), T0, Ct)).Changed);
        var (moved, changed) = await store.ScheduleAsync(m.Id, At(T0.AddHours(2), "new"), T0, Ct);
        Assert.True(changed);
        Assert.Equal(T0.AddHours(2), moved!.Schedule!.NotBefore);
        Assert.False(await store.PromoteAsync(m.Id, "old", null, T0.AddHours(1), Ct));
        Assert.False(await store.PromoteAsync(m.Id, "new", null, T0.AddHours(1), Ct));
        Assert.True(await store.PromoteAsync(m.Id, "new", null, T0.AddHours(2), Ct));
        Assert.Null((await store.GetAsync(m.Id, Ct))!.OpenUntil);
        Assert.NotNull((await store.ClaimAsync(m.Id, Lease, T0.AddDays(30), Ct)).Claim); // no window: no end

        // a mailing that is not Ready (Preparing, Queued) cannot be scheduled
        var plain = await store.CreateAsync(NewMailing(), Ct);
        Assert.False((await store.ScheduleAsync(plain.Id, At(T0), T0, Ct)).Changed);
        var (_, queued) = await QueuedAsync(store, 1);
        Assert.False((await store.ScheduleAsync(queued.Id, At(T0), T0, Ct)).Changed);

        // nothing left to send: it completes when promoted
        var empty = await store.CreateAsync(NewMailing() with { Held = true }, Ct);
        Assert.True(await store.TryLeaseExpansionAsync(empty.Id, "x", Lease, T0, Ct));
        Assert.True(await store.AppendDeliveriesAsync(empty.Id, "x", 0, 1, [Skip(1, ReasonCodes.NoAddress)], true, T0, Ct));
        Assert.True((await store.ScheduleAsync(empty.Id, At(T0, "e"), T0, Ct)).Changed);
        Assert.True(await store.PromoteAsync(empty.Id, "e", null, T0.AddSeconds(1), Ct));
        Assert.Equal(MailingState.Completed, (await store.GetAsync(empty.Id, Ct))!.State);
    }

    [Fact]
    [Covers(nameof(IMailingStore.UndoAsync), nameof(IMailingStore.ClaimAsync), nameof(IMailingStore.PromoteAsync))]
    public async Task Undo_cancels_every_delivery_only_inside_the_undo_window_and_then_nothing_is_claimable()
    {
        var store = CreateStore();
        var m = await ReadyAsync(store, 3);
        Assert.False((await store.UndoAsync(m.Id, T0, Ct)).Changed); // Ready: not started
        var undoUntil = T0.AddSeconds(30);
        Assert.True((await store.ScheduleAsync(m.Id, At(undoUntil, undoUntil: undoUntil), T0, Ct)).Changed);
        Assert.False((await store.UndoAsync(m.Id, undoUntil, Ct)).Changed); // at its end it is over
        var (undone, changed) = await store.UndoAsync(m.Id, undoUntil.AddMilliseconds(-1), Ct);
        Assert.True(changed);
        Assert.Equal((MailingState.Cancelled, undoUntil.AddMilliseconds(-1)), (undone!.State, undone.FinishedAt));
        Assert.Equal(new MailingCounts(3, 0, 0, 0, 0, 3), await store.GetCountsAsync(m.Id, Ct));
        await foreach (var d in store.ReadDeliveriesAsync(m.Id, Ct))
        {
            Assert.Equal((DeliveryStatus.Cancelled, ReasonCodes.CancelledBeforeSend), (d.Status, d.ReasonCode));
        }
        // the worker that was about to promote and claim cannot
        Assert.False(await store.PromoteAsync(m.Id, "s1", null, undoUntil, Ct));
        Assert.Equal(new ClaimResult(null, null), await store.ClaimAsync(m.Id, Lease, undoUntil, Ct));
        Assert.False((await store.UndoAsync(m.Id, T0, Ct)).Changed);

        // promoted (the undo window is over): too late
        var late = await ReadyAsync(store, 1);
        Assert.True((await store.ScheduleAsync(late.Id, At(undoUntil, "l", undoUntil), T0, Ct)).Changed);
        Assert.True(await store.PromoteAsync(late.Id, "l", null, undoUntil, Ct));
        Assert.False((await store.UndoAsync(late.Id, T0, Ct)).Changed);
        Assert.False((await store.UndoAsync(NewMailing().Id, T0, Ct)).Changed);
        // clocks apart: an undo at 29.999 s and a promotion at 30 s race; exactly one wins, and after an undo nothing is claimable
        for (var round = 0; round < 10; round++)
        {
            var raced = await ReadyAsync(store, 2);
            Assert.True((await store.ScheduleAsync(raced.Id, At(undoUntil, "r", undoUntil), T0, Ct)).Changed);
            var undoing = store.UndoAsync(raced.Id, undoUntil.AddMilliseconds(-1), Ct);
            var promoting = store.PromoteAsync(raced.Id, "r", null, undoUntil, Ct);
            var (won, promoted) = ((await undoing).Changed, await promoting);
            Assert.True(won ^ promoted, $"round {round}: exactly one of undo and promote");
            var claim = await store.ClaimAsync(raced.Id, Lease, undoUntil, Ct);
            Assert.Equal(promoted, claim.Claim is not null);
            Assert.Equal(won ? 2 : 0, (await store.GetCountsAsync(raced.Id, Ct)).Cancelled);
        }
        // without an undo window there is nothing to undo
        var none = await ReadyAsync(store, 1);
        Assert.True((await store.ScheduleAsync(none.Id, At(T0.AddHours(1), "n"), T0, Ct)).Changed);
        Assert.False((await store.UndoAsync(none.Id, T0, Ct)).Changed);
    }

    // ---- replies (the Inbox reader)

    [Fact]
    [Covers(nameof(IMailingStore.MarkRepliedAsync))]
    public async Task A_reply_is_marked_and_counted_once()
    {
        var (store, m) = await QueuedAsync(CreateStore(), 2);
        var c = (await store.ClaimAsync(m.Id, Lease, T0, Ct)).Claim!;
        await store.CompleteAsync(c, c.Delivery with { Status = DeliveryStatus.Sent, SentAt = T0, InternetMessageId = "<a@b>", ConversationId = "AAQk1" }, 10, T0, Ct);
        var sent = (await store.GetDeliveryAsync(m.Id, c.Delivery.Seq, Ct))!;

        Assert.True(await store.MarkRepliedAsync(m.Id, sent with { RepliedAt = T0.AddHours(1) }, Ct));
        Assert.False(await store.MarkRepliedAsync(m.Id, sent with { RepliedAt = T0.AddHours(2) }, Ct)); // a second reply changes nothing
        Assert.False(await store.MarkRepliedAsync(m.Id, NewDeliveries(99, 1)[0] with { RepliedAt = T0 }, Ct)); // no such delivery

        var stored = (await store.GetDeliveryAsync(m.Id, c.Delivery.Seq, Ct))!;
        Assert.Equal(T0.AddHours(1), stored.RepliedAt);
        Assert.Equal(("<a@b>", "AAQk1"), (stored.InternetMessageId, stored.ConversationId));
        Assert.Equal(1, (await store.GetCountsAsync(m.Id, Ct)).Replied);
        Assert.Equal(DeliveryStatus.Sent, stored.Status);
        // the follow-up progress is recorded on the delivery without moving any counter
        await store.UpdateDeliveryAsync(m.Id, stored with { InboxFollowUp = new InboxFollowUp(true, true, false, 0), BounceKind = BounceKind.Hard }, Ct);
        var again = (await store.GetDeliveryAsync(m.Id, c.Delivery.Seq, Ct))!;
        Assert.Equal(new InboxFollowUp(true, true, false, 0), again.InboxFollowUp);
        Assert.Equal(BounceKind.Hard, again.BounceKind);
        Assert.Equal(1, (await store.GetCountsAsync(m.Id, Ct)).Replied);
    }

    [Fact]
    [Covers(nameof(IMailingStore.GetInboxWatermarkAsync), nameof(IMailingStore.SetInboxWatermarkAsync))]
    public async Task An_inbox_watermark_per_mailbox_only_moves_forward()
    {
        var store = CreateStore();
        var mailbox = $"{Guid.NewGuid():N}@example.com";
        Assert.Null(await store.GetInboxWatermarkAsync(mailbox, Ct));
        await store.SetInboxWatermarkAsync(mailbox, T0.AddMinutes(5), Ct);
        await store.SetInboxWatermarkAsync(mailbox, T0.AddMinutes(2), Ct); // an older pass never moves it back
        Assert.Equal(T0.AddMinutes(5), await store.GetInboxWatermarkAsync(mailbox, Ct));
        Assert.Equal(T0.AddMinutes(5), await store.GetInboxWatermarkAsync(mailbox.ToUpperInvariant(), Ct)); // addresses ignore case
        Assert.Null(await store.GetInboxWatermarkAsync("other." + mailbox, Ct));
    }
}

public sealed class RedisMailingStoreTests(RedisServerFixture redis) : RedisMailingStoreSuite(redis);

/// <summary>The contract on a Redis Cluster (three masters): every script's keys in one slot, indices elsewhere.</summary>
[Collection(RedisClusterCollection.Name)]
public sealed class ClusterMailingStoreTests(RedisClusterFixture cluster) : RedisMailingStoreSuite(cluster);

/// <summary>The contract and what only the Redis store promises (key expiry, deletion), on one server or a cluster.</summary>
public abstract class RedisMailingStoreSuite(IRedisFixture redis) : MailingStoreContract
{
    /// <summary>Every key under the pattern, on every master (a cluster spreads them over its nodes).</summary>
    private static List<RedisKey> Keys(IConnectionMultiplexer connection, string pattern) =>
        [.. connection.GetServers().Where(s => !s.IsReplica).SelectMany(s => s.Keys(pattern: pattern))];

    protected override IMailingStore CreateStoreCore() =>
        new RedisMailingStore(redis.Require(), Options.Create(new MailingStoreOptions { KeyPrefix = RedisServerFixture.NewPrefix() }));

    [Fact]
    public async Task The_scripts_complete_a_mailing_exactly_when_the_one_completion_rule_says()
    {
        // The in-memory store calls MailingCompletion.Decide; the scripts look it up in a table generated from it.
        // This holds the scripts' side (how checkDone reads the mailing into the table's key) to the rule, for every input.
        var db = redis.Require().GetDatabase();
        var probe = LuaScript.Prepare(RedisMailingStore.Prelude + """
            checkDone(@Now)
            return { redis.call('HGET', meta, 'state'), redis.call('HGET', meta, 'finishedAt') or '' }
            """);
        var prefix = RedisServerFixture.NewPrefix();
        var bools = new[] { false, true };
        var cases = 0;
        foreach (var state in Enum.GetValues<MailingState>())
        foreach (var expanded in bools)
        foreach (var queued in bools)
        foreach (var leased in bools)
        foreach (var followUps in bools)
        foreach (var finished in bools)
        {
            var id = $"c{cases++}";
            RedisKey K(string part) => $"{prefix}{{m:{id}}}:{part}";
            await db.HashSetAsync(K("meta"), [new("state", state.ToString()), new("expDone", expanded ? "1" : "0")]);
            if (finished)
            {
                await db.HashSetAsync(K("meta"), "finishedAt", "5");
            }
            foreach (var key in new[] { (queued, "q"), (leased, "l"), (followUps, "p") }.Where(x => x.Item1).Select(x => x.Item2))
            {
                await db.SortedSetAddAsync(K(key), "1", 1);
            }

            var r = (RedisResult[])(await db.ScriptEvaluateAsync(probe, new
            {
                Meta = K("meta"), D = K("d"), Q = K("q"), L = K("l"), O = K("o"), F = K("f"), Fu = K("p"), A = K("a"), S = K("s"), R = K("r"),
                Ttl = 60_000L, Now = "99",
            }))!;

            var expected = MailingCompletion.Decide(expanded, queued, leased, followUps, state, finished) switch
            {
                CompletionStep.Complete => ("Completed", "99"),
                CompletionStep.StampFinished => (state.ToString(), "99"),
                _ => (state.ToString(), finished ? "5" : ""),
            };
            Assert.True(expected == ((string)r[0]!, (string)r[1]!), $"{MailingCompletion.Key(expanded, queued, leased, followUps, state, finished)}: " +
                $"expected {expected}, the script left {(string)r[0]!} finished at '{(string)r[1]!}'");
        }
        Assert.Equal(Enum.GetValues<MailingState>().Length * 32, cases);
        // the shortcut a completion takes while others are queued or leased (one ZCARD, not five reads) is in effect
        Assert.Contains("local waitsWhileQueued = true", MailingCompletion.LuaTables, StringComparison.Ordinal);
        Assert.Contains("local waitsWhileLeased = true", MailingCompletion.LuaTables, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_key_of_a_mailing_expires()
    {
        var prefix = RedisServerFixture.NewPrefix();
        var connection = redis.Require();
        var store = new RedisMailingStore(connection, Options.Create(new MailingStoreOptions { KeyPrefix = prefix, Retention = TimeSpan.FromDays(30) }));
        var m = await store.CreateAsync(NewMailing("k"), Ct);
        await store.TryLeaseExpansionAsync(m.Id, "x", TimeSpan.FromMinutes(1), T0, Ct);
        await store.AppendDeliveriesAsync(m.Id, "x", 0, 2, NewDeliveries(1, 2), true, T0, Ct);
        await store.ClaimAsync(m.Id, TimeSpan.FromMinutes(1), T0, Ct);

        var keys = Keys(connection, prefix + "*");
        Assert.NotEmpty(keys);
        foreach (var key in keys)
        {
            var ttl = await connection.GetDatabase().KeyTimeToLiveAsync(key);
            Assert.True(ttl is { TotalDays: > 29 }, $"{key} has TTL {ttl}");
        }
        Assert.Contains(keys, k => k.ToString().Contains($"{{m:{m.Id}}}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Keys_live_for_the_configured_retention()
    {
        var prefix = RedisServerFixture.NewPrefix();
        var connection = redis.Require();
        var store = new RedisMailingStore(connection, Options.Create(new MailingStoreOptions { KeyPrefix = prefix, Retention = TimeSpan.FromDays(3) }));
        var m = await store.CreateAsync(NewMailing("k"), Ct);
        await store.SaveAttachmentsAsync(m.Id, [new MailAttachment("a.pdf", "application/pdf", [1])], Ct);
        await store.TryLeaseExpansionAsync(m.Id, "x", TimeSpan.FromMinutes(1), T0, Ct);
        await store.AppendDeliveriesAsync(m.Id, "x", 0, 2, NewDeliveries(1, 2), true, T0, Ct);

        var keys = Keys(connection, prefix + "*");
        Assert.Contains(keys, k => k.ToString().EndsWith(":a", StringComparison.Ordinal));
        foreach (var key in keys)
        {
            var ttl = await connection.GetDatabase().KeyTimeToLiveAsync(key);
            Assert.True(ttl is { TotalDays: > 2.9 and <= 3 }, $"{key} has TTL {ttl}");
        }
    }

    [Fact]
    public async Task Delete_leaves_no_key_of_the_mailing_in_redis()
    {
        var prefix = RedisServerFixture.NewPrefix();
        var connection = redis.Require();
        var store = new RedisMailingStore(connection, Options.Create(new MailingStoreOptions { KeyPrefix = prefix }));
        var m = await store.CreateAsync(NewMailing("idem-1") with { Held = true }, Ct);
        var kept = await store.CreateAsync(NewMailing("idem-2") with { Held = true }, Ct);
        await store.SaveAttachmentsAsync(m.Id, [new MailAttachment("a.pdf", "application/pdf", [1])], Ct);
        await store.TryLeaseExpansionAsync(m.Id, "x", TimeSpan.FromMinutes(1), T0, Ct);
        await store.AppendDeliveriesAsync(m.Id, "x", 0, 3, NewDeliveries(1, 3, s => s == 2 ? DeliveryStatus.Skipped : DeliveryStatus.Pending), true, T0, Ct);
        await store.WatchBouncesAsync(m.Id, T0.AddDays(1), Ct);
        var db = connection.GetDatabase();
        Assert.True(Keys(connection, $"{prefix}{{m:{m.Id}}}*").Count >= 4);

        Assert.Equal(MailingDeletion.Deleted, await store.DeleteAsync(m.Id, Ct));

        Assert.Empty(Keys(connection, $"{prefix}{{m:{m.Id}}}*"));
        var alice = OwnerKey.Of("alice@example.com"); // owner ids are hashed in keys
        Assert.False(await db.KeyExistsAsync($"{prefix}idem:{alice}:idem-1"));
        Assert.True(await db.KeyExistsAsync($"{prefix}idem:{alice}:idem-2"));
        Assert.Null(await db.SortedSetScoreAsync($"{prefix}user:{alice}", m.Id));
        Assert.NotNull(await db.SortedSetScoreAsync($"{prefix}user:{alice}", kept.Id));
        Assert.Null(await db.SortedSetScoreAsync($"{prefix}bounce-watch", m.Id));
        Assert.False(await db.SetContainsAsync($"{prefix}active", m.Id));
        // nothing left anywhere under the prefix names it
        foreach (var key in Keys(connection, prefix + "*"))
        {
            Assert.DoesNotContain(m.Id, key.ToString(), StringComparison.Ordinal);
        }
    }
}

public sealed class InMemoryMailingStoreTests : MailingStoreContract
{
    protected override IMailingStore CreateStoreCore() => new InMemoryMailingStore();

    [Fact]
    public async Task Mailings_unchanged_for_the_retention_are_dropped_like_expired_redis_keys()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0);
        var store = new InMemoryMailingStore(clock, Options.Create(new MailingStoreOptions { Retention = TimeSpan.FromDays(30) }));
        var old = await store.CreateAsync(NewMailing("old"), Ct);
        await store.SaveAttachmentsAsync(old.Id, [new MailAttachment("a.pdf", "application/pdf", [1])], Ct);
        var touched = await store.CreateAsync(NewMailing(), Ct);
        clock.Advance(TimeSpan.FromDays(20));
        await store.TransitionAsync(touched.Id, [MailingState.Preparing], MailingState.Cancelled, null, clock.GetUtcNow(), Ct);
        clock.Advance(TimeSpan.FromDays(5));
        var young = await store.CreateAsync(NewMailing(), Ct);

        clock.Advance(TimeSpan.FromDays(4));
        Assert.NotNull(await store.GetAsync(old.Id, Ct)); // 29 days: still kept
        clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));

        Assert.Null(await store.GetAsync(old.Id, Ct));
        Assert.Null(await store.FindByIdempotencyKeyAsync("alice@example.com", "old", Ct));
        Assert.Empty(await store.GetAttachmentsAsync(old.Id, Ct));
        Assert.Equal(new[] { young.Id, touched.Id }.Order(), (await store.ListAsync("alice@example.com", 10, Ct)).Select(m => m.Id).Order());
        clock.Advance(TimeSpan.FromDays(20)); // 30 days after the change at day 20
        Assert.Equal([young.Id], (await store.ListAsync("alice@example.com", 10, Ct)).Select(m => m.Id));
    }
}
