using BulkMail.Api.Infrastructure;
namespace BulkMail.Api.Uploads;

/// <summary>What may be attached: file names Outlook and Windows accept, and no file type that Outlook blocks for
/// its recipients (they could not open it, and it looks like malware).</summary>
public static class AttachmentRules
{
    public const int MaxNameBytes = 255;

    // Outlook's Level-1 blocked types (the common ones); a recipient's Outlook hides these attachments.
    private static readonly HashSet<string> Blocked = new(StringComparer.OrdinalIgnoreCase)
    {
        ".ade", ".adp", ".app", ".application", ".appref-ms", ".asp", ".aspx", ".asx", ".bas", ".bat", ".cer", ".chm", ".cmd", ".cnt",
        ".com", ".cpl", ".crt", ".csh", ".der", ".diagcab", ".exe", ".fxp", ".gadget", ".grp", ".hlp", ".hpj", ".hta", ".htc", ".inf",
        ".ins", ".isp", ".its", ".jar", ".jnlp", ".js", ".jse", ".ksh", ".lnk", ".mad", ".maf", ".mag", ".mam", ".maq", ".mar", ".mas",
        ".mat", ".mau", ".mav", ".maw", ".mcf", ".mda", ".mdb", ".mde", ".mdt", ".mdw", ".mdz", ".msc", ".msh", ".msh1", ".msh2",
        ".mshxml", ".msh1xml", ".msh2xml", ".msi", ".msp", ".mst", ".msu", ".ops", ".osd", ".pcd", ".pif", ".pl", ".plg", ".prf",
        ".prg", ".printerexport", ".ps1", ".ps1xml", ".ps2", ".ps2xml", ".psc1", ".psc2", ".psd1", ".psdm1", ".pst", ".py", ".pyc",
        ".pyo", ".pyw", ".pyz", ".pyzw", ".reg", ".scf", ".scr", ".sct", ".shb", ".shs", ".theme", ".tmp", ".url", ".vb", ".vbe",
        ".vbp", ".vbs", ".vhd", ".vhdx", ".vsmacros", ".vsw", ".webpnp", ".website", ".ws", ".wsb", ".wsc", ".wsf", ".wsh", ".xbap",
        ".xll", ".xnk",
    };

    // Read-only after construction: one table of extension → MIME type for every lookup.
    private static readonly Microsoft.AspNetCore.StaticFiles.FileExtensionContentTypeProvider ContentTypes = new();

    private static readonly char[] Invalid = ['\\', '/', ':', '*', '?', '"', '<', '>', '|'];

    /// <summary>Null when the name is acceptable, else why not.</summary>
    public static CodedText? Check(string name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return CodedText.Of(ProblemCode.FileNameMissing);
        }
        if (name.IndexOfAny(Invalid) >= 0 || name.Any(char.IsControl))
        {
            return CodedText.Of(ProblemCode.FileNameInvalid, ("name", name));
        }
        if (System.Text.Encoding.UTF8.GetByteCount(name) > MaxNameBytes)
        {
            return CodedText.Of(ProblemCode.FileNameTooLong, ("max", MaxNameBytes));
        }
        var ext = Path.GetExtension(name);
        if (Blocked.Contains(ext))
        {
            return CodedText.Of(ProblemCode.FileTypeBlocked, ("extension", ext));
        }
        return null;
    }

    /// <summary>A content type from the extension when the browser sent none (or a generic one).</summary>
    public static string ContentTypeOf(string name, string? given)
    {
        if (!string.IsNullOrEmpty(given) && given != "application/octet-stream")
        {
            return given;
        }
        return ContentTypes.TryGetContentType(name, out var type)
            ? type
            : "application/octet-stream";
    }
}
