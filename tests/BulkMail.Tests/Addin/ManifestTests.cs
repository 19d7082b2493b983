using System.Net;
using System.Net.Http.Json;
using System.Xml;
using System.Xml.Linq;
using BulkMail.Api.Addin;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Addin;

/// <summary>
/// The Outlook manifest checked offline (Microsoft's validator is an online service): well-formed, the element order
/// Office's XSD enforces, BulkMail's id, HTTPS URLs on one base that the demo server really serves, Microsoft's
/// length limits, every resid defined, both languages.
/// </summary>
public class ManifestTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly XNamespace App = AddinManifest.App, Bt = AddinManifest.Bt, Xsi = AddinManifest.Xsi;
    private const string AppId = "3f1b9a52-7c1e-4d0b-9a55-2f6f0f1f7a10";

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BulkMail.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("BulkMail.sln not found above the test directory.");
    }

    private static XDocument Generate(string baseUrl = "https://bulkmail.contoso.com", string? appId = AppId) =>
        XDocument.Parse(AddinManifest.ToXml(AddinManifest.Create(new ManifestSettings(new Uri(baseUrl), appId))));

    [Fact]
    public void The_officeapp_children_come_in_the_order_office_requires()
    {
        var root = Generate().Root!;
        Assert.Equal(App + "OfficeApp", root.Name);
        Assert.Equal("MailApp", (string?)root.Attribute(Xsi + "type"));
        string[] order = ["Id", "AlternateId", "Version", "ProviderName", "DefaultLocale", "DisplayName", "Description", "IconUrl",
            "HighResolutionIconUrl", "SupportUrl", "AppDomains", "Hosts", "Requirements", "FormSettings", "Permissions", "Rule",
            "DisableEntityHighlighting", "VersionOverrides"];
        var names = root.Elements().Select(e => e.Name.LocalName).ToList();
        Assert.Equal(names.OrderBy(n => Array.IndexOf(order, n)), names);
        Assert.All(names, n => Assert.Contains(n, order));
        foreach (var required in new[] { "Id", "Version", "ProviderName", "DefaultLocale", "DisplayName", "Description", "IconUrl", "FormSettings", "Permissions", "Rule" })
        {
            Assert.Contains(required, names);
        }

        var v10 = root.Element(AddinManifest.Vo + "VersionOverrides")!;
        Assert.Equal(["Requirements", "Hosts", "Resources", "VersionOverrides"], v10.Elements().Select(e => e.Name.LocalName));
        var v11 = v10.Element(AddinManifest.Vo11 + "VersionOverrides")!;
        Assert.Equal("VersionOverridesV1_1", (string?)v11.Attribute(Xsi + "type"));
        Assert.Equal(["Requirements", "Hosts", "Resources", "WebApplicationInfo"], v11.Elements().Select(e => e.Name.LocalName));
        Assert.Equal(["Images", "Urls", "ShortStrings", "LongStrings"], v10.Element(AddinManifest.Vo + "Resources")!.Elements().Select(e => e.Name.LocalName));
    }

    /// <summary>The pane's sign-in fallback opens an Office dialog (displayDialogAsync): Outlook has it from Mailbox 1.4.</summary>
    [Fact]
    public void The_commands_require_Mailbox_1_4_for_the_sign_in_dialog()
    {
        var root = Generate().Root!;
        var v10 = root.Element(AddinManifest.Vo + "VersionOverrides")!;
        var v11 = v10.Element(AddinManifest.Vo11 + "VersionOverrides")!;
        foreach (var (overrides, ns) in new[] { (v10, AddinManifest.Vo), (v11, AddinManifest.Vo11) })
        {
            var sets = overrides.Element(ns + "Requirements")!.Elements().Single();
            Assert.Equal("1.4", (string?)sets.Attribute("DefaultMinVersion"));
            Assert.Equal("Mailbox", (string?)sets.Elements().Single().Attribute("Name"));
        }
    }

    [Fact]
    public void Id_version_permissions_rules_and_buttons_for_compose_and_read()
    {
        var root = Generate().Root!;
        Assert.Equal(AddinManifest.Id, root.Element(App + "Id")!.Value);
        Assert.True(Guid.TryParse(root.Element(App + "Id")!.Value, out _));
        Assert.Matches(@"^\d{1,5}(\.\d{1,5}){0,3}$", root.Element(App + "Version")!.Value);
        Assert.Equal("ReadWriteItem", root.Element(App + "Permissions")!.Value);
        var rules = root.Element(App + "Rule")!.Elements(App + "Rule").Select(r => ((string?)r.Attribute("ItemType"), (string?)r.Attribute("FormType"))).ToList();
        Assert.Equal([("Message", "Edit"), ("Message", "Read")], rules);
        var surfaces = root.Descendants().Where(e => e.Name.LocalName == "ExtensionPoint").Select(e => (string?)e.Attribute(Xsi + "type")).ToList();
        Assert.Equal(2, surfaces.Count(s => s == "MessageComposeCommandSurface")); // in 1.0 and in 1.1
        Assert.Equal(2, surfaces.Count(s => s == "MessageReadCommandSurface"));
        Assert.All(root.Descendants().Where(e => e.Name.LocalName == "Action"), a => Assert.Equal("ShowTaskpane", (string?)a.Attribute(Xsi + "type")));
        var info = root.Descendants().Single(e => e.Name.LocalName == "WebApplicationInfo");
        Assert.Equal(AppId, info.Elements().Single(e => e.Name.LocalName == "Id").Value);
        Assert.Equal($"api://bulkmail.contoso.com/{AppId}", info.Elements().Single(e => e.Name.LocalName == "Resource").Value);
        Assert.DoesNotContain(Generate(appId: null).Root!.Descendants(), e => e.Name.LocalName == "WebApplicationInfo");
    }

    [Fact]
    public void Every_string_is_within_microsofts_limits_and_translated_and_every_resid_is_defined()
    {
        var root = Generate().Root!;
        Assert.InRange(root.Element(App + "DisplayName")!.Attribute("DefaultValue")!.Value.Length, 1, 125);
        Assert.InRange(root.Element(App + "Description")!.Attribute("DefaultValue")!.Value.Length, 1, 250);
        Assert.InRange(root.Element(App + "ProviderName")!.Value.Length, 1, 125);
        foreach (var name in new[] { "DisplayName", "Description" })
        {
            var ja = root.Element(App + name)!.Element(App + "Override")!;
            Assert.Equal("ja-JP", (string?)ja.Attribute("Locale"));
            Assert.InRange(ja.Attribute("Value")!.Value.Length, 1, name == "DisplayName" ? 125 : 250);
        }
        foreach (var resources in root.Descendants().Where(e => e.Name.LocalName == "Resources"))
        {
            var ids = resources.Descendants().Where(e => e.Attribute("id") is not null).Select(e => (string)e.Attribute("id")!).ToList();
            Assert.Equal(ids.Count, ids.Distinct().Count());
            Assert.All(ids, id => Assert.InRange(id.Length, 1, 32));
            foreach (var (list, max) in new[] { ("ShortStrings", 125), ("LongStrings", 250) })
            {
                foreach (var s in resources.Element(Bt + list)!.Elements(Bt + "String"))
                {
                    Assert.InRange(s.Attribute("DefaultValue")!.Value.Length, 1, max);
                    var ja = s.Element(Bt + "Override")!;
                    Assert.Equal("ja-JP", (string?)ja.Attribute("Locale"));
                    Assert.InRange(ja.Attribute("Value")!.Value.Length, 1, max);
                }
            }
            // every resid used inside this VersionOverrides (not a nested one) is defined in its own Resources
            var scope = resources.Parent!;
            var used = scope.Descendants().Where(e => e.Attribute("resid") is not null
                    && e.Ancestors().First(a => a.Name.LocalName == "VersionOverrides") == scope)
                .Select(e => (string)e.Attribute("resid")!).Distinct().ToList();
            Assert.NotEmpty(used);
            Assert.All(used, r => Assert.Contains(r, ids));
        }
        Assert.All(root.Descendants().Where(e => e.Attribute("id") is not null && e.Name.LocalName is "Group" or "Control"),
            e => Assert.InRange(e.Attribute("id")!.Value.Length, 1, 125));
    }

    [Fact]
    public void Http_base_urls_and_bad_app_ids_are_refused()
    {
        Assert.Throws<ArgumentException>(() => AddinManifest.Create(new ManifestSettings(new Uri("http://bulkmail.contoso.com"), null)));
        Assert.Throws<ArgumentException>(() => AddinManifest.Create(new ManifestSettings(new Uri("https://bulkmail.contoso.com"), "not-a-guid")));
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(2, AddinManifestCommand.Run(["http://x.example"], output, error));
        Assert.Contains("HTTPS", error.ToString());
        Assert.Equal(0, AddinManifestCommand.Run(["https://mail.contoso.co.jp/bulkmail", AppId], output, error));
        Assert.Contains("https://mail.contoso.co.jp/bulkmail/addin/taskpane.html?office=1", output.ToString());
    }

    [Fact]
    public void The_committed_manifest_is_what_the_generator_writes_for_localhost()
    {
        var committed = File.ReadAllText(Path.Combine(RepoRoot(), "manifest.xml"));
        Assert.Equal(AddinManifest.ToXml(AddinManifest.Create(new ManifestSettings(new Uri("https://localhost:5443"), null))), committed);
        Assert.NotNull(XDocument.Parse(committed, LoadOptions.SetLineInfo).Root); // well-formed
        using var reader = XmlReader.Create(new StringReader(committed), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit });
        while (reader.Read())
        {
        }
    }

    [Fact]
    public async Task Every_url_is_https_on_one_base_and_served_by_the_demo_server()
    {
        var dist = Path.Combine(RepoRoot(), "addin", "dist");
        Assert.True(File.Exists(Path.Combine(dist, "taskpane.html")), "The task pane is not built: run `npm ci && npm run build` in addin/ (scripts/test.sh does).");
        await using var hrbc = await HrbcHarness.StartAsync();
        await using var api = BulkMailApplication.StartWith(hrbc, new Dictionary<string, string?> { ["Addin:Path"] = dist });
        using var http = api.CreateClient();

        const string publicBase = "https://bulkmail.contoso.com";
        var urls = Generate(publicBase).Descendants().SelectMany(e => e.Attributes().Where(a => a.Name.LocalName == "DefaultValue").Select(a => a.Value)
            .Concat(e.Name.LocalName == "AppDomain" ? [e.Value] : []))
            .Where(v => v.StartsWith("http", StringComparison.Ordinal)).Distinct().ToList();
        Assert.True(urls.Count >= 8, string.Join(", ", urls));
        foreach (var url in urls)
        {
            Assert.StartsWith(publicBase, url, StringComparison.Ordinal);
            Assert.True(url.Length <= 2048);
            var path = url[publicBase.Length..];
            if (path.Length == 0)
            {
                continue; // the AppDomain itself
            }
            using var response = await http.GetAsync(path, Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
            if (path.EndsWith(".png", StringComparison.Ordinal))
            {
                Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
                // Office caches icons: they must not be marked no-cache / no-store
                Assert.False(response.Headers.CacheControl?.NoCache == true || response.Headers.CacheControl?.NoStore == true, path);
                var bytes = await response.Content.ReadAsByteArrayAsync(Ct);
                Assert.Equal([0x89, 0x50, 0x4E, 0x47], bytes[..4]);
            }
        }
        // the server hands out the manifest for its public address
        await using var configured = BulkMailApplication.StartWith(hrbc, new Dictionary<string, string?>
        {
            ["Addin:Path"] = dist, ["Addin:PublicBaseUrl"] = publicBase, ["Addin:ApiAppId"] = AppId,
        });
        using var client2 = configured.CreateClient();
        var served = XDocument.Parse(await client2.GetStringAsync("/addin/manifest.xml", Ct));
        Assert.Equal(Generate(publicBase).ToString(), served.ToString());
        using var plain = await http.GetAsync("/addin/manifest.xml", Ct);
        Assert.Equal(HttpStatusCode.Conflict, plain.StatusCode); // plain HTTP test server: no manifest with http URLs
    }

    [Fact]
    public async Task The_panes_runtime_settings_come_from_the_servers_configuration()
    {
        await using var hrbc = await HrbcHarness.StartAsync();
        await using (var demo = BulkMailApplication.StartWith(hrbc))
        {
            using var http = demo.CreateClient();
            var config = await http.GetFromJsonAsync<System.Text.Json.JsonElement>("/addin/config.json", Ct);
            Assert.Equal("Development", config.GetProperty("environment").GetString());
            Assert.Equal("", config.GetProperty("clientId").GetString());
        }
        await using var entra = BulkMailApplication.StartWith(hrbc, new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "EntraId",
            ["AzureAd:Instance"] = "https://login.microsoftonline.com/",
            ["AzureAd:TenantId"] = "0e3f5c2a-1111-4222-8333-944455556666",
            ["AzureAd:ClientId"] = AppId,
            ["AzureAd:Audience"] = $"api://{AppId}",
            ["Addin:ClientId"] = "7d0c6f7e-2222-4333-8444-955566667777",
        });
        using var client = entra.CreateClient();
        var settings = await client.GetFromJsonAsync<System.Text.Json.JsonElement>("/addin/config.json", Ct);
        Assert.Equal("Production", settings.GetProperty("environment").GetString());
        Assert.Equal("7d0c6f7e-2222-4333-8444-955566667777", settings.GetProperty("clientId").GetString());
        Assert.Equal(AppId, settings.GetProperty("apiAppId").GetString());
        Assert.Equal("https://login.microsoftonline.com/0e3f5c2a-1111-4222-8333-944455556666", settings.GetProperty("authority").GetString());
        // and the API itself now wants a bearer token
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/mailings", Ct)).StatusCode);
    }
}
