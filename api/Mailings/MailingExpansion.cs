using BulkMail.Api.Infrastructure;
using BulkMail.Api.Modes;
using BulkMail.Api.Hrbc;

namespace BulkMail.Api.Mailings;

/// <summary>One page of a mailing's scope read from HRBC.</summary>
/// <param name="ScopeTotal">Records in the whole scope (HRBC's total for All, the ids sent otherwise).</param>
public sealed record ScopePage(IReadOnlyList<HrbcRecord> Records, IReadOnlyList<long> MissingIds, int NextPosition, bool Done, int? ScopeTotal = null);

/// <summary>Reads a mailing's scope a page (200 records) at a time: All pages the search, Displayed/Checked read the ids.</summary>
public sealed class ScopeReader(HrbcClient hrbc)
{
    public const int PageSize = HrbcClient.MaxItemsPerRequest;

    public async Task<ScopePage> ReadPageAsync(MailingPlan plan, int position, CancellationToken cancellationToken)
    {
        var spec = plan.Spec;
        if (spec.ScopeKind == ScopeKind.All)
        {
            var page = await hrbc.ReadPageAsync(plan.Target, new HrbcQuery
            {
                Fields = plan.Fields,
                Condition = HrbcCondition.Parse(spec.Condition),
                Keywords = spec.Keywords,
                Start = position,
                Count = PageSize,
                Order = plan.Target.IdAlias + ":asc",
            }, cancellationToken).ConfigureAwait(false);
            var next = position + page.Count;
            return new ScopePage(page.Items, [], next, page.Count == 0 || next >= page.Total, page.Total);
        }
        return await ReadIdsAsync(plan, spec.Ids.Skip(position).Take(PageSize).ToList(), position, spec.Ids.Count, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One record of the scope (for previewing it): null when it is not in the scope.</summary>
    public async Task<ScopePage?> ReadOneAsync(MailingPlan plan, long id, CancellationToken cancellationToken)
    {
        var spec = plan.Spec;
        if (spec.ScopeKind != ScopeKind.All)
        {
            return spec.Ids.Contains(id) ? await ReadIdsAsync(plan, [id], 0, 1, cancellationToken).ConfigureAwait(false) : null;
        }
        // The search's own conditions AND this id: the record is previewed only if the search finds it.
        var page = await hrbc.ReadPageAsync(plan.Target, new HrbcQuery
        {
            Fields = plan.Fields,
            Condition = HrbcCondition.Parse(spec.Condition).Eq(plan.Target.IdAlias, id),
            Keywords = spec.Keywords,
            Count = 1,
        }, cancellationToken).ConfigureAwait(false);
        return page.Count == 0 ? null : new ScopePage(page.Items, [], 1, true);
    }

    private async Task<ScopePage> ReadIdsAsync(MailingPlan plan, List<long> ids, int position, int total, CancellationToken cancellationToken)
    {
        var records = await hrbc.ReadByIdsAsync(plan.Target, ids, plan.Fields, cancellationToken).ToListAsync(cancellationToken).ConfigureAwait(false);
        var byId = records.Where(r => r.Id is not null).ToDictionary(r => r.Id!.Value);
        // Keep the order the task pane sent; a record deleted in HRBC meanwhile is reported, not dropped.
        var ordered = ids.Where(byId.ContainsKey).Select(id => byId[id]).ToList();
        var missing = ids.Where(id => !byId.ContainsKey(id)).ToList();
        var nextPosition = position + ids.Count;
        return new ScopePage(ordered, missing, nextPosition, nextPosition >= total, total);
    }
}

/// <summary>Record → deliveries: one per ticked mail field holding a distinct valid address (docs/architecture.md, Mailing engine: Expansion), the
/// address taken from the listed record or, in ResumesToRecruiter/JobsToResume, from the anchor's side (docs/architecture.md, Modes).</summary>
public static class DeliveryExpander
{
    public static List<Delivery> Expand(MailingPlan plan, HrbcRecord record, int firstSeq)
    {
        var shape = plan.Shape;
        var flat = MailingPlanner.FlatOf(plan, record);
        var recordId = record.Id ?? 0;
        var name = ModeShape.NameOf(plan.Target, record);
        var anchorId = plan.Spec.AnchorId;
        var (jobId, resumeId) = shape.IdsOf(recordId, anchorId);
        var template = new Delivery
        {
            Seq = firstSeq,
            RecordType = plan.Target.Name,
            RecordId = recordId,
            RecordName = name,
            JobId = jobId,
            ResumeId = resumeId,
            RecipientName = ModeShape.RecipientNameOf(shape.Recipient, flat),
            Status = DeliveryStatus.Skipped,
        };
        if (plan.AnchorMissing)
        {
            return [template with
            {
                Reason = $"The {shape.Anchor?.Name} the mailing started from no longer exists in HRBC",
                ReasonCode = ReasonCodes.AnchorGone,
                ReasonArgs = new Dictionary<string, string> { ["resource"] = shape.Anchor?.Name ?? "" },
            }];
        }
        var values = MailingPlanner.ValuesOf(plan, flat);
        var optedOut = OptedOut(plan, flat);
        var deliveries = new List<Delivery>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var field in plan.Spec.MailFields)
        {
            var address = Addresses.Normalize(flat.GetValueOrDefault(field));
            if (address is null || !seen.Add(address))
            {
                continue; // empty, or the same address as another ticked field of this record: one mail is enough
            }
            var valid = Addresses.IsValid(address);
            if (valid && optedOut)
            {
                deliveries.Add(template with
                {
                    Seq = firstSeq + deliveries.Count,
                    MailField = field,
                    Address = address,
                    Reason = "The recipient opted out of mail in HRBC",
                    ReasonCode = ReasonCodes.OptedOutInHrbc,
                    ReasonArgs = new Dictionary<string, string> { ["field"] = plan.OptOutField! },
                });
                continue;
            }
            deliveries.Add(template with
            {
                Seq = firstSeq + deliveries.Count,
                MailField = field,
                Address = address,
                Status = valid ? DeliveryStatus.Pending : DeliveryStatus.Skipped,
                Reason = valid ? null : "Invalid address",
                ReasonCode = valid ? null : ReasonCodes.InvalidAddress,
                ReasonArgs = valid ? null : new Dictionary<string, string> { ["address"] = address },
                Values = valid ? values : new Dictionary<string, string?>(),
            });
        }
        if (deliveries.Count == 0)
        {
            deliveries.Add(template with { Reason = "No address in the ticked mail fields", ReasonCode = ReasonCodes.NoAddress });
        }
        return deliveries;
    }

    /// <summary>Whether the record's HRBC opt-out field (<c>OptOut:Fields</c>, read with the recipient's side) holds a
    /// value meaning 配信停止 (<c>OptOut:Values</c>; none configured: any value).</summary>
    private static bool OptedOut(MailingPlan plan, IReadOnlyDictionary<string, string?> flat)
    {
        if (plan.OptOutField is null || flat.GetValueOrDefault(plan.OptOutField) is not { Length: > 0 } value)
        {
            return false;
        }
        return plan.OptOutValues.Count == 0 || plan.OptOutValues.Contains(value) || value.Split('、').Any(plan.OptOutValues.Contains);
    }

    /// <summary>Skips the pending deliveries whose address is on the tenant's suppression list (reason
    /// <see cref="ReasonCodes.Suppressed"/>): one lookup per page.</summary>
    public static async Task<List<Delivery>> SuppressAsync(MailingPlan plan, List<Delivery> deliveries, Suppressions.ISuppressionList suppressions,
        CancellationToken cancellationToken)
    {
        var keys = deliveries.Where(d => d.Status == DeliveryStatus.Pending && d.Address is not null)
            .Select(d => Suppressions.SuppressionAddress.Normalize(d.Address)).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (keys.Count == 0)
        {
            return deliveries;
        }
        var found = await suppressions.FindAsync(plan.Spec.Tenant, keys, cancellationToken).ConfigureAwait(false);
        if (found.Count == 0)
        {
            return deliveries;
        }
        return [.. deliveries.Select(d => d.Status == DeliveryStatus.Pending && Suppressions.SuppressionAddress.Normalize(d.Address) is { } a && found.Contains(a)
            ? d with
            {
                Status = DeliveryStatus.Skipped,
                Reason = "The address is on the suppression list",
                ReasonCode = ReasonCodes.Suppressed,
                Values = new Dictionary<string, string?>(),
            }
            : d)];
    }

    /// <summary>Which ticked mail fields of a record hold a value (for the per-field counts of the compose step).</summary>
    public static IEnumerable<string> FilledMailFields(MailingPlan plan, HrbcRecord record)
    {
        var flat = MailingPlanner.FlatOf(plan, record);
        return plan.Spec.MailFields.Where(f => Addresses.Normalize(flat.GetValueOrDefault(f)) is not null);
    }

    public static Delivery Missing(MailingPlan plan, long id, int seq) => new()
    {
        Seq = seq,
        RecordType = plan.Target.Name,
        RecordId = id,
        Status = DeliveryStatus.Skipped,
        Reason = "Record not found in HRBC",
        ReasonCode = ReasonCodes.RecordGone,
    };

    /// <summary>HRBC records whose phase these deliveries set (docs/architecture.md, Mailing engine: Expansion): one per job × resume in the matching modes,
    /// one per record otherwise, over the sendable deliveries. A listed record appears in one page only (ids are
    /// distinct, All pages by id), so counts of pages add up exactly.</summary>
    public static int PhaseUpdates(MailingPlan plan, IEnumerable<Delivery> deliveries)
    {
        if (plan.Spec.PhaseAlias is null)
        {
            return 0;
        }
        var pending = deliveries.Where(d => d.Status == DeliveryStatus.Pending);
        return plan.Shape.IsMatching ? pending.Select(d => (d.JobId, d.ResumeId)).Distinct().Count() : pending.Select(d => d.RecordId).Distinct().Count();
    }

    /// <summary>Deliveries of one page, numbered from <paramref name="firstSeq"/>.</summary>
    public static List<Delivery> ExpandPage(MailingPlan plan, ScopePage page, int firstSeq)
    {
        var result = new List<Delivery>();
        foreach (var record in page.Records)
        {
            result.AddRange(Expand(plan, record, firstSeq + result.Count));
        }
        foreach (var id in page.MissingIds)
        {
            result.Add(Missing(plan, id, firstSeq + result.Count));
        }
        return result;
    }
}

/// <summary>
/// Expands a Preparing mailing into deliveries in the background, a page at a time: never all records in memory,
/// each page stored atomically with the cursor, so a restarted process continues where the last one stopped.
/// </summary>
public sealed partial class MailingExpansionRunner(IMailingStore store, MailingPlanner planner, ScopeReader reader, TimeProvider time,
    Suppressions.ISuppressionList suppressions, WorkerToken worker, BulkMailTelemetry telemetry, ILogger<MailingExpansionRunner> logger)
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);
    // The instance's: its next tick of the mailing goes on under the lease this one took (the cursor keeps pages once).
    private readonly string _token = worker.Value;

    /// <summary>Expands the mailing if no other worker is; returns when done, or when another holds it. The plan is the
    /// run's (<paramref name="plan"/>), or built here.</summary>
    public async Task RunAsync(string mailingId, CancellationToken cancellationToken, RunPlan? plan = null)
    {
        if (!await store.TryLeaseExpansionAsync(mailingId, _token, Lease, time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
        {
            return;
        }
        var mailing = await store.GetAsync(mailingId, cancellationToken).ConfigureAwait(false);
        if (mailing is null)
        {
            return;
        }
        try
        {
            var built = await (plan ?? new RunPlan(planner, mailing.Spec)).GetAsync(cancellationToken).ConfigureAwait(false);
            var cursor = await store.GetExpansionAsync(mailingId, cancellationToken).ConfigureAwait(false);
            var position = cursor.Position;
            var pages = 0;
            while (!cursor.Done)
            {
                using var span = telemetry.Source.StartActivity("bulkmail.expansion.page");
                span?.SetTag("bulkmail.mailing.id", mailingId);
                span?.SetTag("bulkmail.expansion.position", position);
                var page = await reader.ReadPageAsync(built, position, cancellationToken).ConfigureAwait(false);
                var total = (await store.GetCountsAsync(mailingId, cancellationToken).ConfigureAwait(false)).Total;
                var deliveries = await DeliveryExpander.SuppressAsync(built, DeliveryExpander.ExpandPage(built, page, total + 1), suppressions,
                    cancellationToken).ConfigureAwait(false);
                if (!await store.AppendDeliveriesAsync(mailingId, _token, position, page.NextPosition, deliveries, page.Done,
                    time.GetUtcNow(), cancellationToken, new PageFigures(DeliveryExpander.PhaseUpdates(built, deliveries), page.ScopeTotal)).ConfigureAwait(false))
                {
                    Log.LostExpansion(logger, mailingId, position);
                    return;
                }
                pages++;
                if (page.Done)
                {
                    break;
                }
                position = page.NextPosition;
                if (!await store.TryLeaseExpansionAsync(mailingId, _token, Lease, time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
            Log.Expanded(logger, mailingId, pages);
        }
        catch (Exception e) when (HrbcTransience.IsFailure(e))
        {
            // HRBC is down or refused: the lease runs out and the next poll tries again from the cursor.
            Log.ExpansionFailed(logger, mailingId, (e as HrbcException)?.Code ?? 0, LogSafe.Of(e));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(40, LogLevel.Information, "Mailing {MailingId}: scope expanded in {Pages} pages")]
        public static partial void Expanded(ILogger logger, string mailingId, int pages);

        [LoggerMessage(41, LogLevel.Warning, "Mailing {MailingId}: expansion handed over at position {Position}")]
        public static partial void LostExpansion(ILogger logger, string mailingId, int position);

        [LoggerMessage(42, LogLevel.Warning, "Mailing {MailingId}: expansion paused (HRBC code {Code}); it resumes later")]
        public static partial void ExpansionFailed(ILogger logger, string mailingId, int code, Exception exception);
    }
}
