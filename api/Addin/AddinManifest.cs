using System.Xml.Linq;

namespace BulkMail.Api.Addin;

/// <summary>What varies between deployments of the manifest: where the pane is served and the API's Entra app.</summary>
/// <param name="BaseUrl">The HTTPS origin (and optional path) that serves <c>/addin/…</c>.</param>
/// <param name="ApiAppId">The Entra application (client) id of the API, for <c>WebApplicationInfo</c>; none → omitted
/// (nested app authentication does not need it; the legacy getAccessToken SSO does).</param>
public sealed record ManifestSettings(Uri BaseUrl, string? ApiAppId, string Version = AddinManifest.DefaultVersion);

/// <summary>
/// Writes BulkMail's Outlook add-in manifest (XML, MailApp): a task-pane button in message compose and message read,
/// icons, ja-JP and en-US strings, every URL on one HTTPS base, <c>WebApplicationInfo</c> for the API's app id.
/// Element order follows Microsoft's manifest-element-ordering page (Office validates against an ordered XSD).
/// </summary>
public static class AddinManifest
{
    /// <summary>The Mailbox requirement set of the commands: 1.4 for Office dialogs (the sign-in fallback).</summary>
    public const string MinMailboxVersion = "1.4";

    /// <summary>BulkMail's add-in id: never changes once published.</summary>
    public const string Id = "6f0c2d2e-5a0b-4c61-9d2f-8b1e2a7c4b10";
    public const string DefaultVersion = "1.0.0.0";

    public static readonly XNamespace App = "http://schemas.microsoft.com/office/appforoffice/1.1";
    public static readonly XNamespace Xsi = "http://www.w3.org/2001/XMLSchema-instance";
    public static readonly XNamespace Bt = "http://schemas.microsoft.com/office/officeappbasictypes/1.0";
    public static readonly XNamespace Mailappor = "http://schemas.microsoft.com/office/mailappversionoverrides/1.0";
    public static readonly XNamespace Vo = "http://schemas.microsoft.com/office/mailappversionoverrides";
    public static readonly XNamespace Vo11 = "http://schemas.microsoft.com/office/mailappversionoverrides/1.1";

    // (id, en-US, ja-JP)
    private static readonly (string Id, string En, string Ja)[] ShortStrings =
    [
        ("GroupLabel", "BulkMail", "BulkMail"),
        ("ButtonLabel", "Bulk mail (HRBC)", "一括メール (HRBC)"),
        ("ButtonTitle", "Send bulk mail from HRBC", "HRBC から一括メール送信"),
    ];

    private static readonly (string Id, string En, string Ja)[] LongStrings =
    [
        ("ButtonTooltip", "Search HRBC resumes, jobs or client contacts and send each one a personal message from your mailbox.",
            "HRBC のレジュメ・JOB・企業担当者を検索し、自分のメールボックスから一人ずつ個別にメールを送ります。"),
    ];

    public const string DisplayNameEn = "BulkMail for HRBC";
    public const string DisplayNameJa = "BulkMail for HRBC";
    public const string DescriptionEn = "Send personal bulk mail to HRBC candidates and client contacts from your own Microsoft 365 mailbox: one message per recipient, with results and HRBC phase updates.";
    public const string DescriptionJa = "HRBC の候補者・企業担当者に、自分の Microsoft 365 メールボックスから一人ずつ個別にメールを送ります。送信結果の CSV と HRBC のフェーズ更新つき。";

    public static XDocument Create(ManifestSettings settings)
    {
        var baseUrl = settings.BaseUrl.AbsoluteUri.TrimEnd('/');
        if (settings.BaseUrl.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException("Outlook loads add-ins only over HTTPS: the base URL must start with https://.", nameof(settings));
        }
        if (settings.ApiAppId is not null && !Guid.TryParse(settings.ApiAppId, out _))
        {
            throw new ArgumentException("The API's app id must be the GUID of its Entra app registration (AzureAd:ClientId).", nameof(settings));
        }
        string U(string path) => $"{baseUrl}/addin/{path}";
        // ?office=1 tells the pane to load Office.js (a plain browser opens taskpane.html without it: the demo).
        var taskpane = U("taskpane.html?office=1");

        XElement Localized(XNamespace ns, string name, string en, string ja) =>
            new(ns + name, new XAttribute("DefaultValue", en), new XElement(ns + "Override", new XAttribute("Locale", "ja-JP"), new XAttribute("Value", ja)));

        XElement Button(string surface, string idSuffix) =>
            new(Vo + "ExtensionPoint", new XAttribute(Xsi + "type", surface),
                new XElement(Vo + "OfficeTab", new XAttribute("id", "TabDefault"),
                    new XElement(Vo + "Group", new XAttribute("id", "BulkMailGroup" + idSuffix),
                        new XElement(Vo + "Label", new XAttribute("resid", "GroupLabel")),
                        new XElement(Vo + "Control", new XAttribute(Xsi + "type", "Button"), new XAttribute("id", "BulkMailButton" + idSuffix),
                            new XElement(Vo + "Label", new XAttribute("resid", "ButtonLabel")),
                            new XElement(Vo + "Supertip",
                                new XElement(Vo + "Title", new XAttribute("resid", "ButtonTitle")),
                                new XElement(Vo + "Description", new XAttribute("resid", "ButtonTooltip"))),
                            new XElement(Vo + "Icon",
                                new XElement(Bt + "Image", new XAttribute("size", "16"), new XAttribute("resid", "Icon16")),
                                new XElement(Bt + "Image", new XAttribute("size", "32"), new XAttribute("resid", "Icon32")),
                                new XElement(Bt + "Image", new XAttribute("size", "80"), new XAttribute("resid", "Icon80"))),
                            new XElement(Vo + "Action", new XAttribute(Xsi + "type", "ShowTaskpane"),
                                new XElement(Vo + "SourceLocation", new XAttribute("resid", "TaskpaneUrl")))))));

        XElement Strings(string name, (string Id, string En, string Ja)[] strings) =>
            new(Bt + name, strings.Select(s => new XElement(Bt + "String", new XAttribute("id", s.Id), new XAttribute("DefaultValue", s.En),
                new XElement(Bt + "Override", new XAttribute("Locale", "ja-JP"), new XAttribute("Value", s.Ja)))));

        XElement Resources(XNamespace ns) => new(ns + "Resources",
            new XElement(Bt + "Images", new[] { 16, 32, 80 }.Select(size =>
                new XElement(Bt + "Image", new XAttribute("id", $"Icon{size}"), new XAttribute("DefaultValue", U($"assets/icon-{size}.png"))))),
            new XElement(Bt + "Urls", new XElement(Bt + "Url", new XAttribute("id", "TaskpaneUrl"), new XAttribute("DefaultValue", taskpane))),
            Strings("ShortStrings", ShortStrings),
            Strings("LongStrings", LongStrings));

        XElement Hosts(XNamespace ns) => new(ns + "Hosts",
            new XElement(ns + "Host", new XAttribute(Xsi + "type", "MailHost"),
                new XElement(ns + "DesktopFormFactor",
                    Rename(Button("MessageComposeCommandSurface", "Compose"), ns),
                    Rename(Button("MessageReadCommandSurface", "Read"), ns))));

        // VersionOverrides 1.1 (nested last, as Office requires) repeats the commands and adds WebApplicationInfo;
        // clients that only know 1.0 use the outer block. Both need Mailbox 1.4: the pane's sign-in fallback (clients
        // without nested app authentication) opens an Office dialog, displayDialogAsync, which Outlook has from 1.4.
        var v11 = new XElement(Vo11 + "VersionOverrides", new XAttribute(Xsi + "type", "VersionOverridesV1_1"),
            new XElement(Vo11 + "Requirements", new XElement(Bt + "Sets", new XAttribute("DefaultMinVersion", MinMailboxVersion),
                new XElement(Bt + "Set", new XAttribute("Name", "Mailbox")))),
            Hosts(Vo11),
            Resources(Vo11),
            settings.ApiAppId is null ? null : new XElement(Vo11 + "WebApplicationInfo",
                new XElement(Vo11 + "Id", settings.ApiAppId),
                new XElement(Vo11 + "Resource", $"api://{settings.BaseUrl.Authority}/{settings.ApiAppId}"),
                new XElement(Vo11 + "Scopes",
                    new XElement(Vo11 + "Scope", "openid"),
                    new XElement(Vo11 + "Scope", "profile"))));

        var root = new XElement(App + "OfficeApp",
            new XAttribute(XNamespace.Xmlns + "xsi", Xsi),
            new XAttribute(XNamespace.Xmlns + "bt", Bt),
            new XAttribute(XNamespace.Xmlns + "mailappor", Mailappor),
            new XAttribute(Xsi + "type", "MailApp"),
            new XElement(App + "Id", Id),
            new XElement(App + "Version", settings.Version),
            new XElement(App + "ProviderName", "BulkMail"),
            new XElement(App + "DefaultLocale", "en-US"),
            Localized(App, "DisplayName", DisplayNameEn, DisplayNameJa),
            Localized(App, "Description", DescriptionEn, DescriptionJa),
            new XElement(App + "IconUrl", new XAttribute("DefaultValue", U("assets/icon-64.png"))),
            new XElement(App + "HighResolutionIconUrl", new XAttribute("DefaultValue", U("assets/icon-128.png"))),
            new XElement(App + "SupportUrl", new XAttribute("DefaultValue", U("support.html"))),
            new XElement(App + "AppDomains", new XElement(App + "AppDomain", $"{settings.BaseUrl.Scheme}://{settings.BaseUrl.Authority}")),
            new XElement(App + "Hosts", new XElement(App + "Host", new XAttribute("Name", "Mailbox"))),
            new XElement(App + "Requirements", new XElement(App + "Sets", new XElement(App + "Set", new XAttribute("Name", "Mailbox"), new XAttribute("MinVersion", "1.1")))),
            new XElement(App + "FormSettings",
                new XElement(App + "Form", new XAttribute(Xsi + "type", "ItemRead"),
                    new XElement(App + "DesktopSettings",
                        new XElement(App + "SourceLocation", new XAttribute("DefaultValue", taskpane)),
                        new XElement(App + "RequestedHeight", "450"))),
                new XElement(App + "Form", new XAttribute(Xsi + "type", "ItemEdit"),
                    new XElement(App + "DesktopSettings",
                        new XElement(App + "SourceLocation", new XAttribute("DefaultValue", taskpane))))),
            new XElement(App + "Permissions", "ReadWriteItem"),
            new XElement(App + "Rule", new XAttribute(Xsi + "type", "RuleCollection"), new XAttribute("Mode", "Or"),
                new XElement(App + "Rule", new XAttribute(Xsi + "type", "ItemIs"), new XAttribute("ItemType", "Message"), new XAttribute("FormType", "Edit")),
                new XElement(App + "Rule", new XAttribute(Xsi + "type", "ItemIs"), new XAttribute("ItemType", "Message"), new XAttribute("FormType", "Read"))),
            new XElement(App + "DisableEntityHighlighting", "false"),
            new XElement(Vo + "VersionOverrides", new XAttribute(Xsi + "type", "VersionOverridesV1_0"),
                new XElement(Vo + "Requirements", new XElement(Bt + "Sets", new XAttribute("DefaultMinVersion", MinMailboxVersion),
                    new XElement(Bt + "Set", new XAttribute("Name", "Mailbox")))),
                Hosts(Vo),
                Resources(Vo),
                v11));
        return new XDocument(new XDeclaration("1.0", "utf-8", null), root);
    }

    /// <summary>The manifest as text, UTF-8 with a declaration.</summary>
    public static string ToXml(XDocument manifest)
    {
        using var writer = new Utf8StringWriter();
        manifest.Save(writer);
        return writer.ToString() + "\n";
    }

    private static XElement Rename(XElement e, XNamespace ns)
    {
        if (e.Name.Namespace == Vo)
        {
            e.Name = ns + e.Name.LocalName;
        }
        foreach (var child in e.Elements())
        {
            Rename(child, ns);
        }
        return e;
    }

    private sealed class Utf8StringWriter : StringWriter
    {
        public Utf8StringWriter() : base(System.Globalization.CultureInfo.InvariantCulture)
        {
        }

        public override System.Text.Encoding Encoding => new System.Text.UTF8Encoding(false);
    }
}
