using BulkMail.Api.Infrastructure;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace BulkMail.Api.Uploads;

/// <summary>An uploaded file's metadata, as the task pane sees it.</summary>
public sealed record UploadInfo(string Id, string Name, string ContentType, long Size);

public sealed record UploadedFile(UploadInfo Info, byte[] Content);

/// <summary>The user's unexpired uploads already come to <see cref="UsedBytes"/>: this one would pass Uploads:MaxBytesPerUser.</summary>
public sealed class UploadQuotaExceededException(long usedBytes, long maxBytes)
    : Exception($"Uploads come to {usedBytes} of {maxBytes} bytes.")
{
    public long UsedBytes { get; } = usedBytes;
    public long MaxBytes { get; } = maxBytes;
}

/// <summary>Files uploaded by users for their next mailing; each belongs to its uploader and expires.</summary>
public interface IUploadStore
{
    /// <summary>Keeps the file for <c>Uploads:Retention</c>; <see cref="UploadQuotaExceededException"/> when the owner's
    /// unexpired uploads and this one would pass <c>Uploads:MaxBytesPerUser</c> (checked and stored in one step).</summary>
    Task<UploadInfo> SaveAsync(string owner, string name, string contentType, byte[] content, CancellationToken cancellationToken);

    /// <summary>The owner's upload, or null (unknown, expired or someone else's).</summary>
    Task<UploadedFile?> GetAsync(string owner, string id, CancellationToken cancellationToken);
}

public sealed class RedisUploadStore(IConnectionMultiplexer redis, IOptions<MailingStoreOptions> store, IOptions<UploadOptions> options, TimeProvider time)
    : IUploadStore
{
    // A user's uploads and their usage share one hash tag, so the quota check and the store are one atomic step.
    private string Tag(string owner) => $"{store.Value.KeyPrefix}{{u:{OwnerKey.Of(owner)}}}";
    private RedisKey Key(string owner, string id) => $"{Tag(owner)}:upload:{id}";
    private RedisKey Usage(string owner) => $"{Tag(owner)}:usage";

    // KEYS: upload, usage. ARGV: now ms, expires ms, size, max, retention ms, member, owner, name, type, data.
    // Usage: a sorted set of "id:size" scored by expiry; expired entries are dropped before summing.
    private const string SaveScript = """
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
        local used = 0
        for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
          used = used + tonumber(string.match(m, ':(%d+)$'))
        end
        if used + tonumber(ARGV[3]) > tonumber(ARGV[4]) then return used end
        redis.call('HSET', KEYS[1], 'owner', ARGV[7], 'name', ARGV[8], 'type', ARGV[9], 'data', ARGV[10])
        redis.call('PEXPIRE', KEYS[1], ARGV[5])
        redis.call('ZADD', KEYS[2], ARGV[2], ARGV[6])
        redis.call('PEXPIRE', KEYS[2], ARGV[5])
        return -1
        """;

    public async Task<UploadInfo> SaveAsync(string owner, string name, string contentType, byte[] content, CancellationToken cancellationToken)
    {
        var info = new UploadInfo(UploadIds.New(), name, contentType, content.LongLength);
        var o = options.Value;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var retention = (long)o.Retention.TotalMilliseconds;
        var used = (long)await redis.GetDatabase().ScriptEvaluateAsync(SaveScript, [Key(owner, info.Id), Usage(owner)],
            [now, now + retention, content.LongLength, o.MaxBytesPerUser, retention, $"{info.Id}:{content.LongLength}", owner, name, contentType, content])
            .ConfigureAwait(false);
        return used >= 0 ? throw new UploadQuotaExceededException(used, o.MaxBytesPerUser) : info;
    }

    public async Task<UploadedFile?> GetAsync(string owner, string id, CancellationToken cancellationToken)
    {
        if (!UploadIds.IsValid(id))
        {
            return null;
        }
        var values = await redis.GetDatabase().HashGetAsync(Key(owner, id), ["owner", "name", "type", "data"]).ConfigureAwait(false);
        if (values[0].IsNull || (string?)values[0] != owner)
        {
            return null;
        }
        var data = (byte[])values[3]!;
        return new UploadedFile(new UploadInfo(id, (string)values[1]!, (string)values[2]!, data.LongLength), data);
    }
}

/// <summary>The demo's uploads, in memory, expiring on the injected clock.</summary>
public sealed class InMemoryUploadStore(TimeProvider time, IOptions<UploadOptions> options) : IUploadStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (string Owner, UploadedFile File, DateTimeOffset Expires)> _files = [];

    public Task<UploadInfo> SaveAsync(string owner, string name, string contentType, byte[] content, CancellationToken cancellationToken)
    {
        var info = new UploadInfo(UploadIds.New(), name, contentType, content.LongLength);
        lock (_gate)
        {
            var now = time.GetUtcNow();
            foreach (var expired in _files.Where(f => f.Value.Expires <= now).Select(f => f.Key).ToList())
            {
                _files.Remove(expired);
            }
            var used = _files.Values.Where(f => f.Owner == owner).Sum(f => f.File.Info.Size);
            if (used + content.LongLength > options.Value.MaxBytesPerUser)
            {
                throw new UploadQuotaExceededException(used, options.Value.MaxBytesPerUser);
            }
            _files[info.Id] = (owner, new UploadedFile(info, content), now + options.Value.Retention);
        }
        return Task.FromResult(info);
    }

    public Task<UploadedFile?> GetAsync(string owner, string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_files.TryGetValue(id, out var f) && f.Owner == owner && f.Expires > time.GetUtcNow() ? f.File : null);
        }
    }
}

internal static class UploadIds
{
    public static string New() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));

    public static bool IsValid(string id) => id.Length == 24 && id.All(char.IsAsciiHexDigitLower);
}
