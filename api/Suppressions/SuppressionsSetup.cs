using BulkMail.Api.Infrastructure;
using Microsoft.Extensions.Options;

namespace BulkMail.Api.Suppressions;

public static class SuppressionsSetup
{
    /// <summary>The suppression list (Redis, or memory in Development), its limits, and the opt-out options (signing key
    /// and public address checked at start-up), unsubscribe tokens and the footer.</summary>
    public static WebApplicationBuilder AddSuppressions(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<SuppressionOptions>().BindConfiguration(SuppressionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<OptOutOptions>().BindConfiguration(OptOutOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<OptOutOptions>, OptOutOptionsCheck>();
        if (builder.UsesRedis())
        {
            services.AddSingleton<ISuppressionList, RedisSuppressionList>();
        }
        else
        {
            services.AddSingleton<ISuppressionList, InMemorySuppressionList>();
        }
        services.AddSingleton<UnsubscribeTokens>();
        services.AddSingleton<OptOutFooter>();
        return builder;
    }
}
