using System.Text;
using BulkMail.Api.Mailings;
using BulkMail.Api.Templates;
using BulkMail.Tests.Support;

namespace BulkMail.Tests.Hardening;

/// <summary>Small mends: full-width formula characters in the result CSV; control characters in subjects.</summary>
public class FidelityTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("＝HYPERLINK(\"http://x\")")]
    [InlineData("＋81 3 1234")]
    [InlineData("－1+1")]
    [InlineData("＠SUM(A1)")]
    [InlineData("  =1+1")]
    [InlineData("\u3000＝1+1")]
    [InlineData("=1+1")]
    [InlineData("@SUM(A1)")]
    public async Task Cells_that_a_spreadsheet_would_read_as_a_formula_are_neutralised(string name)
    {
        var csv = await CsvOfAsync(name);
        var row = Csv.Parse(csv).Skip(1).Single();
        Assert.Equal("'" + name, row[4]);
    }

    [Theory]
    [InlineData("山田 太郎")]
    [InlineData("a=b")]
    [InlineData("ＡＢＣ")]
    public async Task Ordinary_cells_are_left_alone(string name)
    {
        var row = Csv.Parse(await CsvOfAsync(name)).Skip(1).Single();
        Assert.Equal(name, row[4]);
    }

    private static async Task<string> CsvOfAsync(string recordName)
    {
        using var output = new MemoryStream();
        var delivery = new Delivery { Seq = 1, RecordType = "Resume", RecordId = 10001, RecordName = recordName, Status = DeliveryStatus.Sent };
        await ResultCsv.WriteAsync(output, "m1", new[] { delivery }.ToAsyncEnumerable(), ResultCsvFormat.English, Ct);
        return Encoding.UTF8.GetString(output.ToArray());
    }

    [Theory]
    [InlineData("\u0085")]
    [InlineData("\u2028")]
    [InlineData("\u2029")]
    [InlineData("\u000B")]
    [InlineData("\u000C")]
    [InlineData("\r\n")]
    [InlineData("\t")]
    [InlineData("\u0000")]
    [InlineData("\u001B")]
    [InlineData("\u009B")]
    public void Subjects_are_one_line_without_control_characters(string control)
    {
        var t = new MailTemplateEngine().Compile("ご案内 {{Person.P_Name}}" + control + "です", "x", a => a == "Person.P_Name");
        var subject = t.Render(new Dictionary<string, string?> { ["Person.P_Name"] = "山田" + control + "Bcc: evil@example.com" }).Subject;
        Assert.DoesNotContain(subject, c => char.IsControl(c) || c is '\u2028' or '\u2029');
        Assert.StartsWith("ご案内 山田", subject, StringComparison.Ordinal);
    }
}
