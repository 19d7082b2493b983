using BulkMail.Api.Templates;

namespace BulkMail.Tests.Templates;

public class MailTemplateTests
{
    private static readonly HashSet<string> Known = ["Person.P_Name", "Job.P_Position", "Client.P_Name", "User.P_Name", "Resume.U_LinkedInUrl"];
    private readonly MailTemplateEngine _engine = new();

    [Fact]
    public void Values_are_html_escaped_in_the_body_and_japanese_passes_through()
    {
        var t = _engine.Compile("{{Job.P_Position}}のご案内", "<p>{{Person.P_Name}}様</p><p>{{{Client.P_Name}}}</p>", Known.Contains);

        var mail = t.Render(new Dictionary<string, string?>
        {
            ["Person.P_Name"] = "<b>山田</b> & \"太郎\"",
            ["Job.P_Position"] = "R&D エンジニア",
            ["Client.P_Name"] = "<i>株式会社サンプル</i>",
        });

        Assert.Equal("<p>&lt;b&gt;山田&lt;/b&gt; &amp; &quot;太郎&quot;様</p><p><i>株式会社サンプル</i></p>", mail.HtmlBody);
        Assert.Equal("R&D エンジニアのご案内", mail.Subject);
    }

    [Fact]
    public void Line_breaks_are_removed_from_subjects()
    {
        var t = _engine.Compile("ご案内 {{Person.P_Name}}", "x", Known.Contains);

        var mail = t.Render(new Dictionary<string, string?> { ["Person.P_Name"] = "山田\r\nBcc: evil@example.com" });

        Assert.Equal("ご案内 山田 Bcc: evil@example.com", mail.Subject);
        Assert.DoesNotContain('\n', mail.Subject);
    }

    [Fact]
    public void An_unknown_tag_is_reported_with_its_part_and_position()
    {
        var error = Assert.Throws<TemplateException>(() =>
            _engine.Compile("件名", "<p>こんにちは</p>\n<p>{{Person.P_Nmae}}様</p>", Known.Contains));

        var e = Assert.Single(error.Errors);
        Assert.Equal("UnknownTag", e.Code);
        Assert.Equal("Person.P_Nmae", e.Tag);
        Assert.Equal(("body", 2, 4), (e.Part, e.Line, e.Column));
        Assert.Contains("{{Person.P_Nmae}}", e.Message);
    }

    [Theory]
    [InlineData("<p>{{Person.P_Name</p>")]
    [InlineData("<p>{{#if Person.P_Name}}x</p>")]
    [InlineData("<p>{{/if}}</p>")]
    [InlineData("<p>{{}}</p>")]
    [InlineData("<p>{{lookup . 'x'}}</p>")]
    public void Syntax_errors_and_unsupported_expressions_are_refused(string body)
    {
        var error = Assert.Throws<TemplateException>(() => _engine.Compile("s", body, Known.Contains));

        Assert.All(error.Errors, e => Assert.Equal("body", e.Part));
        Assert.All(error.Errors, e => Assert.True(e.Line >= 1 && e.Column >= 1));
    }

    [Fact]
    public void Conditional_blocks_and_empty_value_warnings()
    {
        var t = _engine.Compile("s", "{{#if Person.P_Name}}{{Person.P_Name}}様{{else}}ご担当者様{{/if}} {{Resume.U_LinkedInUrl}}", Known.Contains);

        var mail = t.Render(new Dictionary<string, string?> { ["Person.P_Name"] = "", ["Resume.U_LinkedInUrl"] = null });

        Assert.Equal("ご担当者様 ", mail.HtmlBody);
        Assert.Equal(["Person.P_Name", "Resume.U_LinkedInUrl"], mail.EmptyTags);
        Assert.Equal(["Person.P_Name", "Resume.U_LinkedInUrl"], t.Paths.Order());
    }
}
