using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using BulkMail.Api.Mailings.Scheduling;

namespace BulkMail.Api.Mailings;

public static class MailingsSetup
{
    /// <summary>The mailing engine: its options (validated at start-up), the store (Redis, or memory in Development),
    /// planner, expansion, attachments, follow-ups, the worker and the Inbox reader (replies and bounces).</summary>
    public static WebApplicationBuilder AddMailings(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var config = builder.Configuration;
        services.AddBulkMailMeters();
        services.AddExceptionHandler<MailingValidationExceptionHandler>();
        services.AddOptions<BounceOptions>().BindConfiguration(BounceOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ReplyOptions>().BindConfiguration(ReplyOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ResultCsvOptions>().BindConfiguration(ResultCsvOptions.Section);
        services.AddOptions<FollowUpOptions>().BindConfiguration(FollowUpOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ReplicationOptions>().BindConfiguration(SendingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<StatusStreamOptions>().BindConfiguration(StatusStreamOptions.Section)
            .Validate(o => o.MinInterval >= TimeSpan.Zero && o.Heartbeat > TimeSpan.Zero && o.SafetyReread > TimeSpan.Zero,
                "StatusStreams: MinInterval must not be negative, Heartbeat and SafetyReread must be positive").ValidateOnStart();
        // the store announces its changes (IMailingChanges) to the status streams of this process
        if (builder.UsesRedis())
        {
            services.AddSingleton<IMailingStore, RedisMailingStore>();
            services.AddSingleton<IMailingChanges, RedisMailingChanges>();
            services.AddSingleton<IDueIndex, RedisDueIndex>();
            services.AddSingleton<IReplicationBarrier, RedisReplicationBarrier>();
        }
        else
        {
            services.AddSingleton<InMemoryMailingChanges>();
            services.AddSingleton<IMailingChanges>(sp => sp.GetRequiredService<InMemoryMailingChanges>());
            services.AddSingleton<IMailingStore, InMemoryMailingStore>();
            services.AddSingleton<IDueIndex, InMemoryDueIndex>();
            services.AddSingleton<IReplicationBarrier, NoReplicationBarrier>();
        }
        services.AddSingleton<MailingSignal>();
        services.AddSingleton<WorkerToken>();
        // Japan's public holidays (embedded, read once) and the window arithmetic over them
        services.AddSingleton(_ => JapaneseHolidays.Load());
        services.AddSingleton<MailingScheduler>();
        services.AddTransient<MailingPlanner>();
        services.AddTransient<ScopeReader>();
        services.AddTransient<MailingExpansionRunner>();
        services.AddTransient<MailingAttachmentBuilder>();
        services.AddTransient<FollowUpRunner>();
        services.AddTransient<MailingService>();
        services.AddTransient<MailingPreviewer>();
        services.AddTransient<MailingStatusReader>();
        services.AddTransient<MailingControl>();
        services.AddSingleton<MessageRenderer>();
        services.AddSingleton<DeliveryStep>();
        if (config.GetValue(SendingOptions.Section + ":WorkerEnabled", true))
        {
            services.AddHostedService<MailingWorker>();
            services.AddHealthChecks().AddCheck<WorkerHeartbeatCheck>("worker", tags: [TelemetrySetup.ReadyTag, TelemetrySetup.ReadyOnlyTag]);
            if (config.GetValue(BounceOptions.Section + ":Enabled", true) || config.GetValue(ReplyOptions.Section + ":Enabled", true))
            {
                services.AddSingleton<InboxScanner>();
                services.AddHostedService(sp => sp.GetRequiredService<InboxScanner>());
            }
        }
        return builder;
    }
}
