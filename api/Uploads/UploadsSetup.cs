using BulkMail.Api.Infrastructure;

namespace BulkMail.Api.Uploads;

public static class UploadsSetup
{
    /// <summary>Uploaded attachments: size limits (validated at start-up) and the store (Redis, or memory in Development).</summary>
    public static WebApplicationBuilder AddUploads(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<UploadOptions>().BindConfiguration(UploadOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.MaxFileBytes <= o.MaxMessageBytes, "Uploads:MaxFileBytes cannot be larger than Uploads:MaxMessageBytes.")
            .ValidateOnStart();
        if (builder.UsesRedis())
        {
            services.AddSingleton<IUploadStore, RedisUploadStore>();
        }
        else
        {
            services.AddSingleton<IUploadStore, InMemoryUploadStore>();
        }
        return builder;
    }
}
