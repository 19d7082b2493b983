namespace BulkMail.Api.Addin;

/// <summary><c>dotnet BulkMail.Api.dll write-manifest &lt;https-base-url&gt; [api-app-id] [out-file]</c>: writes the manifest
/// for a deployment (scripts/manifest.sh wraps it).</summary>
public static class AddinManifestCommand
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length is < 1 or > 3 || !Uri.TryCreate(args[0], UriKind.Absolute, out var baseUrl))
        {
            error.WriteLine("usage: write-manifest <https-base-url> [api-app-id] [out-file]");
            return 2;
        }
        try
        {
            var appId = args.Length > 1 && args[1] is { Length: > 0 } id && id != "-" ? id : null;
            var xml = AddinManifest.ToXml(AddinManifest.Create(new ManifestSettings(baseUrl, appId)));
            if (args.Length > 2)
            {
                File.WriteAllText(args[2], xml, new System.Text.UTF8Encoding(false));
                error.WriteLine($"wrote {args[2]} for {baseUrl}");
            }
            else
            {
                output.Write(xml);
            }
            return 0;
        }
        catch (ArgumentException e)
        {
            error.WriteLine(e.Message);
            return 2;
        }
    }
}
