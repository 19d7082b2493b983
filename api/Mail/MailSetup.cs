using BulkMail.Api.Infrastructure;
using Microsoft.Extensions.Options;
using Microsoft.Kiota.Abstractions.Authentication;

namespace BulkMail.Api.Mail;

public static class MailSetup
{
    /// <summary>Sending through Microsoft Graph: Graph and pacing options (validated at start-up), the per-mailbox
    /// limiter (Redis, or memory in Development), the Graph client and the sender. The token side is Auth's.</summary>
    public static WebApplicationBuilder AddMail(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var production = !builder.Environment.AllowsDemo();
        services.AddOptions<SendingOptions>().BindConfiguration(SendingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<GraphOptions>().BindConfiguration(GraphOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => !(production && o.Auth == GraphAuthMode.None), "Graph:Auth=None sends without a token: for the sandbox and tests only, refused outside the Development environment.")
            .ValidateOnStart();
        if (builder.UsesRedis())
        {
            services.AddSingleton<IMailboxLimiter, RedisMailboxLimiter>();
        }
        else
        {
            services.AddSingleton<IMailboxLimiter, InMemoryMailboxLimiter>();
        }
        services.AddSingleton(sp => new GraphClientAccessor(() =>
        {
            var options = sp.GetRequiredService<IOptions<GraphOptions>>().Value;
            var baseUrl = options.SelfHostedPath is { } path ? SelfAddress.Resolve(sp, path) : options.BaseUrl;
            return GraphClientSetup.Create(new GraphOptions { BaseUrl = baseUrl, Auth = options.Auth, RequestTimeout = options.RequestTimeout },
                sp.GetRequiredService<IAuthenticationProvider>());
        }));
        services.AddSingleton<IMailSender, GraphMailSender>();
        return builder;
    }
}
