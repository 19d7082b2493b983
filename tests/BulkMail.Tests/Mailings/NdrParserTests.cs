using System.Text;
using BulkMail.Api.Mail;
using BulkMail.Api.Mailings;
using BulkMail.Sandbox.Graph;

namespace BulkMail.Tests.Mailings;

/// <summary>NDRs read with MimeKit in every shape the sandbox makes (and two written by hand), the hard/soft table, and
/// what counts as an automatic reply (docs/graph.md, Replies and bounces).</summary>
public class NdrParserTests
{
    private const string MessageId = "<TYCP286MB0001ABCD@TYCP286MB0001.JPNP286.PROD.OUTLOOK.COM>";
    private static readonly Dictionary<string, string> XHeaders = new() { ["X-BulkMail-Delivery"] = "0123456789abcdef-42" };

    private static NonDelivery Shape(NdrShape shape, string status = "5.1.1", string diagnostic = "smtp; 550 5.1.1 RESOLVER.ADR.RecipNotFound; not found") =>
        NdrParser.Parse(SandboxNdrs.Build(shape, "MicrosoftExchange@bulkmail.example", "demo@bulkmail.example", "Undeliverable: 求人のご案内",
            "taro@unknown.example", MessageId, "求人のご案内", XHeaders, status, diagnostic));

    [Fact]
    public void A_report_with_the_returned_headers_names_the_delivery_by_our_header()
    {
        var ndr = Shape(NdrShape.WithDeliveryHeader);
        Assert.Equal("0123456789abcdef-42", ndr.DeliveryId);
        Assert.Equal("TYCP286MB0001ABCD@TYCP286MB0001.JPNP286.PROD.OUTLOOK.COM", ndr.OriginalMessageId);
        Assert.Equal("taro@unknown.example", ndr.Recipient);
        Assert.Equal("failed", ndr.Action);
        Assert.True(ndr.IsFailure);
        Assert.Equal("5.1.1", ndr.Status);
        // the folded Diagnostic-Code is unfolded
        Assert.Equal("5.1.1 smtp; 550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", ndr.Reason);
        Assert.Equal(new BounceClass(BounceKind.Hard, BounceCategory.UnknownRecipient), ndr.Class);
    }

    [Fact]
    public void A_regenerated_report_without_x_headers_still_has_the_original_message_id()
    {
        var ndr = Shape(NdrShape.MessageIdOnly);
        Assert.Null(ndr.DeliveryId);
        Assert.Equal("TYCP286MB0001ABCD@TYCP286MB0001.JPNP286.PROD.OUTLOOK.COM", ndr.OriginalMessageId);
        Assert.Equal("taro@unknown.example", ndr.Recipient);
        Assert.True(ndr.IsFailure);
    }

    [Fact]
    public void A_report_without_original_headers_gives_the_recipient_only()
    {
        var ndr = Shape(NdrShape.NoOriginalHeaders, "5.2.2", "smtp; 552 5.2.2 mailbox full");
        Assert.Null(ndr.DeliveryId);
        Assert.Null(ndr.OriginalMessageId);
        Assert.Equal("taro@unknown.example", ndr.Recipient);
        Assert.Equal(new BounceClass(BounceKind.Soft, BounceCategory.MailboxFull), ndr.Class);
    }

    [Fact]
    public void Base64_parts_are_decoded_the_status_and_the_returned_headers_included()
    {
        var mime = SandboxNdrs.Build(NdrShape.Base64, "MicrosoftExchange@bulkmail.example", "demo@bulkmail.example", "Undeliverable: x",
            "taro@unknown.example", MessageId, "x", XHeaders, "5.4.1", "smtp; 550 5.4.1 Recipient address rejected: Access denied");
        Assert.Contains("Content-Transfer-Encoding: base64", mime, StringComparison.Ordinal);
        Assert.DoesNotContain("Final-Recipient", mime, StringComparison.Ordinal); // only in the encoded part
        var ndr = NdrParser.Parse(mime);
        Assert.Equal("TYCP286MB0001ABCD@TYCP286MB0001.JPNP286.PROD.OUTLOOK.COM", ndr.OriginalMessageId);
        Assert.Equal("taro@unknown.example", ndr.Recipient);
        Assert.Equal("5.4.1", ndr.Status);
        Assert.Contains("couldn't be delivered", ndr.Text, StringComparison.Ordinal);
        Assert.Equal(BounceKind.Hard, ndr.Class.Kind);
    }

    [Fact]
    public void A_quoted_printable_japanese_report_with_the_original_as_message_rfc822()
    {
        var ndr = Shape(NdrShape.QuotedPrintableJapanese);
        Assert.Equal("TYCP286MB0001ABCD@TYCP286MB0001.JPNP286.PROD.OUTLOOK.COM", ndr.OriginalMessageId);
        Assert.Null(ndr.DeliveryId);
        Assert.Contains("配信に失敗しました", ndr.Text, StringComparison.Ordinal);
        Assert.True(ndr.IsFailure);
    }

    [Fact]
    public void A_delay_notice_is_not_a_failure()
    {
        var ndr = Shape(NdrShape.Delayed);
        Assert.Equal("delayed", ndr.Action);
        Assert.Equal("4.4.7", ndr.Status);
        Assert.False(ndr.IsFailure);
        Assert.Equal(new BounceClass(BounceKind.Soft, BounceCategory.Expired), ndr.Class);
    }

    [Fact]
    public void An_iso_2022_jp_report_rejecting_a_password_zip_is_a_soft_policy_bounce_about_the_attachment()
    {
        var text = "パスワード付きZIPファイルは受信できません。";
        var jis = Convert.ToBase64String(CodePagesEncodingProvider.Instance.GetEncoding("iso-2022-jp")!.GetBytes(text));
        var mime = "From: postmaster@partner.example\r\nTo: demo@bulkmail.example\r\nSubject: =?iso-2022-jp?B?GyRCR1s/LklURz0bKEI=?=\r\nMIME-Version: 1.0\r\n" +
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
            $"--b\r\nContent-Type: text/plain; charset=iso-2022-jp\r\nContent-Transfer-Encoding: base64\r\n\r\n{jis}\r\n" +
            "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.partner.example\r\n\r\n" +
            "Final-Recipient: rfc822; hanako@partner.example\r\nAction: failed\r\nStatus: 5.7.1\r\nDiagnostic-Code: smtp; 550 5.7.1 Message rejected by policy\r\n\r\n" +
            "--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <abc@x>\r\nX-BulkMail-Delivery: 0123456789abcdef-7\r\n\r\n--b--\r\n";
        var ndr = NdrParser.Parse(mime);
        Assert.Equal("0123456789abcdef-7", ndr.DeliveryId);
        Assert.Equal("abc@x", ndr.OriginalMessageId);
        Assert.Equal("hanako@partner.example", ndr.Recipient);
        Assert.Contains(text, ndr.Text, StringComparison.Ordinal);
        Assert.Equal(new BounceClass(BounceKind.Soft, BounceCategory.EncryptedAttachment), ndr.Class);
    }

    [Fact]
    public void Mail_that_is_no_report_names_nothing()
    {
        var ndr = NdrParser.Parse("Subject: Undeliverable: hello\r\n\r\nno report here");
        Assert.Null(ndr.DeliveryId);
        Assert.Null(ndr.OriginalMessageId);
        Assert.Null(ndr.Recipient);
        Assert.False(ndr.IsFailure);
        Assert.Equal(("0123456789abcdef", 42), NdrParser.SplitDeliveryId("0123456789abcdef-42"));
    }

    [Theory]
    [InlineData("5.1.1", "", "", BounceKind.Hard, BounceCategory.UnknownRecipient)]
    [InlineData("5.1.10", "smtp; 550 5.1.10 RESOLVER.ADR.RecipientNotFound", "", BounceKind.Hard, BounceCategory.UnknownRecipient)]
    [InlineData("5.1.2", "", "", BounceKind.Hard, BounceCategory.UnknownDomain)]
    [InlineData("5.4.1", "", "", BounceKind.Hard, BounceCategory.UnknownDomain)]
    [InlineData("5.4.4", "smtp; 554 5.4.4 SMTPSEND.DNS.NonExistentDomain", "", BounceKind.Hard, BounceCategory.UnknownDomain)]
    [InlineData("5.2.1", "", "", BounceKind.Hard, BounceCategory.MailboxDisabled)]
    [InlineData("5.2.2", "", "", BounceKind.Soft, BounceCategory.MailboxFull)]
    [InlineData("5.3.4", "smtp; 552 5.3.4 Message size exceeds fixed maximum message size", "", BounceKind.Soft, BounceCategory.MessageTooBig)]
    [InlineData("4.4.7", "", "", BounceKind.Soft, BounceCategory.Expired)]
    [InlineData("5.4.7", "", "", BounceKind.Soft, BounceCategory.Expired)]
    [InlineData("4.2.2", "", "", BounceKind.Soft, BounceCategory.Transient)]
    [InlineData("5.7.1", "smtp; 550 5.7.1 Delivery not authorized", "", BounceKind.Soft, BounceCategory.Policy)]
    [InlineData("5.7.1", "smtp; 550 5.7.1 Encrypted attachments are not allowed", "", BounceKind.Soft, BounceCategory.EncryptedAttachment)]
    [InlineData("5.7.1", "", "暗号化された添付ファイルは受け付けません", BounceKind.Soft, BounceCategory.EncryptedAttachment)]
    [InlineData("5.7.233", "smtp; 550 5.7.233 Tenant has exceeded the external recipient rate limit", "", BounceKind.Soft, BounceCategory.RateLimited)]
    [InlineData("5.6.0", "", "", BounceKind.Soft, BounceCategory.Other)]
    [InlineData("5.0.0", "", "", BounceKind.Hard, BounceCategory.Other)]
    public void The_enhanced_status_code_decides_hard_or_soft(string status, string diagnostic, string text, BounceKind kind, BounceCategory category) =>
        Assert.Equal(new BounceClass(kind, category), BounceClassifier.Classify(status, diagnostic, text));

    [Fact]
    public void Without_a_status_a_bounce_is_soft_an_address_is_never_suppressed_on_a_guess() =>
        Assert.Equal(BounceKind.Soft, BounceClassifier.Classify(null, null, "something went wrong").Kind);

    [Fact]
    public void Message_ids_of_in_reply_to_and_references_are_read_without_brackets() =>
        Assert.Equal(["a@b", "c@d.example"], MessageIds.All("<a@b>\r\n <c@d.example>").ToArray());

    private static InboxMessage Message(string messageClass, params (string Name, string Value)[] headers) =>
        new("id", DateTimeOffset.UnixEpoch, messageClass, "conv", "<m@x>", "a@b", [.. headers.Select(h => new KeyValuePair<string, string>(h.Name, h.Value))]);

    [Fact]
    public void Out_of_office_and_other_automatic_answers_are_recognised_by_class_and_headers()
    {
        Assert.True(AutoReplies.Is(Message("IPM.Note.Rules.OofTemplate.Microsoft")));
        Assert.True(AutoReplies.Is(Message("IPM.Note.Rules.ReplyTemplate.Microsoft")));
        Assert.True(AutoReplies.Is(Message("IPM.Note", ("Auto-Submitted", "auto-replied"))));
        Assert.True(AutoReplies.Is(Message("IPM.Note", ("X-Auto-Response-Suppress", "All"))));
        Assert.True(AutoReplies.Is(Message("IPM.Note", ("Precedence", "auto_reply"))));
        Assert.False(AutoReplies.Is(Message("IPM.Note", ("Auto-Submitted", "no"), ("In-Reply-To", "<m@x>"))));
        Assert.False(AutoReplies.Is(Message("IPM.Note")));
    }
}
