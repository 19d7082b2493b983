using BulkMail.Api.Suppressions;
using BulkMail.Api.Templates;

namespace BulkMail.Api.Mailings;

/// <summary>
/// A delivery's message as it goes out: the template rendered with the delivery's values plus its own unsubscribe link
/// (<c>{{BulkMail.UnsubscribeUrl}}</c>), and, when the mailing has it, the opt-out footer after the body
/// (docs/opt-out.md). Sending, the preview and the test send all render through here, so what is previewed is what is sent.
/// </summary>
public sealed class MessageRenderer(OptOutFooter footer)
{
    /// <summary>The link a message that is not a delivery shows (preview samples before submit, the test send): it
    /// names no delivery and the unsubscribe page refuses it.</summary>
    public const string SampleToken = "preview";

    /// <param name="mailingId">Null before the mailing exists (preview, test): the link is the sample link.</param>
    /// <param name="delivery">The delivery the message goes to (null with <paramref name="mailingId"/>): its link unsubscribes
    /// its address, sealed into the link, so the link outlives the stored mailing.</param>
    public RenderedMail Render(MailTemplate template, MailingSpec spec, IReadOnlyDictionary<string, string?> values, string? mailingId, Delivery? delivery,
        string? senderName)
    {
        if (!spec.OptOutFooter && !template.Paths.Contains(OptOutFooter.Tag))
        {
            return template.Render(values);
        }
        var url = mailingId is null || delivery is not { Address: { } address }
            ? footer.SampleUrl()
            : footer.UrlFor(mailingId, delivery.Seq, new UnsubscribeRecipient(spec.Tenant, address, spec.Mode, delivery.RecordId, delivery.ResumeId));
        var withLink = new Dictionary<string, string?>(values, StringComparer.Ordinal) { [OptOutFooter.Tag] = url };
        var mail = template.Render(withLink);
        if (!spec.OptOutFooter)
        {
            return mail;
        }
        var block = footer.Html(url, senderName);
        var body = mail.HtmlBody;
        var end = body.LastIndexOf("</body>", StringComparison.OrdinalIgnoreCase);
        return mail with { HtmlBody = end >= 0 ? body[..end] + block + body[end..] : body + block };
    }
}
