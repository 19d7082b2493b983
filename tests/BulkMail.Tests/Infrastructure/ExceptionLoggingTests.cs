using System.Collections.Concurrent;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using BulkMail.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace BulkMail.Tests.Infrastructure;

/// <summary>An unexpected failure is logged with its exception (type and stack trace), never with the recipient's
/// address, even when the exception's own message quotes it (as Graph's error texts do).</summary>
public class ExceptionLoggingTests(RedisServerFixture redis)
{
    /// <summary>The real Graph sender, except that creating a draft fails as nothing in the worker expects: with an
    /// exception type it does not classify and a message that names the recipient.</summary>
    private sealed class BrokenDraftSender(IMailSender inner) : IMailSender
    {
        public ConcurrentBag<string> Addresses { get; } = [];

        public Task<CreatedDraft> CreateDraftAsync(string mailbox, OutgoingMail mail, CancellationToken cancellationToken)
        {
            Addresses.Add(mail.To);
            throw new InvalidOperationException($"Recipient '{mail.To}' is not resolved (mailbox {mailbox}).");
        }

        public Task SendDraftAsync(string mailbox, string draftId, CancellationToken cancellationToken) => inner.SendDraftAsync(mailbox, draftId, cancellationToken);
        public Task<FoundMessage> GetMessageAsync(string mailbox, string messageId, CancellationToken cancellationToken) => inner.GetMessageAsync(mailbox, messageId, cancellationToken);
        public Task<FoundMessage?> FindByDeliveryAsync(string mailbox, string deliveryId, CancellationToken cancellationToken) => inner.FindByDeliveryAsync(mailbox, deliveryId, cancellationToken);
        public Task SendDirectAsync(string mailbox, OutgoingMail mail, CancellationToken cancellationToken) => inner.SendDirectAsync(mailbox, mail, cancellationToken);
        public Task<IReadOnlyList<string>> AttachmentNamesAsync(string mailbox, string messageId, CancellationToken cancellationToken) => inner.AttachmentNamesAsync(mailbox, messageId, cancellationToken);
        public Task DeleteMessageAsync(string mailbox, string messageId, CancellationToken cancellationToken) => inner.DeleteMessageAsync(mailbox, messageId, cancellationToken);
        public Task<InboxPage> InboxAsync(string mailbox, DateTimeOffset since, string? nextLink, int pageSize, CancellationToken cancellationToken) => inner.InboxAsync(mailbox, since, nextLink, pageSize, cancellationToken);
        public Task<byte[]> MimeAsync(string mailbox, string messageId, CancellationToken cancellationToken) => inner.MimeAsync(mailbox, messageId, cancellationToken);
        public Task<string> EnsureFolderAsync(string mailbox, string path, CancellationToken cancellationToken) => inner.EnsureFolderAsync(mailbox, path, cancellationToken);
        public Task MoveAsync(string mailbox, string messageId, string folderId, CancellationToken cancellationToken) => inner.MoveAsync(mailbox, messageId, folderId, cancellationToken);
    }

    [Fact]
    public void LogSafe_masks_addresses_and_tokens_in_every_message_of_the_chain_keeps_the_stack_and_caps_the_length()
    {
        Exception thrown;
        try
        {
            try
            {
                throw new HttpRequestException("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl refused for <taro.yamada@example.co.jp>");
            }
            catch (HttpRequestException inner)
            {
                throw new InvalidOperationException("HRBC said: " + new string('x', 600) + " hanako@example.com", inner);
            }
        }
        catch (InvalidOperationException e)
        {
            thrown = e;
        }

        var text = LogSafe.Of(thrown).ToString();

        Assert.StartsWith("System.InvalidOperationException: HRBC said: xxx", text, StringComparison.Ordinal);
        Assert.Contains(" ---> System.Net.Http.HttpRequestException: Bearer [token] refused for <[address]>", text, StringComparison.Ordinal);
        Assert.Contains(nameof(LogSafe_masks_addresses_and_tokens_in_every_message_of_the_chain_keeps_the_stack_and_caps_the_length), text, StringComparison.Ordinal);
        Assert.DoesNotContain("@", text, StringComparison.Ordinal);
        Assert.DoesNotContain("eyJ", text, StringComparison.Ordinal);
        Assert.Contains(new string('x', 480) + "…", text, StringComparison.Ordinal); // cut at 500 characters, before the address
        var once = LogSafe.Of(thrown);
        Assert.Same(once, LogSafe.Of(once)); // wrapping twice changes nothing
    }

    [Fact]
    public async Task A_run_that_fails_unexpectedly_is_logged_with_its_stack_trace_and_without_the_recipients_address()
    {
        var logs = new LogCapture();
        BrokenDraftSender? broken = null;
        await using var e = await EngineHarness.StartAsync(redis, services: s =>
        {
            logs.AddTo(s);
            s.AddSingleton<IMailSender>(sp => broken = new BrokenDraftSender(ActivatorUtilities.CreateInstance<GraphMailSender>(sp)));
        });
        var id = await e.SubmitAsync(EngineHarness.Newsletter([10001]));

        CapturedLog? failed = null;
        var until = DateTime.UtcNow.AddSeconds(30);
        while (failed is null && DateTime.UtcNow < until)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
            failed = logs.Entries.FirstOrDefault(l => l.EventId.Id == 51 && l.Message.Contains(id, StringComparison.Ordinal));
        }

        Assert.NotNull(failed);
        var address = Assert.Single(broken!.Addresses.Distinct());
        Assert.Contains("@", address, StringComparison.Ordinal);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Error, failed.Level);
        Assert.NotNull(failed.Exception);
        Assert.StartsWith("System.InvalidOperationException: Recipient '[address]' is not resolved (mailbox [address]).", failed.Exception, StringComparison.Ordinal);
        Assert.Contains($"at {typeof(BrokenDraftSender).FullName!.Replace('+', '.')}.{nameof(BrokenDraftSender.CreateDraftAsync)}", failed.Exception, StringComparison.Ordinal);
        Assert.Contains("BulkMail.Api.Mailings.MailingWorker", failed.Exception, StringComparison.Ordinal);
        Assert.All(logs.Entries, l =>
        {
            Assert.DoesNotContain(address, l.Text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(EngineHarness.User, l.Text, StringComparison.OrdinalIgnoreCase);
        });
    }
}
