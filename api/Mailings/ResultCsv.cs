using System.Globalization;
using CsvHelper;

namespace BulkMail.Api.Mailings;

/// <summary>
/// The result file (ARCHITECTURE §7): UTF-8 with BOM so Excel reads Japanese, CRLF, RFC 4180 quoting, text cells
/// starting with = + - @ TAB CR neutralised against formula injection. One row per delivery, streamed.
/// </summary>
public static class ResultCsv
{
    public static readonly IReadOnlyList<string> Columns =
        ["MailingId", "DeliveryId", "RecordType", "RecordId", "RecordName", "JobId", "MailField", "Address", "Status",
         "Reason", "Attempts", "SentAt", "PhaseUpdate", "BouncedAt", "BounceReason"];

    private static readonly IReadOnlyList<string> JapaneseColumns =
        ["一括送信ID", "配信ID", "レコード種別", "レコードID", "名前", "JOB ID", "メール項目", "メールアドレス", "結果",
         "理由", "試行回数", "送信日時", "フェーズ更新", "不達日時", "不達理由"];

    public static string StatusWord(DeliveryStatus status, bool japanese) => !japanese ? status.ToString() : status switch
    {
        DeliveryStatus.Sent => "送信済み",
        DeliveryStatus.Failed => "失敗",
        DeliveryStatus.Skipped => "対象外",
        DeliveryStatus.Bounced => "不達",
        DeliveryStatus.Cancelled => "取消",
        _ => "未送信",
    };

    private static string RecordTypeWord(string type, bool japanese) => !japanese ? type : type switch
    {
        "Resume" => "レジュメ",
        "Recruiter" => "企業担当者",
        "Job" => "JOB",
        _ => type,
    };

    public static async Task WriteAsync(Stream output, string mailingId, IAsyncEnumerable<Delivery> deliveries, bool japanese, CancellationToken cancellationToken)
    {
        var options = CsvWriterOptions.Default with
        {
            Injection = CsvInjection.Escape,
            WriteByteOrderMark = true,
            NewLine = "\r\n",
            FormatProvider = CultureInfo.InvariantCulture,
        };
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
                d.MailField ?? "",
                d.Address ?? "",
                StatusWord(d.Status, japanese),
                d.Reason ?? "",
                d.Attempts.ToString(CultureInfo.InvariantCulture),
                Iso(d.SentAt),
                d.PhaseUpdate ?? "",
                Iso(d.BouncedAt),
                d.BounceReason ?? "",
            ]), cancellationToken).ConfigureAwait(false);
            if (++rows % 500 == 0)
            {
                await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

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

    private static string Iso(DateTimeOffset? t) => t?.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture) ?? "";
}
