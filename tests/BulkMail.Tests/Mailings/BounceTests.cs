using System.Globalization;
using BulkMail.Api.Hrbc;
using BulkMail.Api.Mailings;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Mailings;

/// <summary>Bounces found in the sender's Inbox (NDRs) and added to the results (docs/architecture.md, Bounces).</summary>
public class BounceTests(RedisServerFixture redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void An_ndr_names_the_delivery_the_recipient_and_the_reason()
    {
        const string mime = "From: MicrosoftExchange@contoso.example\r\nSubject: =?UTF-8?B?6YWN5L+h5LiN6IO9?=\r\n" +
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n" +
            "配信できませんでした。\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns;mx.contoso.example\r\n\r\n" +
            "Final-Recipient: rfc822;taro@unknown.example\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1\r\n" +
            " RESOLVER.ADR.RecipNotFound; not found\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <x@y>\r\n" +
            "X-BulkMail-Delivery: 0123456789abcdef-42\r\nSubject: =?UTF-8?B?5pyI?=\r\n\r\n--b--\r\n";
        var ndr = NdrParser.Parse(mime);
        Assert.Equal("0123456789abcdef-42", ndr.DeliveryId);
        Assert.Equal("taro@unknown.example", ndr.Recipient);
        Assert.Equal("5.1.1 smtp; 550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", ndr.Reason);
        Assert.Equal(("0123456789abcdef", 42), NdrParser.SplitDeliveryId(ndr.DeliveryId));
        Assert.Null(NdrParser.Parse("Subject: Undeliverable: hello\r\n\r\nno report here").DeliveryId);
    }

    [Fact]
    public async Task Bounced_recipients_are_marked_in_the_status_and_the_csv_after_the_mailing()
    {
        await using var e = await EngineHarness.StartAsync(redis, new Dictionary<string, string?> { ["Bounces:ScanInterval"] = "00:00:00.200" });
        var ids = new long[] { 10002, 10003, 10004 };
        foreach (var (id, address) in new[] { (10002L, "gone.one@bounce.example"), (10003L, "gone.two@bounce.example") })
        {
            var resume = (await e.Hrbc.Client.GetResumeAsync(id, Ct))!;
            var written = await e.Hrbc.Client.WriteAsync(HrbcResource.Candidate,
                [new HrbcWriteItem(resume.CandidateId!.Value).Set("Person.P_Mail", address)], Ct);
            Assert.True(written[0].Succeeded, written[0].Message);
        }
        var mailing = await e.SubmitAsync(EngineHarness.Newsletter(ids));
        await e.WaitForAsync(mailing, TimeSpan.FromMinutes(1), "Completed");
        Assert.Equal(2, e.Graph.Inbox(EngineHarness.User).Count); // the NDRs arrived

        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var status = await e.StatusAsync(mailing);
        while (status.GetProperty("bounced").GetInt32() < 2 && DateTime.UtcNow < until)
        {
            await Task.Delay(100, Ct);
            status = await e.StatusAsync(mailing);
        }
        Assert.Equal(2, status.GetProperty("bounced").GetInt32());
        Assert.Equal(status.GetProperty("total").GetInt32() - 2 - status.GetProperty("skipped").GetInt32(), status.GetProperty("sent").GetInt32());
        var rows = Csv.Parse(await e.CsvAsync(mailing)).Skip(1).ToList();
        foreach (var r in rows.Where(r => r[7].EndsWith("@bounce.example", StringComparison.Ordinal)))
        {
            Assert.Equal("Bounced", r[8]);
            Assert.NotEmpty(r[11]); // when it was sent
            Assert.True(DateTimeOffset.Parse(r[13], CultureInfo.InvariantCulture) >= DateTimeOffset.Parse(r[11], CultureInfo.InvariantCulture).AddSeconds(-1));
            Assert.Equal("5.1.1 smtp; 550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", r[14]);
        }
        Assert.DoesNotContain(rows, r => r[8] == "Bounced" && !r[7].EndsWith("@bounce.example", StringComparison.Ordinal));
        // scanning again changes nothing
        await Task.Delay(600, Ct);
        Assert.Equal(2, (await e.StatusAsync(mailing)).GetProperty("bounced").GetInt32());
    }
}
