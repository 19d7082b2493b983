using System.Text.Json;
using BulkMail.Api.Infrastructure;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace BulkMail.Api.Suppressions;

/// <summary>
/// The list in Redis, shared by every instance. A tenant's keys share one hash tag (the SHA-256 of the tenant id, as
/// <see cref="OwnerKey"/> names a user), so adds and removes are single atomic scripts on one cluster slot:
/// <c>…{s:hash}:entries</c> (hash: address → entry JSON) and <c>…{s:hash}:index</c> (sorted set, all scores 0, for
/// paging in address order with ZRANGEBYLEX). Entries never expire: a suppression holds until someone deletes it.
/// </summary>
public sealed class RedisSuppressionList(IConnectionMultiplexer redis, IOptions<MailingStoreOptions> store, TimeProvider time) : ISuppressionList
{
    private const int ScanBatch = 1000;

    private string Tag(string tenant) => $"{store.Value.KeyPrefix}{{s:{OwnerKey.Of(tenant)}}}";
    private RedisKey Entries(string tenant) => $"{Tag(tenant)}:entries";
    private RedisKey Index(string tenant) => $"{Tag(tenant)}:index";

    // KEYS[1] entries, KEYS[2] index; ARGV: address, json pairs. Returns how many were new. One script: all or none.
    private const string AddScript = """
        local added = 0
        for i = 1, #ARGV, 2 do
          if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
            redis.call('ZADD', KEYS[2], 0, ARGV[i])
            added = added + 1
          end
        end
        return added
        """;

    private const string RemoveScript = """
        redis.call('ZREM', KEYS[2], ARGV[1])
        return redis.call('HDEL', KEYS[1], ARGV[1])
        """;

    public async Task<bool> AddAsync(string tenant, string address, string? reason, string? source, string? mailingId, SuppressionCode code,
        CancellationToken cancellationToken) =>
        await AddManyAsync(tenant, [new Suppression(address, reason, code, time.GetUtcNow(), mailingId, source)], cancellationToken).ConfigureAwait(false) == 1;

    public async Task<int> AddManyAsync(string tenant, IReadOnlyList<Suppression> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return 0;
        }
        var args = entries.SelectMany(e => new RedisValue[] { e.Address, JsonSerializer.Serialize(e, StoreJson.Options) }).ToArray();
        var added = await redis.GetDatabase().ScriptEvaluateAsync(AddScript, [Entries(tenant), Index(tenant)], args).WaitAsync(cancellationToken).ConfigureAwait(false);
        return (int)added;
    }

    public async Task<IReadOnlySet<string>> FindAsync(string tenant, IReadOnlyCollection<string> addresses, CancellationToken cancellationToken)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (addresses.Count == 0)
        {
            return found;
        }
        var list = addresses.Distinct(StringComparer.Ordinal).ToArray();
        var values = await redis.GetDatabase().HashExistsManyAsync(Entries(tenant), list, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < list.Length; i++)
        {
            if (values[i])
            {
                found.Add(list[i]);
            }
        }
        return found;
    }

    public async Task<Suppression?> GetAsync(string tenant, string address, CancellationToken cancellationToken)
    {
        var json = await redis.GetDatabase().HashGetAsync(Entries(tenant), address).WaitAsync(cancellationToken).ConfigureAwait(false);
        return json.IsNull ? null : JsonSerializer.Deserialize<Suppression>((string)json!, StoreJson.Options);
    }

    public async Task<bool> RemoveAsync(string tenant, string address, CancellationToken cancellationToken) =>
        (int)await redis.GetDatabase().ScriptEvaluateAsync(RemoveScript, [Entries(tenant), Index(tenant)], [address])
            .WaitAsync(cancellationToken).ConfigureAwait(false) == 1;

    public async Task<SuppressionPage> ListAsync(string tenant, string? after, int count, string? contains, CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        var index = Index(tenant);
        var addresses = new List<string>();
        var more = false;
        int total;
        if (contains is null)
        {
            total = (int)await db.SortedSetLengthAsync(index).WaitAsync(cancellationToken).ConfigureAwait(false);
            var page = await db.SortedSetRangeByValueAsync(index, after is null ? default : after, default, after is null ? Exclude.None : Exclude.Start, Order.Ascending, 0, count + 1)
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            addresses.AddRange(page.Take(count).Select(v => (string)v!));
            more = page.Length > count;
        }
        else
        {
            // A filtered page walks the index in batches (the whole list, to count the matches); bounded by the list's size.
            total = 0;
            RedisValue from = default;
            var exclude = Exclude.None;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = await db.SortedSetRangeByValueAsync(index, from, default, exclude, Order.Ascending, 0, ScanBatch).ConfigureAwait(false);
                foreach (var v in batch)
                {
                    var a = (string)v!;
                    if (!a.Contains(contains, StringComparison.Ordinal))
                    {
                        continue;
                    }
                    total++;
                    if (after is not null && string.CompareOrdinal(a, after) <= 0)
                    {
                        continue;
                    }
                    if (addresses.Count < count)
                    {
                        addresses.Add(a);
                    }
                    else
                    {
                        more = true;
                    }
                }
                if (batch.Length < ScanBatch)
                {
                    break;
                }
                (from, exclude) = (batch[^1], Exclude.Start);
            }
        }
        var items = new List<Suppression>();
        if (addresses.Count > 0)
        {
            var values = await db.HashGetAsync(Entries(tenant), [.. addresses.Select(a => (RedisValue)a)]).WaitAsync(cancellationToken).ConfigureAwait(false);
            items.AddRange(values.Where(v => !v.IsNull).Select(v => JsonSerializer.Deserialize<Suppression>((string)v!, StoreJson.Options)!));
        }
        return new SuppressionPage(items, total, more && items.Count > 0 ? items[^1].Address : null);
    }
}

internal static class RedisHashExtensions
{
    /// <summary>HEXISTS for many fields in one round trip (a batch).</summary>
    public static async Task<bool[]> HashExistsManyAsync(this IDatabase db, RedisKey key, string[] fields, CancellationToken cancellationToken)
    {
        var batch = db.CreateBatch();
        var tasks = fields.Select(f => batch.HashExistsAsync(key, f)).ToArray();
        batch.Execute();
        return await Task.WhenAll(tasks).WaitAsync(cancellationToken).ConfigureAwait(false);
    }
}
