using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace BulkMail.Api.Infrastructure;

/// <summary>This server's own loopback address, for reaching the in-process sandboxes over real HTTP (demo).</summary>
public static class SelfAddress
{
    public static Uri Resolve(IServiceProvider services, string path)
    {
        var addresses = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses;
        var self = addresses?.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) ?? addresses?.FirstOrDefault()
            ?? throw new InvalidOperationException("The server has no address yet; set the sandbox's BaseUrl explicitly.");
        // A wildcard listen address is not something to connect to.
        foreach (var wildcard in new[] { "://+", "://*", "://0.0.0.0", "://[::]" })
        {
            self = self.Replace(wildcard, "://127.0.0.1", StringComparison.Ordinal);
        }
        return new UriBuilder(self) { Path = path }.Uri;
    }
}
