using BulkMail.Api.Mailings;
using BulkMail.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace BulkMail.Tests.Mailings;

/// <summary>
/// The exactly-once step on its own: no hosted worker runs; the test claims deliveries from the Redis store and calls
/// <see cref="DeliveryStep"/> itself, which talks to the Graph sandbox over HTTP through the Graph SDK.
/// </summary>
public class DeliveryStepTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(IMailingStore Store, DeliveryStep Step, MailingRun Run)> QueuedAsync(EngineHarness e, long[] ids)
    {
        var id = await e.SubmitAsync(EngineHarness.Newsletter(ids));
        var services = e.Api.Services;
        var store = services.GetRequiredService<IMailingStore>();
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<MailingExpansionRunner>().RunAsync(id, Ct);
        var mailing = (await store.GetAsync(id, Ct))!;
        Assert.Equal(MailingState.Queued, mailing.State);
        var plan = await scope.ServiceProvider.GetRequiredService<MailingPlanner>().PlanAsync(mailing.Spec, Ct);
        return (store, services.GetRequiredService<DeliveryStep>(), new MailingRun(mailing, plan, [], 0));
    }

    /// <summary>Claims the next delivery (waiting out a retry's backoff) and runs the step on it.</summary>
    private static async Task<Delivery> StepAsync(IMailingStore store, DeliveryStep step, MailingRun run)
    {
        for (var i = 0; i < 100; i++)
        {
            var claimed = await store.ClaimAsync(run.Mailing.Id, TimeSpan.FromSeconds(15), DateTimeOffset.UtcNow, Ct);
            if (claimed.Claim is { } claim)
            {
                await step.ProcessAsync(run, claim, Ct);
                return (await store.GetDeliveryAsync(run.Mailing.Id, claim.Delivery.Seq, Ct))!;
            }
            Assert.NotNull(claimed.NextReadyAt);
            await Task.Delay(50, Ct);
        }
        Assert.Fail("no delivery became claimable");
        return null!;
    }

    [Fact]
    public async Task A_claimed_delivery_is_sent_once_and_recorded_as_sent()
    {
        await using var e = await EngineHarness.StartAsync(redis, worker: false);
        var (store, step, run) = await QueuedAsync(e, [10001]);

        var delivery = await StepAsync(store, step, run);

        Assert.Equal(DeliveryStatus.Sent, delivery.Status);
        var sent = Assert.Single(e.Graph.Sent(EngineHarness.User));
        Assert.Equal(delivery.Address, sent.To.Single(), StringComparer.OrdinalIgnoreCase);
        Assert.Null((await store.ClaimAsync(run.Mailing.Id, TimeSpan.FromSeconds(15), DateTimeOffset.UtcNow, Ct)).Claim);
    }

    [Fact]
    public async Task Answers_lost_on_the_way_back_never_make_a_second_send()
    {
        await using var e = await EngineHarness.StartAsync(redis, worker: false);
        var (store, step, run) = await QueuedAsync(e, [10001]);

        // Every answer of the first attempt is lost (the draft's creation or the send may have happened).
        e.Graph.Faults.LostAnswerRate = 1.0;
        var first = await StepAsync(store, step, run);
        Assert.Equal(DeliveryStatus.Pending, first.Status);
        Assert.True(first.NeedsLookup);
        e.Graph.Faults.LostAnswerRate = 0;

        var delivery = first;
        for (var attempt = 0; attempt < 5 && delivery.Status == DeliveryStatus.Pending; attempt++)
        {
            delivery = await StepAsync(store, step, run);
        }

        Assert.Equal(DeliveryStatus.Sent, delivery.Status);
        Assert.Single(e.Graph.Sent(EngineHarness.User));
        Assert.Contains(e.Graph.Requests, r => r.Status == -1);
    }
    [Fact]
    public async Task A_draft_made_ahead_whose_slot_went_elsewhere_waits_in_the_queue_and_its_next_attempt_sends_that_draft()
    {
        await using var e = await EngineHarness.StartAsync(redis, worker: false);
        var (store, step, run) = await QueuedAsync(e, [10001]);

        // The draft is made, then no pacing slot comes soon: the delivery goes back with its draft, no attempt used up.
        var claim = (await store.ClaimAsync(run.Mailing.Id, TimeSpan.FromSeconds(15), DateTimeOffset.UtcNow, Ct)).Claim!;
        var asked = 0;
        await step.ProcessAsync(run, claim, Ct, awaitGrant: _ => { asked++; return Task.FromResult<string?>(null); });
        Assert.Equal(1, asked);
        var waiting = (await store.GetDeliveryAsync(run.Mailing.Id, claim.Delivery.Seq, Ct))!;
        Assert.Equal(DeliveryStatus.Pending, waiting.Status);
        Assert.NotNull(waiting.DraftId);
        Assert.False(waiting.NeedsLookup); // known unsent: nothing was sent
        Assert.Equal(claim.Delivery.Attempts, waiting.Attempts);
        Assert.Empty(e.Graph.Sent(EngineHarness.User));
        Assert.Single(e.Graph.Drafts(EngineHarness.User));

        var sent = await StepAsync(store, step, run);

        Assert.Equal(DeliveryStatus.Sent, sent.Status);
        Assert.Equal(waiting.DraftId, sent.DraftId);
        Assert.Single(e.Graph.Sent(EngineHarness.User));
        Assert.Empty(e.Graph.Drafts(EngineHarness.User));
        Assert.Equal(1, e.Graph.Requests.Count(r => r.Method == "POST" && r.Path.Trim('/') == "messages" && r.Status == 201));
    }

    [Fact]
    public async Task A_draft_made_ahead_is_recorded_before_its_slot_frees_so_only_the_grant_stands_before_the_send()
    {
        await using var e = await EngineHarness.StartAsync(redis, worker: false);
        var (store, step, run) = await QueuedAsync(e, [10001]);
        var claim = (await store.ClaimAsync(run.Mailing.Id, TimeSpan.FromSeconds(15), DateTimeOffset.UtcNow, Ct)).Claim!;
        Delivery? whileWaiting = null;
        await step.ProcessAsync(run, claim, Ct, awaitGrant: async ct =>
        {
            // what a worker taking over now would find: the draft's id, to be looked up before anything is retried
            whileWaiting = await store.GetDeliveryAsync(run.Mailing.Id, claim.Delivery.Seq, ct);
            Assert.Empty(e.Graph.Sent(EngineHarness.User));
            return null; // no grant: nothing needs sending for this check
        });

        Assert.NotNull(whileWaiting);
        Assert.Equal(e.Graph.Drafts(EngineHarness.User).Single().Id, whileWaiting.DraftId);
        Assert.True(whileWaiting.NeedsLookup);
        Assert.Equal(claim.Delivery.Attempts + 1, whileWaiting.Attempts);
        // and with no grant it is back in the queue as known unsent, its attempt given back
        var back = (await store.GetDeliveryAsync(run.Mailing.Id, claim.Delivery.Seq, Ct))!;
        Assert.False(back.NeedsLookup);
        Assert.Equal(claim.Delivery.Attempts, back.Attempts);
    }

    [Fact]
    public async Task A_delivery_whose_step_lost_redis_midway_goes_back_to_the_queue_once_redis_answers_not_after_its_lease()
    {
        // Its own redis-server: pausing it must not hold up the tests running alongside.
        await using var own = await redis.StartOwnAsync();
        await using var e = await EngineHarness.StartAsync(own, worker: false);
        var (store, step, run) = await QueuedAsync(e, [10001]);
        var claim = (await store.ClaimAsync(run.Mailing.Id, TimeSpan.FromMinutes(2), DateTimeOffset.UtcNow, Ct)).Claim!;
        e.Graph.Faults.Latency = TimeSpan.FromSeconds(2);
        var processing = step.ProcessAsync(run, claim, Ct);
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(own.ConnectionString + ",allowAdmin=true");
        // While the draft is being made: Redis stops answering for longer than the client's 5 s timeout, so the
        // draft's record times out.
        await Task.Delay(500, Ct);
        await admin.GetServer(admin.GetEndPoints()[0]).ExecuteAsync("CLIENT", "PAUSE", "9000", "ALL");
        var failed = await Assert.ThrowsAnyAsync<Exception>(() => processing);
        Assert.True(BulkMail.Api.Infrastructure.StoreUnavailableExceptionHandler.IsUnavailable(failed), failed.ToString());
        e.Graph.Faults.Latency = TimeSpan.Zero;

        // Back in the queue now, to be looked up first, its attempt given back: not leased for two minutes.
        var back = (await store.GetDeliveryAsync(run.Mailing.Id, claim.Delivery.Seq, Ct))!;
        Assert.Equal(DeliveryStatus.Pending, back.Status);
        Assert.True(back.NeedsLookup);
        Assert.Equal(claim.Delivery.Attempts, back.Attempts);
        var again = (await store.ClaimAsync(run.Mailing.Id, TimeSpan.FromSeconds(15), DateTimeOffset.UtcNow, Ct)).Claim;
        Assert.NotNull(again);
        await step.ProcessAsync(run, again, Ct);

        Assert.Equal(DeliveryStatus.Sent, (await store.GetDeliveryAsync(run.Mailing.Id, claim.Delivery.Seq, Ct))!.Status);
        Assert.Single(e.Graph.Sent(EngineHarness.User));
        Assert.Empty(e.Graph.Drafts(EngineHarness.User));
        // the draft made before the outage was found and sent, not made again
        Assert.Equal(1, e.Graph.Requests.Count(r => r.Method == "POST" && r.Path.Trim('/') == "messages" && r.Status == 201));
    }

    [Fact]
    public async Task A_claim_whose_answer_was_lost_gives_its_delivery_back_once_redis_answers_not_after_its_lease()
    {
        // Redis killed while it writes its AOF (appendfsync always) runs a claim and keeps it, but never answers: here
        // a paused redis-server runs the claim only after the client's 5 s timeout has given up on it.
        await using var own = await redis.StartOwnAsync();
        await using var e = await EngineHarness.StartAsync(own, worker: false);
        var (store, step, run) = await QueuedAsync(e, [10001]);
        await using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(own.ConnectionString + ",allowAdmin=true");
        await admin.GetServer(admin.GetEndPoints()[0]).ExecuteAsync("CLIENT", "PAUSE", "7000", "ALL");
        const string token = "lost-claim";
        var failed = await Assert.ThrowsAnyAsync<Exception>(() => store.ClaimAsync(run.Mailing.Id, TimeSpan.FromMinutes(2), DateTimeOffset.UtcNow, Ct, token));
        Assert.True(BulkMail.Api.Infrastructure.StoreUnavailableExceptionHandler.IsUnavailable(failed), failed.ToString());

        await step.ReturnLostClaimAsync(run.Mailing.Id, token, Ct);

        // The claim did run (after the pause) and took the delivery; it is back in the queue as it was, not leased for
        // two minutes to a worker that never learned of it.
        Assert.Null(await store.LeasedUnderAsync(run.Mailing.Id, token, Ct));
        var again = (await store.ClaimAsync(run.Mailing.Id, TimeSpan.FromSeconds(15), DateTimeOffset.UtcNow, Ct)).Claim;
        Assert.NotNull(again);
        Assert.Equal((1, 0, false), (again.Delivery.Seq, again.Delivery.Attempts, again.Delivery.NeedsLookup));
        await step.ProcessAsync(run, again, Ct);
        Assert.Single(e.Graph.Sent(EngineHarness.User));
    }

    [Fact]
    public async Task A_waiting_draft_whose_address_unsubscribed_meanwhile_is_deleted_and_the_delivery_skipped()
    {
        await using var e = await EngineHarness.StartAsync(redis, worker: false);
        var (store, step, run) = await QueuedAsync(e, [10001]);
        var claim = (await store.ClaimAsync(run.Mailing.Id, TimeSpan.FromSeconds(15), DateTimeOffset.UtcNow, Ct)).Claim!;
        await step.ProcessAsync(run, claim, Ct, awaitGrant: _ => Task.FromResult<string?>(null));
        Assert.Single(e.Graph.Drafts(EngineHarness.User));

        var suppressions = e.Api.Services.GetRequiredService<BulkMail.Api.Suppressions.ISuppressionList>();
        Assert.True(await suppressions.AddAsync(run.Plan.Spec.Tenant, claim.Delivery.Address!, "asked by phone", "api", null, BulkMail.Api.Suppressions.SuppressionCode.Manual, Ct));
        var skipped = await StepAsync(store, step, run);

        Assert.Equal(DeliveryStatus.Skipped, skipped.Status);
        Assert.Equal(BulkMail.Api.Mailings.ReasonCodes.Suppressed, skipped.ReasonCode);
        Assert.Empty(e.Graph.Sent(EngineHarness.User));
        Assert.Empty(e.Graph.Drafts(EngineHarness.User));
    }
}
