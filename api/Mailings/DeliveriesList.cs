using System.Globalization;
using BulkMail.Api.Auth;
using BulkMail.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;

namespace BulkMail.Api.Mailings;

/// <summary>
/// <c>GET /api/mailings/{id}/deliveries?filter=replied|bounced|all&amp;cursor=&amp;count=</c>: the deliveries of one of the
/// caller's mailings, in delivery order, a page at a time — who replied (the pane's list), who bounced and why.
/// The cursor is the last delivery's number of the previous page; <c>nextCursor</c> is null on the last page.
/// </summary>
public static class DeliveriesList
{
    public const int DefaultCount = 50;
    public const int MaxCount = 200;

    public static async Task<Results<Ok<DeliveriesPage>, ValidationProblem, ProblemHttpResult>> ListAsync(string id, string? filter, string? cursor, int? count,
        HttpContext http, MailingService mailings, IMailingStore store, CancellationToken cancellationToken)
    {
        var mailing = await mailings.GetOwnedAsync(id, http.User.Sender(), cancellationToken).ConfigureAwait(false);
        if (mailing is null)
        {
            return Problems.Of(StatusCodes.Status404NotFound, ProblemCode.MailingNotFound, ("id", id));
        }
        var errors = new Dictionary<string, CodedText[]>();
        var which = (filter ?? "all").Trim().ToLowerInvariant();
        if (which is not ("all" or "replied" or "bounced"))
        {
            errors["filter"] = [CodedText.Of(ProblemCode.DeliveriesFilterInvalid, ("filter", filter ?? ""))];
        }
        var after = 0;
        if (!string.IsNullOrEmpty(cursor) && (!int.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out after) || after < 1))
        {
            errors["cursor"] = [CodedText.Of(ProblemCode.DeliveriesCursorInvalid)];
        }
        var take = count ?? DefaultCount;
        if (take is < 1 or > MaxCount)
        {
            errors["count"] = [CodedText.Of(ProblemCode.NumberOutOfRange, ("name", "count"), ("min", 1), ("max", MaxCount))];
        }
        if (errors.Count > 0)
        {
            return Problems.Validation(ProblemCode.ValidationFailed, errors);
        }
        var items = new List<DeliveryItem>();
        string? next = null;
        await foreach (var d in store.ReadDeliveriesAsync(mailing.Id, cancellationToken).ConfigureAwait(false))
        {
            if (d.Seq <= after || !Matches(d, which))
            {
                continue;
            }
            if (items.Count == take)
            {
                next = items[^1].Seq.ToString(CultureInfo.InvariantCulture);
                break;
            }
            items.Add(DeliveryItem.Of(mailing.Id, d));
        }
        return TypedResults.Ok(new DeliveriesPage(items, next));
    }

    private static bool Matches(Delivery d, string filter) => filter switch
    {
        "replied" => d.RepliedAt is not null,
        "bounced" => d.Status == DeliveryStatus.Bounced,
        _ => true,
    };
}

/// <summary>One page of the deliveries list.</summary>
public sealed record DeliveriesPage(IReadOnlyList<DeliveryItem> Items, string? NextCursor);

/// <summary>A delivery as the list shows it.</summary>
public sealed record DeliveryItem(string DeliveryId, string RecordType, long RecordId, string? RecordName, string? Address, DeliveryStatus Status,
    DateTimeOffset? RepliedAt, DateTimeOffset? BouncedAt, string? BounceReason, BounceKind? BounceKind)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public int Seq { get; init; }

    public static DeliveryItem Of(string mailingId, Delivery d) =>
        new(Delivery.IdOf(mailingId, d.Seq), d.RecordType, d.RecordId, d.RecordName, d.Address, d.Status, d.RepliedAt, d.BouncedAt, d.BounceReason, d.BounceKind)
        {
            Seq = d.Seq,
        };
}
