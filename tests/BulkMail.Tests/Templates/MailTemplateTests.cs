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
    public void An_unknown_tag_is_reported_with_its_part_its_visible_position_and_the_nearest_known_tag_once()
    {
        var error = Assert.Throws<TemplateException>(() =>
            _engine.Compile("件名", "<p>こんにちは</p>\n<p>{{Person.P_Nmae}}様</p>", Known.Contains, Known));

        var e = Assert.Single(error.Errors);
        Assert.Equal("UnknownTag", e.Code);
        Assert.Equal("Person.P_Nmae", e.Tag);
        Assert.Equal(("body", 2, 1), (e.Part, e.Line!.Value, e.Column!.Value)); // the second paragraph, not the HTML source's line
        Assert.Equal("Person.P_Nmae", e.Args["tag"]);
        Assert.Equal("Person.P_Name", e.Args["suggestion"]);
        Assert.Equal("Unknown tag {{Person.P_Nmae}}: did you mean {{Person.P_Name}}?", e.Message);
    }

    [Theory]
    // what the editor makes: paragraphs, divs with <br> for empty lines, entities, markup inside a line
    [InlineData("<p>一行目</p><p>x {{Nope.X}}</p>", 2, 3)]
    [InlineData("<div>a<br></div><div><br></div><div>x {{Nope.X}}</div>", 3, 3)]
    [InlineData("a<br>b<br><br>{{Nope.X}}", 4, 1)]
    [InlineData("<p>R&amp;D <b>部</b>\n   {{Nope.X}}</p>", 1, 7)]
    [InlineData("<ul><li>one</li><li>two {{Nope.X}}</li></ul>", 2, 5)]
    [InlineData("<table><tr><td>a</td><td>b</td></tr><tr><td>{{Nope.X}}</td></tr></table>", 2, 1)]
    [InlineData("<style>p { x: y }</style><!-- <p>hidden</p> --><p>{{Nope.X}}</p>", 1, 1)]
    [InlineData("plain\ntext {{Nope.X}}", 2, 6)] // no markup at all: source lines are the lines
    public void Body_positions_count_the_lines_and_characters_the_reader_sees(string body, int line, int column)
    {
        var e = Assert.Single(Assert.Throws<TemplateException>(() => _engine.Compile("s", body, Known.Contains)).Errors);

        Assert.Equal((line, column), (e.Line!.Value, e.Column!.Value));
    }

    [Fact]
    public void Template_errors_carry_codes_and_args_and_their_messages_never_name_the_place()
    {
        var error = Assert.Throws<TemplateException>(() => _engine.Compile("{{Job.P_Positon}}", "<p>{{}}</p><p>{{#if Person.P_Name}}</p><p>{{/unless}} }} {{Person.P_Name</p>",
            Known.Contains, Known));

        var codes = error.Errors.Select(e => e.Code).ToList();
        Assert.Equal(["UnknownTag", "EmptyTag", "StrayClose", "StrayClose", "Unclosed", "UnclosedBlock"], codes.Take(1).Concat(codes.Skip(1).Order(StringComparer.Ordinal)));
        Assert.Equal("Job.P_Position", error.Errors[0].Args["suggestion"]);
        Assert.Equal("if", error.Errors.Single(e => e.Code == "UnclosedBlock").Args["block"]);
        Assert.Equal(("{{", "}}"), error.Errors.Single(e => e.Code == "Unclosed").Args is var a ? (a["open"], a["close"]) : default);
        Assert.All(error.Errors, e =>
        {
            Assert.DoesNotContain("line", e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("column", e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(e.Part, e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.True(e.Line >= 1 && e.Column >= 1);
        });
    }

    [Fact]
    public void A_bare_field_name_is_suggested_with_its_resource()
    {
        var e = Assert.Single(Assert.Throws<TemplateException>(() => _engine.Compile("s", "{{P_Position}}", Known.Contains, Known)).Errors);

        Assert.Equal(("UnknownTag", "Job.P_Position"), (e.Code, e.Args["suggestion"]));
    }

    [Theory]
    [InlineData("<p>｛｛Person.P_Name｝｝様</p>", "｛｛Person.P_Name｝｝", "{{Person.P_Name}}")]
    [InlineData("<p>｛｛Ｐｅｒｓｏｎ．Ｐ＿Ｎａｍｅ｝｝様</p>", "｛｛Ｐｅｒｓｏｎ．Ｐ＿Ｎａｍｅ｝｝", "{{Person.P_Name}}")]
    [InlineData("<p>{ {Person.P_Name} }様</p>", "{ {Person.P_Name} }", "{{Person.P_Name}}")]
    [InlineData("<p>{Person.P_Name}様</p>", "{Person.P_Name}", "{{Person.P_Name}}")]
    [InlineData("<p>｛｛#if Person.P_Name｝｝</p>", "｛｛#if Person.P_Name｝｝", "{{#if Person.P_Name}}")]
    [InlineData("<p>｛｛Person.P_Nmae｝｝</p>", "｛｛Person.P_Nmae｝｝", "{{Person.P_Name}}")]
    public void Near_miss_spellings_compile_but_are_listed_with_what_was_meant(string body, string found, string suggestion)
    {
        var t = _engine.Compile("s", "<p>x</p>" + body, Known.Contains, Known);

        var n = Assert.Single(t.NearMisses);
        Assert.Equal("NearMissTag", n.Code);
        Assert.Equal((found, suggestion), (n.Args["found"], n.Args["suggestion"]));
        Assert.Equal(("body", 2, 1), (n.Part, n.Line!.Value, n.Column!.Value));
        Assert.Equal(found, Assert.Single(t.Render(new Dictionary<string, string?>()).HtmlBody.Split("<p>x</p>", StringSplitOptions.RemoveEmptyEntries))
            .Replace("<p>", "", StringComparison.Ordinal).Replace("様</p>", "", StringComparison.Ordinal).Replace("</p>", "", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("<style>p { color: red }</style><p>{Nope.X} {a} {{Person.P_Name}} {{{Client.P_Name}}}</p>")]
    [InlineData("{{!-- { {Person.P_Name} } {Person.P_Name} --}}<p>{{Person.P_Name}}</p>")]
    public void Braces_that_are_not_near_misses_are_left_alone(string body)
    {
        Assert.Empty(_engine.Compile("s", body, Known.Contains, Known).NearMisses);
    }

    [Theory]
    [InlineData("<p>{{Person.P_Name}様 {{Job.P_Position}}</p>", "Unclosed", "{{Person.P_Name}}")]
    [InlineData("<p>{{Person.P_Name｝｝様 {{Job.P_Position}}</p>", "Unclosed", "{{Person.P_Name}}")]
    [InlineData("<p>{Person.P_Name}}様 {{Job.P_Position}}</p>", "StrayClose", "{{Person.P_Name}}")]
    [InlineData("<p>｛｛Person.P_Name}}様 {{Job.P_Position}}</p>", "StrayClose", "{{Person.P_Name}}")]
    public void Half_closed_tags_are_errors_that_say_what_was_meant_and_the_rest_is_still_read(string body, string code, string suggestion)
    {
        var error = Assert.Throws<TemplateException>(() => _engine.Compile("s", body, Known.Contains, Known));

        var e = Assert.Single(error.Errors);
        Assert.Equal((code, suggestion, 1, 1), (e.Code, e.Args["suggestion"], e.Line!.Value, e.Column!.Value));
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

    [Fact]
    public void A_fallback_is_written_for_an_empty_value_escaped_and_is_not_an_empty_tag()
    {
        var t = _engine.Compile("{{default Person.P_Name 'ご担当者'}}様へ", "<p>{{default Person.P_Name \"ご担当者様 & <各位>\"}}</p><p>{{default Job.P_Position \"\"}}{{Client.P_Name}}</p>",
            Known.Contains, Known);

        Assert.Empty(t.NearMisses);
        Assert.Equal(["Client.P_Name", "Job.P_Position", "Person.P_Name"], t.Paths.Order());
        var empty = t.Render(new Dictionary<string, string?> { ["Person.P_Name"] = "", ["Client.P_Name"] = null });
        Assert.Equal("<p>ご担当者様 &amp; &lt;各位&gt;</p><p></p>", empty.HtmlBody);
        Assert.Equal("ご担当者様へ", empty.Subject);
        Assert.Equal(["Client.P_Name"], empty.EmptyTags); // the tags with a fallback said what to write
        Assert.Equal(["Job.P_Position", "Person.P_Name"], empty.Fallbacks);

        var full = t.Render(new Dictionary<string, string?> { ["Person.P_Name"] = "<山田>", ["Job.P_Position"] = "営業", ["Client.P_Name"] = "A社" });
        Assert.Equal("<p>&lt;山田&gt;</p><p>営業A社</p>", full.HtmlBody);
        Assert.Equal("<山田>様へ", full.Subject);
        Assert.Empty(full.Fallbacks);
    }
}

/// <summary>Depth, tag count and sizes are refused in the engine's own linear scan, before Handlebars compiles.</summary>
public class MailTemplateLimitTests
{
    private static readonly HashSet<string> Known = ["Person.P_Name", "Job.P_Position"];
    private readonly MailTemplateEngine _engine = new();

    public static string Nested(int depth) =>
        string.Concat(Enumerable.Repeat("{{#if Person.P_Name}}", depth)) + "{{Person.P_Name}}" + string.Concat(Enumerable.Repeat("{{/if}}", depth));

    [Fact]
    public void Blocks_nested_to_the_limit_compile_and_render_and_one_more_is_too_deep()
    {
        var t = _engine.Compile("s", Nested(20), Known.Contains);
        Assert.Equal("山田", t.Render(new Dictionary<string, string?> { ["Person.P_Name"] = "山田" }).HtmlBody);

        var e = Assert.Single(Assert.Throws<TemplateException>(() => _engine.Compile("s", "<p>x</p>" + Nested(21), Known.Contains)).Errors);
        Assert.Equal(("TooDeep", "20", "body", 2, 421), (e.Code, e.Args["max"], e.Part, e.Line!.Value, e.Column!.Value));
    }

    [Fact]
    public void The_deepest_configurable_nesting_compiles_on_the_compilers_own_stack()
    {
        var engine = new MailTemplateEngine(Microsoft.Extensions.Options.Options.Create(new TemplateOptions { MaxDepth = 100 }));

        Assert.Equal("x", engine.Compile("s", Nested(100), Known.Contains).Render(new Dictionary<string, string?> { ["Person.P_Name"] = "x" }).HtmlBody);
    }

    [Fact]
    public void Tags_up_to_the_limit_compile_and_one_more_is_refused()
    {
        var atLimit = string.Concat(Enumerable.Repeat("{{Person.P_Name}} ", 1999));
        Assert.Equal(2000, _engine.Compile("{{Job.P_Position}}", atLimit, Known.Contains).Tags.Count);

        var e = Assert.Single(Assert.Throws<TemplateException>(() => _engine.Compile("{{Job.P_Position}}{{Job.P_Position}}", atLimit, Known.Contains)).Errors);
        Assert.Equal(("TooManyTags", "2000", "body"), (e.Code, e.Args["max"], e.Part));
    }

    [Fact]
    public void Subject_and_body_sizes_are_refused_before_anything_is_scanned()
    {
        var errors = Assert.Throws<TemplateException>(() => _engine.Compile(new string('あ', 256), "{{" + new string('x', 1024 * 1024), Known.Contains)).Errors;

        Assert.Equal([("TooLong", "subject", "255"), ("TooLong", "body", "1048576")], errors.Select(e => (e.Code, e.Part, e.Args["max"])));
        Assert.All(errors, e => Assert.Null(e.Line));
        Assert.Contains("1 MB", errors[1].Message);
    }

    [Fact]
    public void Hostile_templates_fail_fast_in_a_linear_scan()
    {
        var deep = Nested(20_000);
        var many = string.Concat(Enumerable.Repeat("{{Person.P_Name}}", 55_000)); // 935 KB
        var unclosed = string.Concat(Enumerable.Repeat("{{a ", 100_000)) + "}}";
        var watch = System.Diagnostics.Stopwatch.StartNew();

        Assert.Equal("TooDeep", Assert.Single(Assert.Throws<TemplateException>(() => _engine.Compile("s", deep, Known.Contains)).Errors).Code);
        Assert.Equal("TooManyTags", Assert.Single(Assert.Throws<TemplateException>(() => _engine.Compile("s", many, Known.Contains)).Errors).Code);
        Assert.NotEmpty(Assert.Throws<TemplateException>(() => _engine.Compile("s", unclosed, Known.Contains)).Errors);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"{watch.Elapsed}");
    }


    [Fact]
    public void A_fallback_of_an_unknown_alias_is_an_unknown_tag_with_a_suggestion()
    {
        var e = Assert.Throws<TemplateException>(() => _engine.Compile("s", "{{default Person.P_Nam \"x\"}}", Known.Contains, Known));
        var error = Assert.Single(e.Errors);
        Assert.Equal((TemplateErrorCodes.UnknownTag, "Person.P_Nam"), (error.Code, error.Tag));
        Assert.Equal("Person.P_Name", error.Args["suggestion"]);
    }
}
