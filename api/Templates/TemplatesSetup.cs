using BulkMail.Api.Infrastructure;

namespace BulkMail.Api.Templates;

public static class TemplatesSetup
{
    /// <summary>The template engine and its limits (validated at start-up), the tag catalogue and the saved templates
    /// (Redis, or memory in Development).</summary>
    public static WebApplicationBuilder AddTemplates(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<TemplateOptions>().BindConfiguration(TemplateOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<MailTemplateEngine>();
        services.AddTransient<TagCatalog>();
        if (builder.UsesRedis())
        {
            services.AddSingleton<ITemplateStore, RedisTemplateStore>();
        }
        else
        {
            services.AddSingleton<ITemplateStore, InMemoryTemplateStore>();
        }
        return builder;
    }
}
