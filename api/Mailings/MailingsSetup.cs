using BulkMail.Api.Auth;
using BulkMail.Api.Infrastructure;
using BulkMail.Api.Mail;
using BulkMail.Api.Sandbox;
using BulkMail.Api.Templates;
using BulkMail.Api.Uploads;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.Kiota.Abstractions.Authentication;
using StackExchange.Redis;

namespace BulkMail.Api.Mailings;

public static class MailingsSetup
{
    /// <summary>Store (Redis, or memory for the demo), pacing, Graph sender, templates, planner and the worker.</summary>
    public static WebApplicationBuilder AddMailings(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var config = builder.Configuration;
        var sandbox = config.GetSection(SandboxOptions.Section).Get<SandboxOptions>() ?? new SandboxOptions();
        // Anything but Development counts as production (DemoEnvironment).
        var production = !builder.Environment.AllowsDemo();

        services.AddOptions<SendingOptions>().BindConfiguration(SendingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<MailingStoreOptions>().BindConfiguration("Store")
            .Configure<IOptions<RetentionOptions>>((o, retention) => o.Retention = TimeSpan.FromDays(retention.Value.Days));
        services.AddOptions<UploadOptions>().BindConfiguration(UploadOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.MaxFileBytes <= o.MaxMessageBytes, "Uploads:MaxFileBytes cannot be larger than Uploads:MaxMessageBytes.")
            .ValidateOnStart();
        services.AddOptions<BounceOptions>().BindConfiguration(BounceOptions.Section);
        services.AddOptions<ResultCsvOptions>().BindConfiguration(ResultCsvOptions.Section);
        services.AddOptions<FollowUpOptions>().BindConfiguration(FollowUpOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<GraphOptions>().BindConfiguration(GraphOptions.Section)
            .PostConfigure(o =>
            {
                if (sandbox.Enabled && config["Graph:Auth"] is null)
                {
                    o.Auth = GraphAuthMode.None; // the sandbox mailbox takes no token
                }
            })
            .ValidateDataAnnotations()
            .Validate(o => !(production && o.Auth == GraphAuthMode.None), "Graph:Auth=None sends without a token: for the sandbox and tests only, refused outside the Development environment.")
            .ValidateOnStart();
        // The app registration's credential is checked at start-up, with a message naming the keys to set.
        services.AddOptions<EntraAppOptions>().BindConfiguration(EntraAppOptions.Section);
        services.AddSingleton<IValidateOptions<GraphOptions>>(sp => new GraphCredentialCheck(sp.GetRequiredService<IOptions<EntraAppOptions>>()));
        services.AddHttpClient(MsalGraphTokens.HttpClientName);
        services.AddSingleton<IGraphTokens, MsalGraphTokens>();

        var redis = config.GetConnectionString("Redis");
        if (string.IsNullOrWhiteSpace(redis))
        {
            if (production)
            {
                throw new InvalidOperationException($"ConnectionStrings:Redis is required outside the Development environment (this is '{builder.Environment.EnvironmentName}'): the in-memory store loses mailings on restart and cannot be shared.");
            }
            services.AddSingleton<IMailingStore, InMemoryMailingStore>();
            services.AddSingleton<IMailboxLimiter, InMemoryMailboxLimiter>();
            services.AddSingleton<ITemplateStore, InMemoryTemplateStore>();
            services.AddSingleton<IUploadStore, InMemoryUploadStore>();
            services.AddSingleton<ITokenCacheStore, InMemoryTokenCacheStore>();
        }
        else
        {
            services.AddSingleton<IConnectionMultiplexer>(_ =>
            {
                var options = ConfigurationOptions.Parse(redis);
                options.AbortOnConnectFail = false; // start even if Redis is briefly away; commands fail until it is back
                return ConnectionMultiplexer.Connect(options);
            });
            services.AddSingleton<IMailingStore, RedisMailingStore>();
            services.AddSingleton<IMailboxLimiter, RedisMailboxLimiter>();
            services.AddSingleton<ITemplateStore, RedisTemplateStore>();
            services.AddSingleton<IUploadStore, RedisUploadStore>();
            services.AddSingleton<ITokenCacheStore, RedisTokenCacheStore>();
            services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis");
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<TemplateOptions>().BindConfiguration(TemplateOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<MailTemplateEngine>();
        services.AddSingleton<MailingSignal>();
        services.AddSingleton(sp => new GraphClientAccessor(() =>
        {
            var options = sp.GetRequiredService<IOptions<GraphOptions>>().Value;
            var baseUrl = config["Graph:BaseUrl"] is null && sandbox.Enabled ? SelfAddress.Resolve(sp, sandbox.GraphPath.TrimEnd('/') + "/v1.0") : options.BaseUrl;
            IAuthenticationProvider auth = options.Auth == GraphAuthMode.None
                ? new AnonymousAuthenticationProvider()
                : new GraphTokenAuthenticationProvider(sp.GetRequiredService<IGraphTokens>());
            return GraphClientSetup.Create(new GraphOptions { BaseUrl = baseUrl, Auth = options.Auth, RequestTimeout = options.RequestTimeout }, auth);
        }));
        services.AddSingleton<IMailSender, GraphMailSender>();
        services.AddTransient<TagCatalog>();
        services.AddTransient<MailingPlanner>();
        services.AddTransient<ScopeReader>();
        services.AddTransient<MailingExpansionRunner>();
        services.AddTransient<MailingAttachmentBuilder>();
        services.AddTransient<FollowUpRunner>();
        services.AddTransient<MailingService>();
        services.AddTransient<MailingPreviewer>();
        services.AddTransient<MailingStatusReader>();
        services.AddTransient<MailingControl>();
        services.AddSingleton<DeliveryStep>();
        if (config.GetValue(SendingOptions.Section + ":WorkerEnabled", true))
        {
            services.AddHostedService<MailingWorker>();
            if (config.GetValue(BounceOptions.Section + ":Enabled", true))
            {
                services.AddHostedService<BounceScanner>();
            }
        }
        return builder;
    }

    public static WebApplication MapMailings(this WebApplication app)
    {
        app.MapMailingsApi();
        app.MapTemplatesApi();
        app.MapUploadsApi();
        return app;
    }
}
