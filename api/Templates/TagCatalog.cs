using BulkMail.Api.Modes;
using BulkMail.Api.Hrbc;

namespace BulkMail.Api.Templates;

/// <summary>A resource whose fields a template of a mode may use, and how it is reached from the record read.</summary>
public sealed record TagResource(HrbcResource Resource, string Label);

/// <summary>
/// Which tags a mode's templates may use: every field alias of every resource in the mode's context (from HRBC
/// Field Read, so custom <c>U_</c> fields work), plus the sender's <c>User.P_Name</c> and <c>User.P_Mail</c> and the
/// recipient's unsubscribe link <c>BulkMail.UnsubscribeUrl</c>.
/// </summary>
public sealed class TagCatalog(HrbcClient hrbc)
{
    public static readonly IReadOnlyList<string> UserTags = ["User.P_Name", "User.P_Mail"];

    /// <summary>The unsubscribe link of the delivery (the same name as the Suppressions folder's OptOutFooter.Tag).</summary>
    public const string UnsubscribeUrlTag = "BulkMail.UnsubscribeUrl";

    /// <summary>Every usable tag of the mode with its label and type, for validation and the tag inserter.</summary>
    public async Task<IReadOnlyDictionary<string, HrbcField>> TagsAsync(MailingMode mode, CancellationToken cancellationToken)
    {
        var tags = new Dictionary<string, HrbcField>(StringComparer.Ordinal);
        foreach (var resource in ModeShape.Of(mode).TagContext)
        {
            foreach (var f in await hrbc.GetFieldsAsync(resource, cancellationToken).ConfigureAwait(false))
            {
                // Image and Link values are not text a mail can carry.
                if (f.Type is not (HrbcFieldType.Image or HrbcFieldType.Link))
                {
                    tags.TryAdd(f.Alias, f);
                }
            }
        }
        tags["User.P_Name"] = new HrbcField(0, "User.P_Name", "送信者の氏名", HrbcFieldType.SinglelineText, false, null);
        tags["User.P_Mail"] = new HrbcField(0, "User.P_Mail", "送信者のメールアドレス", HrbcFieldType.Mail, false, null);
        // The recipient's own opt-out link (docs/opt-out.md), rendered per delivery; not an HRBC field.
        tags[UnsubscribeUrlTag] = new HrbcField(0, UnsubscribeUrlTag, "配信停止リンク", HrbcFieldType.Url, false, null);
        return tags;
    }
}
