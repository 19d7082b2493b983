using BulkMail.Api.Mail;
using BulkMail.Api.Mailings;
using BulkMail.Api.Modes;

namespace BulkMail.Tests.Mailings;

/// <summary>The status's ETA arithmetic on its own (SendingEstimate, split from the status reader).</summary>
public class SendingEstimateTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    private static Mailing Mailing() => new()
    {
        Id = "m1",
        Owner = "u",
        Mailbox = "demo@bulkmail.example",
        CreatedAt = Now,
        Spec = new MailingSpec { Mode = MailingMode.Resumes, ScopeKind = ScopeKind.Checked, MailFields = ["Resume.P_Mail"], Subject = "s", Body = "b" },
    };

    private static MailboxPace Pace(int daily = 0, DateTimeOffset? blockedUntil = null, DateTimeOffset? dailyFreesAt = null) =>
        new(blockedUntil, 0, null, 0, null, daily, dailyFreesAt);

    [Fact]
    public void The_mailings_ahead_and_a_retry_after_block_come_first()
    {
        var o = new SendingOptions { MessagesPerMinute = 30, DailyRecipientLimit = 10_000 };

        var (seconds, left) = SendingEstimate.Of(o, Mailing(), mine: 30, ahead: 30, Pace(blockedUntil: Now.AddSeconds(20)), Now);

        Assert.Equal(20 + 120, seconds);
        Assert.Equal(10_000 - 60, left);
    }

    [Fact]
    public void Past_the_daily_quota_the_rest_waits_for_the_window()
    {
        var o = new SendingOptions { MessagesPerMinute = 60, DailyRecipientLimit = 100 };

        // 90 of 100 used: 10 go now, the other 20 once the window frees (in one hour), at 1 per second.
        var (seconds, left) = SendingEstimate.Of(o, Mailing(), mine: 30, ahead: 0, Pace(daily: 90, dailyFreesAt: Now.AddHours(1)), Now);

        Assert.Equal(3600 + 20, seconds);
        Assert.Equal(80, left);
    }
}
