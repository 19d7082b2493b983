using System.Globalization;
using BulkMail.Api.Infrastructure;
using CsvHelper;

namespace BulkMail.Api.Mailings;

/// <summary>The <c>Results</c> section: how the result file shows times.</summary>
public sealed class ResultCsvOptions
{
    public const string Section = "Results";

    /// <summary>The IANA time zone of the Japanese file's times (and of its name), unless the request names one (<c>?tz=</c>).</summary>
    public string TimeZone { get; set; } = "Asia/Tokyo";
}

/// <summary>How one result file is written: the language, the time zone of its times, the labels of the mail fields.</summary>
/// <param name="TimeZone">Null: times in UTC as ISO 8601 with offset (the English file as it always was).</param>
public sealed record ResultCsvFormat(bool Japanese, TimeZoneInfo? TimeZone, IReadOnlyDictionary<string, string> MailFieldLabels)
{
    public static readonly ResultCsvFormat English = new(false, null, new Dictionary<string, string>());
}

/// <summary>
/// The result file (docs/architecture.md, Result file): UTF-8 with BOM so Excel reads Japanese, CRLF, RFC 4180 quoting, text cells
/// starting with = + - @ TAB CR neutralised against formula injection. One row per delivery, streamed. The Japanese
/// file (<c>?lang=ja</c>) says everything in Japanese from the codes (reasons, phase-update outcomes, status words, the
/// mail fields' HRBC labels) and gives local times as <c>yyyy/MM/dd HH:mm:ss</c>, which Excel reads as a date, with the
/// zone in the <c>TimeZone</c> column; the English file keeps ISO 8601 with offset.
/// </summary>
public static partial class ResultCsv
{
    public static readonly IReadOnlyList<string> Columns =
        ["MailingId", "DeliveryId", "RecordType", "RecordId", "RecordName", "JobId", "MailField", "Address", "Status",
         "Reason", "Attempts", "SentAt", "PhaseUpdate", "BouncedAt", "BounceReason", "RecipientName", "RepliedAt", "TimeZone"];

    private static readonly IReadOnlyList<string> JapaneseColumns =
        ["一括送信ID", "配信ID", "レコード種別", "レコードID", "名前", "JOB ID", "メール項目", "メールアドレス", "結果",
         "理由", "試行回数", "送信日時", "フェーズ更新", "不達日時", "不達理由", "宛名", "返信日時", "タイムゾーン"];

    /// <summary>The Japanese file's times: local, in a form Excel reads as a date and time.</summary>
    public const string JapaneseTimeFormat = "yyyy/MM/dd HH:mm:ss";

    /// <summary>The status word: the same table as the task pane's (送信対象外, 中止, …).</summary>
    public static string StatusWord(DeliveryStatus status, bool japanese) => ServerText.Format(status, null, japanese);

    private static string RecordTypeWord(string type, bool japanese) => !japanese ? type : type switch
    {
        "Resume" => "レジュメ",
        "Recruiter" => "企業担当者",
        "Job" => "JOB",
        _ => type,
    };

    /// <summary>The file's name: <c>BulkMail_&lt;yyyyMMdd-HHmm&gt;_&lt;subject&gt;.csv</c> (the mailing's creation in the
    /// file's time zone; the subject without tags and without characters Windows refuses in a file name).</summary>
    public static string FileName(Mailing mailing, TimeZoneInfo zone)
    {
        var at = TimeZoneInfo.ConvertTime(mailing.CreatedAt, zone).ToString("yyyyMMdd-HHmm", CultureInfo.InvariantCulture);
        var subject = Tags().Replace(mailing.Spec.Subject, " ");
        subject = new string([.. subject.Select(c => char.IsControl(c) || Path.GetInvalidFileNameChars().Contains(c) || "\\/:*?\"<>|".Contains(c) ? ' ' : c)]);
        subject = Spaces().Replace(subject, "_").Trim('_', '.', ' ');
        if (subject.Length > 60)
        {
            subject = subject[..60].TrimEnd('_', '.');
        }
        return subject.Length == 0 ? $"BulkMail_{at}.csv" : $"BulkMail_{at}_{subject}.csv";
    }

    public static async Task WriteAsync(Stream output, string mailingId, IAsyncEnumerable<Delivery> deliveries, ResultCsvFormat format, CancellationToken cancellationToken)
    {
        var japanese = format.Japanese;
        var options = CsvWriterOptions.Default with
        {
            Injection = CsvInjection.Escape,
            WriteByteOrderMark = true,
            NewLine = "\r\n",
            FormatProvider = CultureInfo.InvariantCulture,
        };
        var zoneName = format.TimeZone?.Id ?? "UTC";
        await using var writer = CsvWriter.Create(output, options, leaveOpen: true);
        writer.WriteHeader([.. japanese ? JapaneseColumns : Columns]);
        var rows = 0;
        await foreach (var d in deliveries.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            await writer.WriteRecordAsync(Neutralize(
            [
                mailingId,
                Delivery.IdOf(mailingId, d.Seq),
                RecordTypeWord(d.RecordType, japanese),
                d.RecordId.ToString(CultureInfo.InvariantCulture),
                d.RecordName ?? "",
                d.JobId?.ToString(CultureInfo.InvariantCulture) ?? "",
                japanese && d.MailField is { } f && format.MailFieldLabels.TryGetValue(f, out var label) ? label : d.MailField ?? "",
                d.Address ?? "",
                StatusWord(d.Status, japanese),
                Reason(d, japanese),
                d.Attempts.ToString(CultureInfo.InvariantCulture),
                Time(d.SentAt, format),
                PhaseUpdate(d, format),
                Time(d.BouncedAt, format),
                d.BounceReason ?? "",
                d.RecipientName ?? "",
                Time(d.RepliedAt, format),
                zoneName,
            ]), cancellationToken).ConfigureAwait(false);
            if (++rows % 500 == 0)
            {
                await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string Reason(Delivery d, bool japanese) =>
        japanese && ServerText.Format<ReasonCode>(d.ReasonCode, d.ReasonArgs, japanese: true) is { } ja ? ja : d.Reason ?? "";

    private static string PhaseUpdate(Delivery d, ResultCsvFormat format)
    {
        if (!format.Japanese || d.PhaseUpdateCodes is not { Count: > 0 } codes)
        {
            return d.PhaseUpdate ?? "";
        }
        var parts = codes.Select(c => ServerText.Format<PhaseUpdateCode>(c.Code, Localized(c.Args, format), japanese: true)).ToList();
        // a part without a known code (written before codes existed): the whole English outcome rather than a gap
        return parts.Any(p => p is null) ? d.PhaseUpdate ?? "" : string.Join("；", parts);
    }

    /// <summary>Dates inside outcome arguments (UTC ISO) shown like the file's other times.</summary>
    private static IReadOnlyDictionary<string, string> Localized(IReadOnlyDictionary<string, string> args, ResultCsvFormat format) =>
        args.TryGetValue("date", out var date) && DateTimeOffset.TryParse(date, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? new Dictionary<string, string>(args) { ["date"] = Time(at, format) }
            : args;

    private static string Time(DateTimeOffset? t, ResultCsvFormat format)
    {
        if (t is not { } at)
        {
            return "";
        }
        if (format.TimeZone is not { } zone)
        {
            return at.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);
        }
        var local = TimeZoneInfo.ConvertTime(at, zone);
        return format.Japanese
            ? local.ToString(JapaneseTimeFormat, CultureInfo.InvariantCulture)
            : local.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\{\{\{?[^}]*\}\}\}?")]
    private static partial System.Text.RegularExpressions.Regex Tags();

    [System.Text.RegularExpressions.GeneratedRegex(@"\s+")]
    private static partial System.Text.RegularExpressions.Regex Spaces();

    /// <summary>CsvInjection.Escape quotes cells starting with ASCII = + - @ (and tab, CR); Japanese Excel also starts a
    /// formula at the full-width ＝ ＋ － ＠ (and after leading spaces), so those get the same leading apostrophe.</summary>
    public static string[] Neutralize(string[] cells)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            var trimmed = cells[i].TrimStart(' ', '\u3000');
            if (trimmed.Length > 0 && trimmed[0] is '\uFF1D' or '\uFF0B' or '\uFF0D' or '\uFF20' or '=' or '+' or '-' or '@')
            {
                // ASCII ones after leading spaces too: Escape only looks at the very first character.
                cells[i] = trimmed.Length == cells[i].Length && trimmed[0] is '=' or '+' or '-' or '@' ? cells[i] : "'" + cells[i];
            }
        }
        return cells;
    }

}
