using BulkMail.Api.Modes;

using System.Collections.Concurrent;
using System.Text.Json;
using BulkMail.Api.Infrastructure;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace BulkMail.Api.Templates;

/// <summary>A saved subject + body pair of one user, listed per mode.</summary>
public sealed record SavedTemplate(string Id, string Owner, string Name, MailingMode? Mode, string Subject, string Body,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public interface ITemplateStore
{
    Task<IReadOnlyList<SavedTemplate>> ListAsync(string owner, CancellationToken cancellationToken);
    Task<SavedTemplate?> GetAsync(string owner, string id, CancellationToken cancellationToken);
    Task SaveAsync(SavedTemplate template, CancellationToken cancellationToken);

    /// <summary>Saves a new template unless the owner already has <paramref name="maxPerUser"/> (checked and stored in one step).</summary>
    Task<bool> TryAddAsync(SavedTemplate template, int maxPerUser, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string owner, string id, CancellationToken cancellationToken);
}

/// <summary>Templates in one Redis hash per user (id → JSON). Saved templates do not expire.</summary>
public sealed class RedisTemplateStore(IConnectionMultiplexer redis, IOptions<MailingStoreOptions> options) : ITemplateStore
{
    private RedisKey Key(string owner) => $"{options.Value.KeyPrefix}templates:{OwnerKey.Of(owner)}";

    public async Task<IReadOnlyList<SavedTemplate>> ListAsync(string owner, CancellationToken cancellationToken) =>
        [.. (await redis.GetDatabase().HashValuesAsync(Key(owner)).ConfigureAwait(false))
            .Select(v => JsonSerializer.Deserialize<SavedTemplate>((string)v!, StoreJson.Options)!)
            .OrderBy(t => t.Name, StringComparer.CurrentCulture)];

    public async Task<SavedTemplate?> GetAsync(string owner, string id, CancellationToken cancellationToken)
    {
        var v = await redis.GetDatabase().HashGetAsync(Key(owner), id).ConfigureAwait(false);
        return v.IsNull ? null : JsonSerializer.Deserialize<SavedTemplate>((string)v!, StoreJson.Options);
    }

    public Task SaveAsync(SavedTemplate template, CancellationToken cancellationToken) =>
        redis.GetDatabase().HashSetAsync(Key(template.Owner), template.Id, JsonSerializer.Serialize(template, StoreJson.Options));

    private const string AddScript = """
        if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
        redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
        return 1
        """;

    public async Task<bool> TryAddAsync(SavedTemplate template, int maxPerUser, CancellationToken cancellationToken) =>
        (int)await redis.GetDatabase().ScriptEvaluateAsync(AddScript, [Key(template.Owner)],
            [maxPerUser, template.Id, JsonSerializer.Serialize(template, StoreJson.Options)]).ConfigureAwait(false) == 1;

    public Task<bool> DeleteAsync(string owner, string id, CancellationToken cancellationToken) =>
        redis.GetDatabase().HashDeleteAsync(Key(owner), id);
}

public sealed class InMemoryTemplateStore : ITemplateStore
{
    private readonly ConcurrentDictionary<(string Owner, string Id), SavedTemplate> _templates = new();
    private readonly Lock _gate = new(); // makes the cap's count-and-add one step

    public Task<IReadOnlyList<SavedTemplate>> ListAsync(string owner, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<SavedTemplate>>([.. _templates.Values.Where(t => t.Owner == owner).OrderBy(t => t.Name, StringComparer.CurrentCulture)]);

    public Task<SavedTemplate?> GetAsync(string owner, string id, CancellationToken cancellationToken) =>
        Task.FromResult(_templates.GetValueOrDefault((owner, id)));

    public Task SaveAsync(SavedTemplate template, CancellationToken cancellationToken)
    {
        _templates[(template.Owner, template.Id)] = template;
        return Task.CompletedTask;
    }

    public Task<bool> TryAddAsync(SavedTemplate template, int maxPerUser, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_templates.Keys.Count(k => k.Owner == template.Owner) >= maxPerUser)
            {
                return Task.FromResult(false);
            }
            _templates[(template.Owner, template.Id)] = template;
            return Task.FromResult(true);
        }
    }

    public Task<bool> DeleteAsync(string owner, string id, CancellationToken cancellationToken) =>
        Task.FromResult(_templates.TryRemove((owner, id), out _));
}
