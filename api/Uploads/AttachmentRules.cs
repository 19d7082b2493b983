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

    // Names Windows reserves for devices, with or without an extension ("CON", "AUX.pdf", "COM1.docx").
    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
        "COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "COM\u00B9", "COM\u00B2", "COM\u00B3",
        "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT\u00B9", "LPT\u00B2", "LPT\u00B3",
    };

    /// <summary>
    /// The name as the recipient's Windows will see it, so that the checks look at that name: NFC (a Mac's decomposed
    /// Japanese), bidirectional and other invisible format characters removed (<c>cv\u202Efdp.html</c> displays as
    /// <c>cvlmth.pdf</c>), surrounding spaces and trailing dots dropped (Windows strips <c>invoice.exe.</c> and
    /// <c>invoice.exe </c> to <c>invoice.exe</c>). Uploads, HRBC files and zip entries all go through it.
    /// </summary>
    public static string Normalize(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "";
        }
        var text = name.IsNormalized(System.Text.NormalizationForm.FormC) ? name : name.Normalize(System.Text.NormalizationForm.FormC);
        var kept = new System.Text.StringBuilder(text.Length);
        foreach (var c in text)
        {
            // Cf: bidi embeddings/overrides/isolates, LRM/RLM, zero-width spaces and joiners, the BOM, soft hyphen.
            if (char.GetUnicodeCategory(c) != System.Globalization.UnicodeCategory.Format)
            {
                kept.Append(c);
            }
        }
        return kept.ToString().Trim().TrimEnd('.', ' ', '\u3000').Trim();
    }

    /// <summary>Null when the (normalized) name is acceptable, else why not.</summary>
    public static string? Check(string name) => Refuse(name)?.Message;

    /// <summary>Why a normalized name cannot be attached (code, English message, args), or null.</summary>
    public static AttachmentRefusal? Refuse(string name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return new("FileNameEmpty", "The file has no name.", new Dictionary<string, string>());
        }
        var args = new Dictionary<string, string> { ["name"] = name };
        if (name.IndexOfAny(Invalid) >= 0 || name.Any(c => char.IsControl(c) || c is '\u2028' or '\u2029') || HasLoneSurrogate(name))
        {
            return new("FileNameInvalidCharacter", $"The file name {Printable(name)} contains a character Windows does not allow (\\ / : * ? \" < > |).", args);
        }
        if (System.Text.Encoding.UTF8.GetByteCount(name) > MaxNameBytes)
        {
            return new("FileNameTooLong", $"The file name is longer than {MaxNameBytes} bytes.", args);
        }
        var stem = name.Split('.')[0].TrimEnd(' ');
        if (Reserved.Contains(stem))
        {
            args["reserved"] = stem.ToUpperInvariant();
            return new("FileNameReserved", $"The file name {name} is a name Windows reserves for a device ({stem.ToUpperInvariant()}); rename the file.", args);
        }
        var ext = Path.GetExtension(name);
        if (Blocked.Contains(ext))
        {
            args["extension"] = ext.ToLowerInvariant();
            return new("FileTypeBlocked", $"{ext} files are blocked by Outlook for their recipients; zip it or send a link instead.", args);
        }
        return null;
    }

    /// <summary>A program whatever its name says (a renamed .exe): refused like the blocked types.</summary>
    public static AttachmentRefusal? RefuseContent(string name, ReadOnlySpan<byte> content) =>
        Sniff(content) is "application/x-msdownload" or "application/x-executable"
            ? new("FileIsProgram", $"{name} is a program (its content is an executable, whatever its name says); Outlook blocks programs for their recipients.",
                new Dictionary<string, string> { ["name"] = name })
            : null;

    /// <summary>
    /// The content type, decided here and never taken from the client or HRBC (a part header can carry anything, CR/LF
    /// included): the extension's type, unless the extension names a type with a signature that the bytes do not have
    /// (a "PDF" that is not one is sent as application/octet-stream, so no client renders it as what it claims).
    /// </summary>
    public static string ContentTypeOf(string name, ReadOnlySpan<byte> content)
    {
        if (!ContentTypes.TryGetContentType(name, out var byName))
        {
            return "application/octet-stream";
        }
        var expected = Signed.GetValueOrDefault(byName);
        if (expected is null)
        {
            return byName;
        }
        return Sniff(content) == expected ? byName : "application/octet-stream";
    }

    // Types whose files start with a signature, and which signature (as Sniff names it).
    private static readonly Dictionary<string, string> Signed = new(StringComparer.OrdinalIgnoreCase)
    {
        ["application/pdf"] = "application/pdf",
        ["image/png"] = "image/png",
        ["image/jpeg"] = "image/jpeg",
        ["image/gif"] = "image/gif",
        ["application/zip"] = "application/zip",
        ["application/vnd.openxmlformats-officedocument.wordprocessingml.document"] = "application/zip",
        ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"] = "application/zip",
        ["application/vnd.openxmlformats-officedocument.presentationml.presentation"] = "application/zip",
        ["application/msword"] = "application/x-ole-storage",
        ["application/vnd.ms-excel"] = "application/x-ole-storage",
        ["application/vnd.ms-powerpoint"] = "application/x-ole-storage",
    };

    /// <summary>What the first bytes say the file is (null: no known signature).</summary>
    public static string? Sniff(ReadOnlySpan<byte> b) => b switch
    {
        [0x25, 0x50, 0x44, 0x46, 0x2D, ..] => "application/pdf",                  // %PDF-
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, ..] => "image/png",
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [0x47, 0x49, 0x46, 0x38, ..] => "image/gif",                               // GIF8
        [0x50, 0x4B, 0x03 or 0x05 or 0x07, 0x04 or 0x06 or 0x08, ..] => "application/zip",
        [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, ..] => "application/x-ole-storage",
        [0x4D, 0x5A, ..] => "application/x-msdownload",                            // MZ: a Windows program
        [0x7F, 0x45, 0x4C, 0x46, ..] => "application/x-executable",                // ELF
        _ => null,
    };

    private static bool HasLoneSurrogate(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                return true;
            }
        }
        return false;
    }

    private static string Printable(string name) => new([.. name.Select(c => char.IsControl(c) ? '\uFFFD' : c)]);
}

/// <summary>Why a file cannot be attached: a code and its arguments for translation, the English message.</summary>
public sealed record AttachmentRefusal(string Code, string Message, IReadOnlyDictionary<string, string> Args)
{
    /// <summary>As a coded text for problems (translated by code; the English is this message).</summary>
    public BulkMail.Api.Infrastructure.CodedText ToCoded() => new(Code, Args) { English = Message };
}
