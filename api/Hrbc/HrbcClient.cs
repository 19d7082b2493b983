using BulkMail.Api.Infrastructure;
using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Xml.Linq;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Hrbc;

/// <summary>
/// The one HRBC Connect client of the product (typed HttpClient). Reads return typed pages; writes return
/// per-item result codes; result codes other than 0 become <see cref="HrbcException"/>. The token is shared by
/// the whole process (<see cref="HrbcTokenStore"/>); a result code 401 refreshes it once and repeats the call.
/// Retries of transient codes (<see cref="HrbcTransience"/>) / 5xx / dropped connections and pacing are done by the
/// handlers of this HttpClient. Business rules on top of it (how a phase is set) live elsewhere: <see cref="HrbcPhaseWriter"/>.
/// </summary>
public sealed partial class HrbcClient(
    HttpClient http,
    HrbcAuthClient auth,
    HrbcTokenStore tokens,
    HrbcMetadataCache cache,
    IOptions<HrbcOptions> options,
    TimeProvider time,
    BulkMailTelemetry telemetry,
    ILogger<HrbcClient> logger)
{
    public const string TokenHeader = "X-porters-hrbc-oauth-token";
    public const int MaxItemsPerRequest = 200;

    private HrbcOptions Options => options.Value;

    // ---------------------------------------------------------------- default field lists

    public static HrbcFieldList ResumeFields() => HrbcFieldList.Of("Resume.P_Id", "Resume.P_Name")
        .Add("Resume.P_Owner", "User.P_Id", "User.P_Name", "User.P_Mail")
        .Add("Resume.P_Candidate", "Person.P_Id", "Person.P_Name", "Person.P_Reading", "Person.P_Mail", "Person.P_MobileMail")
        .AddRange(["Resume.P_Mail", "Resume.P_MobileMail", "Resume.P_Phase", "Resume.P_PhaseDate", "Resume.P_UpdateDate"]);

    public static HrbcFieldList JobFields() => HrbcFieldList.Of("Job.P_Id", "Job.P_Position")
        .Add("Job.P_Owner", "User.P_Id", "User.P_Name", "User.P_Mail")
        .Add("Job.P_Client", "Client.P_Id", "Client.P_Name")
        .Add("Job.P_Recruiter", "Recruiter.P_Id", "Recruiter.P_Name", "Recruiter.P_Mail")
        .AddRange(["Job.P_Phase", "Job.P_Area", "Job.P_UpdateDate"]);

    public static HrbcFieldList RecruiterFields() => HrbcFieldList.Of("Recruiter.P_Id", "Recruiter.P_Name", "Recruiter.P_Reading",
            "Recruiter.P_Division", "Recruiter.P_Title")
        .Add("Recruiter.P_Client", "Client.P_Id", "Client.P_Name")
        .AddRange(["Recruiter.P_Mail", "Recruiter.P_Phase", "Recruiter.P_PhaseDate", "Recruiter.P_UpdateDate"]);

    public static HrbcFieldList ClientFields() => HrbcFieldList.Of("Client.P_Id", "Client.P_Name", "Client.P_Phase", "Client.P_UpdateDate");

    public static HrbcFieldList ProcessFields() => HrbcFieldList.Of("Process.P_Id", "Process.P_Job", "Process.P_Resume",
        "Process.P_Candidate", "Process.P_Client", "Process.P_Recruiter", "Process.P_Phase", "Process.P_PhaseDate", "Process.P_PhaseMemo");

    // ---------------------------------------------------------------- reads

    /// <summary>One page of a resource read (count 1..200).</summary>
    public async Task<HrbcPage> ReadPageAsync(HrbcResource resource, HrbcQuery query, CancellationToken cancellationToken)
    {
        query.Validate();
        var root = await GetAsync(resource.Path, ReadParameters(resource, query), cancellationToken).ConfigureAwait(false);
        return HrbcXml.ParsePage(root, cache.KnownOptionRoots);
    }

    /// <summary>Every page of a read, 200 records a request, from <see cref="HrbcQuery.Start"/> to the end.</summary>
    public async IAsyncEnumerable<HrbcPage> ReadPagesAsync(HrbcResource resource, HrbcQuery query,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // A stable order keeps offset paging from skipping or repeating records.
        var q = query with { Count = MaxItemsPerRequest, Order = query.Order ?? resource.IdAlias + ":asc" };
        while (true)
        {
            var page = await ReadPageAsync(resource, q, cancellationToken).ConfigureAwait(false);
            yield return page;
            var next = q.Start + page.Count;
            if (page.Count == 0 || next >= page.Total)
            {
                yield break;
            }
            q = q with { Start = next };
        }
    }

    public async IAsyncEnumerable<HrbcRecord> ReadAllAsync(HrbcResource resource, HrbcQuery query,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var page in ReadPagesAsync(resource, query, cancellationToken).ConfigureAwait(false))
        {
            foreach (var item in page.Items)
            {
                yield return item;
            }
        }
    }

    /// <summary>
    /// Reads the records with the given ids (<c>P_Id:or=…</c>), split into several requests so that none has more
    /// than 200 ids or exceeds the request-length limit. Records come back in request order per chunk; missing ids are absent.
    /// </summary>
    public async IAsyncEnumerable<HrbcRecord> ReadByIdsAsync(HrbcResource resource, IEnumerable<long> ids, HrbcFieldList fields,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var chunk in SplitIds(resource, ids.Distinct(), fields))
        {
            var query = new HrbcQuery
            {
                Fields = fields,
                Condition = HrbcCondition.Where().AnyOf(resource.IdAlias, chunk),
                Count = MaxItemsPerRequest,
                Order = resource.IdAlias + ":asc",
            };
            var page = await ReadPageAsync(resource, query, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                yield return item;
            }
        }
    }

    /// <summary>Splits ids into chunks of at most 200 whose request line stays under <see cref="HrbcOptions.MaxRequestLength"/>.</summary>
    internal IReadOnlyList<long[]> SplitIds(HrbcResource resource, IEnumerable<long> ids, HrbcFieldList fields)
    {
        var emptyQuery = new HrbcQuery { Fields = fields, Count = MaxItemsPerRequest, Order = resource.IdAlias + ":asc" };
        // Length of the request with the condition "Alias:or=" and no id yet; each id adds its digits and an
        // encoded separator (%3A), so the length of a chunk is exact arithmetic.
        var baseParameters = ReadParameters(resource, emptyQuery)
            .Append(new("condition", resource.IdAlias + ":or="));
        var baseLength = RequestTarget(resource.Path, baseParameters).Length;
        var budget = Options.MaxRequestLength - baseLength;
        var chunks = new List<long[]>();
        var current = new List<long>();
        var used = 0;
        foreach (var id in ids)
        {
            var cost = id.ToString(CultureInfo.InvariantCulture).Length + (current.Count == 0 ? 0 : 3);
            if (current.Count > 0 && (current.Count == MaxItemsPerRequest || used + cost > budget))
            {
                chunks.Add([.. current]);
                current.Clear();
                used = 0;
                cost = id.ToString(CultureInfo.InvariantCulture).Length;
            }
            if (cost > budget)
            {
                throw new ArgumentException("The field list alone makes the HRBC request too long.", nameof(fields));
            }
            current.Add(id);
            used += cost;
        }
        if (current.Count > 0)
        {
            chunks.Add([.. current]);
        }
        return chunks;
    }

    public async Task<HrbcResume?> GetResumeAsync(long id, CancellationToken cancellationToken) =>
        await FirstAsync(HrbcResource.Resume, id, ResumeFields(), cancellationToken).ConfigureAwait(false) is { } r ? HrbcResume.From(r) : null;

    public async Task<HrbcJob?> GetJobAsync(long id, CancellationToken cancellationToken) =>
        await FirstAsync(HrbcResource.Job, id, JobFields(), cancellationToken).ConfigureAwait(false) is { } r ? HrbcJob.From(r) : null;

    public async Task<HrbcRecruiter?> GetRecruiterAsync(long id, CancellationToken cancellationToken) =>
        await FirstAsync(HrbcResource.Recruiter, id, RecruiterFields(), cancellationToken).ConfigureAwait(false) is { } r ? HrbcRecruiter.From(r) : null;

    public async Task<HrbcClientCompany?> GetClientAsync(long id, CancellationToken cancellationToken) =>
        await FirstAsync(HrbcResource.Client, id, ClientFields(), cancellationToken).ConfigureAwait(false) is { } r ? HrbcClientCompany.From(r) : null;

    public async Task<HrbcRecord?> FirstAsync(HrbcResource resource, long id, HrbcFieldList fields, CancellationToken cancellationToken)
    {
        var page = await ReadPageAsync(resource, new HrbcQuery
        {
            Fields = fields,
            Condition = HrbcCondition.Where().Eq(resource.IdAlias, id),
            Count = 1,
        }, cancellationToken).ConfigureAwait(false);
        return page.Items.FirstOrDefault();
    }

    /// <summary>The processes of a job or of a resume (a single parent id per condition, as HRBC requires).</summary>
    public IAsyncEnumerable<HrbcRecord> ReadProcessesAsync(long? jobId, long? resumeId, CancellationToken cancellationToken)
    {
        var condition = HrbcCondition.Where();
        if (jobId is { } j)
        {
            condition = condition.Eq("Process.P_Job", j);
        }
        if (resumeId is { } r)
        {
            condition = condition.Eq("Process.P_Resume", r);
        }
        if (condition.IsEmpty)
        {
            throw new ArgumentException("A job or a resume id is needed.");
        }
        return ReadAllAsync(HrbcResource.Process, new HrbcQuery { Fields = ProcessFields(), Condition = condition }, cancellationToken);
    }

    // ---------------------------------------------------------------- masters

    /// <summary>Field metadata of a resource (Field Read, every page), cached.</summary>
    public Task<IReadOnlyList<HrbcField>> GetFieldsAsync(HrbcResource resource, CancellationToken cancellationToken) =>
        cache.GetOrAddAsync("fields:" + resource.Name, async ct =>
        {
            var fields = new List<HrbcField>();
            var start = 0;
            while (true)
            {
                var root = await GetAsync("field", [
                    new("partition", Partition),
                    new("resource", resource.Value.ToString(CultureInfo.InvariantCulture)),
                    new("count", "200"),
                    new("start", start.ToString(CultureInfo.InvariantCulture)),
                ], ct).ConfigureAwait(false);
                var items = root.Elements("Item").ToList();
                fields.AddRange(items.Select(i => ParseField(resource, i)));
                start += items.Count;
                if (items.Count == 0 || start >= HrbcXml.Attr(root, "Total"))
                {
                    break;
                }
            }
            cache.AddOptionRoots(fields.Where(f => HrbcFieldType.IsOption(f.Type) && f.ReferTo is not null).Select(f => f.ReferTo!));
            return (IReadOnlyList<HrbcField>)fields;
        }, Options.MetadataCacheDuration, cancellationToken);

    /// <summary>
    /// The fields of a resource that hold e-mail addresses, discovered from Field Read: Mail fields, and Reference
    /// fields that mirror a Mail field of the parent resource (e.g. <c>Resume.P_Mail</c> → <c>Person.P_Mail</c>).
    /// </summary>
    public async Task<IReadOnlyList<HrbcMailField>> GetMailFieldsAsync(HrbcResource resource, CancellationToken cancellationToken)
    {
        var fields = await GetFieldsAsync(resource, cancellationToken).ConfigureAwait(false);
        var result = new List<HrbcMailField>();
        foreach (var f in fields)
        {
            if (f.Type == HrbcFieldType.Mail)
            {
                result.Add(new HrbcMailField(f.Alias, f.Name, null));
            }
            else if (f.Type == HrbcFieldType.Reference && f.ReferTo is { } source
                && HrbcResource.FromPrefix(source.Split('.')[0]) is { } parent && parent != resource)
            {
                var parentFields = await GetFieldsAsync(parent, cancellationToken).ConfigureAwait(false);
                if (parentFields.Any(p => p.Alias == source && p.Type == HrbcFieldType.Mail))
                {
                    result.Add(new HrbcMailField(f.Alias, f.Name, source));
                }
            }
        }
        return result;
    }

    /// <summary>The whole option master (all roots and levels), cached.</summary>
    public Task<IReadOnlyList<HrbcOptionItem>> GetOptionTreeAsync(CancellationToken cancellationToken) =>
        cache.GetOrAddAsync("options", async ct =>
        {
            var root = await GetAsync("option", [new("partition", Partition), new("level", "-1")], ct).ConfigureAwait(false);
            var items = root.Elements("Item").Select(ParseOption).ToList();
            cache.AddOptionRoots(items.Select(i => i.Alias));
            return (IReadOnlyList<HrbcOptionItem>)items;
        }, Options.MetadataCacheDuration, cancellationToken);

    /// <summary>The options under one option root (e.g. <c>Option.P_ProcessPhase</c>), in display order.</summary>
    public async Task<IReadOnlyList<HrbcOptionItem>> GetOptionsAsync(string rootAlias, CancellationToken cancellationToken)
    {
        var tree = await GetOptionTreeAsync(cancellationToken).ConfigureAwait(false);
        var node = tree.SelectMany(t => t.SelfAndDescendants()).FirstOrDefault(o => o.Alias == rootAlias);
        return node is null ? [] : [.. node.Children.OrderBy(c => c.Order)];
    }

    /// <summary>The phase options of a resource: the option root its <c>P_Phase</c> field refers to.</summary>
    public async Task<IReadOnlyList<HrbcOptionItem>> GetPhaseOptionsAsync(HrbcResource resource, CancellationToken cancellationToken)
    {
        var fields = await GetFieldsAsync(resource, cancellationToken).ConfigureAwait(false);
        var phase = fields.FirstOrDefault(f => f.Alias == resource.Alias("P_Phase"));
        var rootAlias = phase?.ReferTo ?? $"Option.P_{(resource == HrbcResource.Candidate ? "Person" : resource.Name)}Phase";
        return await GetOptionsAsync(rootAlias, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Option alias → name for every option, to show names where a read carried only aliases.</summary>
    public async Task<IReadOnlyDictionary<string, string>> GetOptionNamesAsync(CancellationToken cancellationToken)
    {
        var tree = await GetOptionTreeAsync(cancellationToken).ConfigureAwait(false);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var o in tree.SelectMany(t => t.SelfAndDescendants()))
        {
            names.TryAdd(o.Alias, o.Name);
        }
        return names;
    }

    public async Task<IReadOnlyList<HrbcUser>> GetUsersAsync(CancellationToken cancellationToken)
    {
        var users = new List<HrbcUser>();
        var start = 0;
        while (true)
        {
            var root = await GetAsync("user", [
                new("partition", Partition), new("request_type", "1"),
                new("field", "User.P_Id,User.P_Name,User.P_Mail"), new("count", "200"),
                new("start", start.ToString(CultureInfo.InvariantCulture)),
            ], cancellationToken).ConfigureAwait(false);
            var page = HrbcXml.ParsePage(root);
            users.AddRange(page.Items.Select(HrbcUser.From));
            start += page.Count;
            if (page.Count == 0 || start >= page.Total)
            {
                return users;
            }
        }
    }

    /// <summary>The app's own user (request_type=0 with a code_direct token): the owner of what BulkMail writes.</summary>
    public Task<HrbcUser> GetAppUserAsync(CancellationToken cancellationToken) =>
        cache.GetOrAddAsync("app-user", async ct =>
        {
            var root = await GetAsync("user", [
                new("partition", Partition), new("request_type", "0"), new("field", "User.P_Id,User.P_Name,User.P_Mail"),
            ], ct).ConfigureAwait(false);
            var item = HrbcXml.ParsePage(root).Items.FirstOrDefault()
                ?? throw new HrbcProtocolException("User Read with request_type=0 returned no user.");
            return HrbcUser.From(item);
        }, Options.MetadataCacheDuration, cancellationToken);

    // ---------------------------------------------------------------- attachments

    /// <summary>Attachment metadata of a record (without content).</summary>
    public async Task<IReadOnlyList<HrbcAttachment>> GetAttachmentsAsync(HrbcResource resource, long recordId, CancellationToken cancellationToken)
    {
        var list = new List<HrbcAttachment>();
        var start = 0;
        while (true)
        {
            var root = await GetAsync("attachment", [
                new("partition", Partition), new("requestType", "1"),
                new("resource", resource.Value.ToString(CultureInfo.InvariantCulture)),
                new("resourceId", recordId.ToString(CultureInfo.InvariantCulture)),
                new("count", "200"), new("start", start.ToString(CultureInfo.InvariantCulture)),
            ], cancellationToken).ConfigureAwait(false);
            var items = root.Elements("Item").ToList();
            list.AddRange(items.Select(ParseAttachment));
            start += items.Count;
            if (items.Count == 0 || start >= HrbcXml.Attr(root, "Total"))
            {
                return list;
            }
        }
    }

    /// <summary>One attachment with its content (requestType=0, Base64 in the XML).</summary>
    public async Task<HrbcAttachmentContent?> GetAttachmentContentAsync(HrbcResource resource, long attachmentId, CancellationToken cancellationToken)
    {
        var root = await GetAsync("attachment", [
            new("partition", Partition), new("requestType", "0"),
            new("resource", resource.Value.ToString(CultureInfo.InvariantCulture)),
            new("id", attachmentId.ToString(CultureInfo.InvariantCulture)),
        ], cancellationToken).ConfigureAwait(false);
        var item = root.Elements("Item").FirstOrDefault();
        if (item is null)
        {
            return null;
        }
        var content = item.Element("Content")?.Value ?? "";
        return new HrbcAttachmentContent(ParseAttachment(item), Convert.FromBase64String(content.Trim()));
    }

    // ---------------------------------------------------------------- writes

    /// <summary>Writes items (create and update mixed) in requests of at most 200 items whose whole request stays within
    /// <c>Hrbc:MaxRequestLength</c> characters (HRBC refuses longer ones with HTTP 400); one result per item, same order.</summary>
    public async Task<IReadOnlyList<HrbcWriteResult>> WriteAsync(HrbcResource resource, IReadOnlyList<HrbcWriteItem> items, CancellationToken cancellationToken)
    {
        var results = new List<HrbcWriteResult>(items.Count);
        var xml = items.Select(i => i.ToXml(resource)).ToList();
        // declaration, root element and request line
        var fixedLength = 64 + 2 * resource.Name.Length + 5 + $"v1/{resource.Path}?partition={Partition}".Length;
        var offset = 0;
        while (offset < items.Count)
        {
            var length = fixedLength;
            var count = 0;
            while (offset + count < items.Count && count < MaxItemsPerRequest)
            {
                var itemLength = xml[offset + count].ToString(SaveOptions.DisableFormatting).Length;
                if (count > 0 && length + itemLength > Options.MaxRequestLength)
                {
                    break;
                }
                length += itemLength;
                count++;
            }
            var batch = xml.GetRange(offset, count);
            var body = new XElement(resource.Name, batch);
            var root = await PostAsync(resource.Path, body, cancellationToken).ConfigureAwait(false);
            var answers = HrbcXml.ParseWriteResults(root);
            if (answers.Count != batch.Count)
            {
                throw new HrbcProtocolException($"HRBC answered {answers.Count} items for a write of {batch.Count}.");
            }
            results.AddRange(answers.Select(a => a with { Index = a.Index + offset }));
            offset += count;
        }
        return results;
    }

    /// <summary>
    /// Creates one Activity per entry, owned by the app user; one result per entry. At most once: HRBC has no
    /// idempotency key and no delete, and the resilience handler does not resend writes. When the answer is lost (a
    /// timeout, a dropped connection, a bare 5xx) the Activities are looked up by their markers, and only those not found
    /// are written again. With <paramref name="lookFirst"/> (an earlier call may have written them) that look comes first.
    /// </summary>
    public async Task<IReadOnlyList<HrbcWriteResult>> CreateActivitiesAsync(IReadOnlyList<HrbcActivityEntry> entries, CancellationToken cancellationToken,
        bool lookFirst = false)
    {
        var owner = await GetAppUserAsync(cancellationToken).ConfigureAwait(false);
        var items = entries.Select(e =>
        {
            var item = HrbcWriteItem.Create()
                .Set("Activity.P_Owner", owner.Id)
                .Set("Activity.P_Title", e.Title)
                .Set("Activity.P_Resource", e.Resource)
                .Set("Activity.P_ResourceId", e.ResourceId)
                .Set("Activity.P_FromDate", e.At);
            var memo = e.Marker is null || (e.Memo?.Contains(e.Marker, StringComparison.Ordinal) ?? false) ? e.Memo
                : string.IsNullOrEmpty(e.Memo) ? e.Marker : e.Memo + " " + e.Marker;
            if (memo is not null)
            {
                item.Set("Activity.P_Memo", memo);
            }
            return item;
        }).ToList();
        var results = new HrbcWriteResult?[entries.Count];
        var pending = Enumerable.Range(0, entries.Count).ToList();
        var markers = entries.All(e => !string.IsNullOrEmpty(e.Marker));
        // Registration dates are HRBC's clock: look back generously.
        var since = time.GetUtcNow() - TimeSpan.FromMinutes(10);
        if (lookFirst && markers && pending.Count > 0)
        {
            pending = await TakeFoundAsync(entries, pending, results, since, cancellationToken).ConfigureAwait(false);
        }
        for (var attempt = 0; pending.Count > 0; attempt++)
        {
            try
            {
                var written = await WriteAsync(HrbcResource.Activity, [.. pending.Select(i => items[i])], cancellationToken).ConfigureAwait(false);
                foreach (var r in written)
                {
                    results[pending[r.Index]] = r with { Index = pending[r.Index] };
                }
                break;
            }
            catch (Exception e) when (markers && attempt < Math.Max(1, Options.MaxRetries) && OutcomeUnknown(e))
            {
                Log.WriteUnknown(logger, "activity", pending.Count, LogSafe.Of(e));
                pending = await TakeFoundAsync(entries, pending, results, since, cancellationToken).ConfigureAwait(false);
            }
        }
        return [.. results.Select((r, i) => r ?? new HrbcWriteResult(i, null, 1000, "not written"))];
    }

    /// <summary>A failure after which HRBC may or may not have applied the write.</summary>
    public static bool OutcomeUnknown(Exception e) =>
        e is Polly.Timeout.TimeoutRejectedException or HttpRequestException or TaskCanceledException { InnerException: TimeoutException }
        || e is HrbcProtocolException { HttpStatus: null or >= 500 };

    /// <summary>Marks the pending entries whose Activity exists (found by marker) as written; returns those still to write.</summary>
    private async Task<List<int>> TakeFoundAsync(IReadOnlyList<HrbcActivityEntry> entries, List<int> pending, HrbcWriteResult?[] results,
        DateTimeOffset since, CancellationToken cancellationToken)
    {
        var markers = pending.Select(i => entries[i].Marker!).ToList();
        var prefix = markers.Aggregate((a, b) => a[..CommonPrefixLength(a, b)]);
        var condition = HrbcCondition.Where().Ge("Activity.P_RegistrationDate", since);
        if (prefix.Length >= 8 && prefix.IndexOfAny([',', '\r', '\n']) < 0)
        {
            condition = condition.Contains("Activity.P_Memo", prefix);
        }
        var found = new Dictionary<string, long>(StringComparer.Ordinal);
        await foreach (var record in ReadAllAsync(HrbcResource.Activity, new HrbcQuery { Fields = HrbcFieldList.Of("Activity.P_Id", "Activity.P_Memo"), Condition = condition },
            cancellationToken).ConfigureAwait(false))
        {
            var memo = record.Text("Activity.P_Memo") ?? "";
            foreach (var marker in markers)
            {
                if (record.Id is { } id && memo.Contains(marker, StringComparison.Ordinal))
                {
                    found.TryAdd(marker, id);
                }
            }
        }
        foreach (var i in pending)
        {
            if (found.TryGetValue(entries[i].Marker!, out var id))
            {
                results[i] = new HrbcWriteResult(i, id, 0, null);
            }
        }
        return [.. pending.Where(i => results[i] is null)];
    }

    private static int CommonPrefixLength(string a, string b)
    {
        var n = 0;
        while (n < a.Length && n < b.Length && a[n] == b[n])
        {
            n++;
        }
        return n;
    }

    // ---------------------------------------------------------------- transport

    private string Partition => Options.Partition.ToString(CultureInfo.InvariantCulture);

    private IEnumerable<KeyValuePair<string, string?>> ReadParameters(HrbcResource resource, HrbcQuery query)
    {
        yield return new("partition", Partition);
        yield return new("count", query.Count.ToString(CultureInfo.InvariantCulture));
        yield return new("start", query.Start.ToString(CultureInfo.InvariantCulture));
        if (query.Fields is { } f)
        {
            yield return new("field", f.ToString());
        }
        if (query.Condition is { IsEmpty: false } c)
        {
            yield return new("condition", c.ToString());
        }
        if (!string.IsNullOrWhiteSpace(query.Keywords))
        {
            yield return new("keywords", query.Keywords);
        }
        if (!string.IsNullOrWhiteSpace(query.Order))
        {
            yield return new("order", query.Order);
        }
    }

    /// <summary>The length of a read's request target, which HRBC caps at <see cref="MaxRequestLength"/> (checked before
    /// asking: a longer request is the caller's input, not HRBC's failure).</summary>
    public int ReadRequestLength(HrbcResource resource, HrbcQuery query) => RequestTarget(resource.Path, ReadParameters(resource, query)).Length;

    public int MaxRequestLength => Options.MaxRequestLength;

    /// <summary>The request target (path and query) as HRBC sees it; its length is what the ~15,000-character limit counts.</summary>
    private string RequestTarget(string path, IEnumerable<KeyValuePair<string, string?>> parameters)
    {
        var query = string.Join('&', parameters.Where(p => p.Value is not null)
            .Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value!)));
        var basePath = http.BaseAddress?.AbsolutePath ?? "/";
        return basePath + "v1/" + path + (query.Length > 0 ? "?" + query : "");
    }

    private Task<XElement> GetAsync(string path, IEnumerable<KeyValuePair<string, string?>> parameters, CancellationToken cancellationToken)
    {
        var target = RequestTarget(path, parameters);
        if (target.Length > Options.MaxRequestLength)
        {
            throw new HrbcRequestTooLongException(target.Length, Options.MaxRequestLength);
        }
        var relative = target[(http.BaseAddress?.AbsolutePath ?? "/").Length..];
        return SendAsync(() => new HttpRequestMessage(HttpMethod.Get, relative), path, cancellationToken);
    }

    private Task<XElement> PostAsync(string path, XElement body, CancellationToken cancellationToken)
    {
        var xml = new XDocument(new XDeclaration("1.0", "UTF-8", "yes"), body).Declaration + body.ToString(SaveOptions.DisableFormatting);
        return SendAsync(() =>
        {
            var content = new StringContent(xml, new UTF8Encoding(false));
            content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/xml; charset=UTF-8");
            return new HttpRequestMessage(HttpMethod.Post, $"v1/{path}?partition={Partition}") { Content = content };
        }, path, cancellationToken);
    }

    private async Task<XElement> SendAsync(Func<HttpRequestMessage> build, string what, CancellationToken cancellationToken)
    {
        string? rejected = null;
        for (var attempt = 0; ; attempt++)
        {
            var token = await tokens.GetAccessTokenAsync(auth, rejected, cancellationToken).ConfigureAwait(false);
            using var request = build();
            request.Headers.TryAddWithoutValidation(TokenHeader, token);
            var started = time.GetTimestamp();
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var root = await HrbcXml.TryLoadAsync(stream, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (root is null)
            {
                throw new HrbcProtocolException($"HRBC answered HTTP {status} without XML ({what}).", status);
            }
            var code = HrbcXml.RootCode(root);
            telemetry.HrbcRequests.Add(1, new KeyValuePair<string, object?>("endpoint", request.Method.Method + " " + what),
                new KeyValuePair<string, object?>("code", code ?? 0), new KeyValuePair<string, object?>("http.status", status));
            Log.Request(logger, request.Method.Method, what, status, code ?? 0, (long)time.GetElapsedTime(started).TotalMilliseconds);
            if (code == 401 && attempt == 0)
            {
                // The token expired on HRBC's side before our clock said so: renew once and repeat.
                rejected = token;
                continue;
            }
            if (code is { } c && c != 0)
            {
                var message = HrbcXml.RootMessage(root);
                throw new HrbcException(c, message.Length > 0 ? message : HrbcException.Describe(c), status);
            }
            if (!response.IsSuccessStatusCode)
            {
                throw new HrbcProtocolException($"HRBC answered HTTP {status} ({what}).", status);
            }
            return root;
        }
    }

    private static HrbcField ParseField(HrbcResource resource, XElement item)
    {
        var alias = item.Element("Field.P_Alias")?.Value.Trim() ?? "";
        if (!alias.Contains('.'))
        {
            alias = resource.Prefix + "." + alias; // some tenants send the alias without its prefix
        }
        var referTo = item.Element("Field.P_ReferTo") is { } r
            ? (r.HasElements ? r.Elements().First().Name.LocalName : NullIfEmpty(r.Value.Trim()))
            : null;
        return new HrbcField(
            ParseLong(item.Element("Field.P_Id")?.Value) ?? 0,
            alias,
            item.Element("Field.P_Name")?.Value ?? alias,
            (int)(ParseLong(item.Element("Field.P_Type")?.Value) ?? 0),
            item.Element("Field.P_Required")?.Value.Trim() == "1",
            referTo);
    }

    private static HrbcOptionItem ParseOption(XElement item) => new(
        ParseLong(item.Element("Option.P_Id")?.Value) ?? 0,
        item.Element("Option.P_Alias")?.Value.Trim() ?? "",
        item.Element("Option.P_Name")?.Value ?? "",
        ParseLong(item.Element("Option.P_ParentId")?.Value),
        (int)(ParseLong(item.Element("Option.P_Type")?.Value) ?? 0),
        (int)(ParseLong(item.Element("Option.P_Order")?.Value) ?? 0),
        [.. (item.Element("Items")?.Elements("Item") ?? []).Select(ParseOption)]);

    private static HrbcAttachment ParseAttachment(XElement item) => new(
        ParseLong(item.Element("Id")?.Value) ?? 0,
        (int)(ParseLong(item.Element("Resource")?.Value) ?? 0),
        ParseLong(item.Element("ResourceId")?.Value) ?? 0,
        item.Element("FileName")?.Value ?? "",
        item.Element("ContentType")?.Value ?? "application/octet-stream");

    private static long? ParseLong(string? s) =>
        long.TryParse(s?.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

    private static partial class Log
    {
        [LoggerMessage(11, LogLevel.Warning, "HRBC write of {Resource} lost its answer; looking up {Count} item(s) by marker before writing again")]
        public static partial void WriteUnknown(ILogger logger, string resource, int count, Exception exception);

        [LoggerMessage(10, LogLevel.Debug, "HRBC {Method} {Resource}: HTTP {Status}, code {Code}, {Elapsed} ms")]
        public static partial void Request(ILogger logger, string method, string resource, int status, int code, long elapsed);
    }
}
