using System.Net.Mail;
using System.Text.Json.Serialization;

namespace BulkMail.Api.Suppressions;

/// <summary>Why an address is on the suppression list (<c>code</c> of an entry).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SuppressionCode>))]
public enum SuppressionCode { Unsubscribed, HardBounce, Manual, Imported }

/// <summary>One suppressed address of a tenant: nobody in the tenant mails it again until it is deleted.</summary>
/// <param name="Address">Normalised (<see cref="SuppressionAddress.Normalize"/>): trimmed, lower case.</param>
/// <param name="Reason">Free text (at most <see cref="SuppressionAddress.MaxReasonLength"/> characters).</param>
/// <param name="MailingId">The mailing the unsubscribe link or the bounce came from, if any.</param>
/// <param name="Source">Who or what added it: <c>api</c>, <c>import</c>, <c>unsubscribe</c>, <c>bounce</c>.</param>
public sealed record Suppression(string Address, string? Reason, SuppressionCode Code, DateTimeOffset AddedAt, string? MailingId, string? Source);

/// <summary>A page of the list in address order; <see cref="NextCursor"/> is null on the last page.</summary>
public sealed record SuppressionPage(IReadOnlyList<Suppression> Items, int Total, string? NextCursor);

/// <summary>
/// The per-tenant suppression list (docs/opt-out.md). A tenant is the organisation (Entra <c>tid</c>; one default tenant
/// with Development sign-in), so an address unsubscribed from one recruiter's newsletter is not mailed by a colleague.
/// Every method takes a normalised address (<see cref="SuppressionAddress.Normalize"/>); adding keeps the first entry
/// of an address (its when, why and mailing), so repeating an unsubscribe or a bounce changes nothing.
/// </summary>
public interface ISuppressionList
{
    /// <summary>Adds one address; false when it was already on the list (the existing entry is kept as it is).</summary>
    Task<bool> AddAsync(string tenant, string address, string? reason, string? source, string? mailingId, SuppressionCode code,
        CancellationToken cancellationToken);

    /// <summary>Adds several in one atomic step (all or none are written); returns how many were new.</summary>
    Task<int> AddManyAsync(string tenant, IReadOnlyList<Suppression> entries, CancellationToken cancellationToken);

    /// <summary>Which of <paramref name="addresses"/> are on the list.</summary>
    Task<IReadOnlySet<string>> FindAsync(string tenant, IReadOnlyCollection<string> addresses, CancellationToken cancellationToken);

    Task<Suppression?> GetAsync(string tenant, string address, CancellationToken cancellationToken);

    /// <summary>Removes an address; false when it was not on the list.</summary>
    Task<bool> RemoveAsync(string tenant, string address, CancellationToken cancellationToken);

    /// <summary>A page in address order after <paramref name="after"/> (exclusive; null from the start), of the
    /// addresses containing <paramref name="contains"/> (null: all). Total counts the matching addresses.</summary>
    Task<SuppressionPage> ListAsync(string tenant, string? after, int count, string? contains, CancellationToken cancellationToken);
}

/// <summary>How an address is compared on the list: Exchange Online treats both the local part and the domain without
/// regard to case, so the list keeps addresses trimmed and in lower case (<c>Taro@Example.COM</c> and
/// <c>taro@example.com</c> are one entry).</summary>
public static class SuppressionAddress
{
    public const int MaxLength = 254;
    public const int MaxReasonLength = 500;

    /// <summary>The normalised address, or null when <paramref name="value"/> is not one mail address.</summary>
    public static string? Normalize(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        var address = value.Trim().ToLowerInvariant();
        if (address.Length > MaxLength || address.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>' or ',' or ';' or '"')
            || address.IndexOf('@') is var at && (at <= 0 || at != address.LastIndexOf('@') || at == address.Length - 1)
            || !MailAddress.TryCreate(address, out var parsed) || parsed.Address != address)
        {
            return null;
        }
        return address;
    }

    /// <summary>The address as the unsubscribe page shows it: the first character of the local part, then <c>***</c>
    /// (<c>t***@example.com</c>).</summary>
    public static string Mask(string address)
    {
        var at = address.IndexOf('@');
        return at <= 0 ? "***" : address[..1] + "***" + address[at..];
    }
}

/// <summary>The list in this process (Development and tests): per tenant, addresses in order.</summary>
public sealed class InMemorySuppressionList(TimeProvider time) : ISuppressionList
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SortedDictionary<string, Suppression>> _tenants = new(StringComparer.Ordinal);

    private SortedDictionary<string, Suppression> Of(string tenant)
    {
        if (!_tenants.TryGetValue(tenant, out var list))
        {
            _tenants[tenant] = list = new SortedDictionary<string, Suppression>(StringComparer.Ordinal);
        }
        return list;
    }

    public Task<bool> AddAsync(string tenant, string address, string? reason, string? source, string? mailingId, SuppressionCode code,
        CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(Of(tenant).TryAdd(address, new Suppression(address, reason, code, time.GetUtcNow(), mailingId, source)));
        }
    }

    public Task<int> AddManyAsync(string tenant, IReadOnlyList<Suppression> entries, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var list = Of(tenant);
            return Task.FromResult(entries.Count(e => list.TryAdd(e.Address, e)));
        }
    }

    public Task<IReadOnlySet<string>> FindAsync(string tenant, IReadOnlyCollection<string> addresses, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var list = Of(tenant);
            return Task.FromResult<IReadOnlySet<string>>(addresses.Where(list.ContainsKey).ToHashSet(StringComparer.Ordinal));
        }
    }

    public Task<Suppression?> GetAsync(string tenant, string address, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(Of(tenant).GetValueOrDefault(address));
        }
    }

    public Task<bool> RemoveAsync(string tenant, string address, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(Of(tenant).Remove(address));
        }
    }

    public Task<SuppressionPage> ListAsync(string tenant, string? after, int count, string? contains, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var matching = Of(tenant).Values.Where(s => contains is null || s.Address.Contains(contains, StringComparison.Ordinal)).ToList();
            var rest = matching.Where(s => after is null || string.CompareOrdinal(s.Address, after) > 0).Take(count + 1).ToList();
            var items = rest.Take(count).ToList();
            return Task.FromResult(new SuppressionPage(items, matching.Count, rest.Count > count ? items[^1].Address : null));
        }
    }
}
