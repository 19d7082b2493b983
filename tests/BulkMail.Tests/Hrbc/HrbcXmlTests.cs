using BulkMail.Api.Hrbc;

namespace BulkMail.Tests.Hrbc;

public class HrbcXmlTests
{
    [Fact]
    public void Option_values_parse_with_the_root_wrapper_and_without_names()
    {
        var root = HrbcXml.TryParse("""
            <Job Total="1" Count="1" Start="0"><Code>0</Code><Item>
              <Job.P_Id>30001</Job.P_Id>
              <Job.P_Area><Option.P_Area>
                <Option.P_Tokyo><Option.P_Id>87</Option.P_Id></Option.P_Tokyo>
                <Option.P_Kanagawa><Option.P_Id>88</Option.P_Id></Option.P_Kanagawa>
              </Option.P_Area></Job.P_Area>
            </Item></Job>
            """)!;
        var page = HrbcXml.ParsePage(root);

        var options = page.Items[0].Options("Job.P_Area");
        Assert.Equal([new HrbcOption("Option.P_Tokyo", 87, null), new HrbcOption("Option.P_Kanagawa", 88, null)], options);
    }

    [Fact]
    public void Option_values_parse_without_the_root_wrapper_and_with_names()
    {
        var root = HrbcXml.TryParse("""
            <Job Total="1" Count="1" Start="0"><Code>0</Code><Item>
              <Job.P_Area>
                <Option.P_Tokyo><Option.P_Name>東京都</Option.P_Name><Option.P_Id>87</Option.P_Id></Option.P_Tokyo>
                <Option.P_Kanagawa><Option.P_Name>神奈川県</Option.P_Name><Option.P_Id>88</Option.P_Id></Option.P_Kanagawa>
              </Job.P_Area>
            </Item></Job>
            """)!;
        var record = HrbcXml.ParsePage(root).Items[0];

        Assert.Equal([new HrbcOption("Option.P_Tokyo", 87, "東京都"), new HrbcOption("Option.P_Kanagawa", 88, "神奈川県")], record.Options("Job.P_Area"));
        Assert.Equal("東京都、神奈川県", HrbcDisplay.Flatten(record)["Job.P_Area"]);
    }

    [Fact]
    public void An_empty_option_root_wrapper_means_nothing_selected_when_the_root_is_known()
    {
        var root = HrbcXml.TryParse("<Job><Code>0</Code><Item><Job.P_Area><Option.P_Area/></Job.P_Area></Item></Job>")!;

        var record = HrbcXml.ParsePage(root, new HashSet<string> { "Option.P_Area" }).Items[0];

        Assert.Empty(record.Options("Job.P_Area"));
    }

    [Theory]
    [InlineData("Candidate")]
    [InlineData("Person")]
    public void Reference_fields_parse_whatever_the_wrapper_tag(string wrapper)
    {
        var root = HrbcXml.TryParse($"""
            <Resume Total="57" Count="1" Start="0"><Code>0</Code><Item>
              <Resume.P_Id>10001</Resume.P_Id>
              <Resume.P_Mail />
              <Resume.P_Candidate><{wrapper}><Person.P_Id>20001</Person.P_Id><Person.P_Name>鈴木 一郎</Person.P_Name><Person.P_Mail /></{wrapper}></Resume.P_Candidate>
              <Resume.P_Owner><User><User.P_Id>5</User.P_Id><User.P_Name>採用 花子</User.P_Name></User></Resume.P_Owner>
            </Item></Resume>
            """)!;
        var page = HrbcXml.ParsePage(root);
        var resume = HrbcResume.From(page.Items[0]);

        Assert.Equal(57, page.Total);
        Assert.Equal(10001, resume.Id);
        Assert.Equal(20001, resume.CandidateId);
        Assert.Equal("鈴木 一郎", resume.DisplayName);
        Assert.Null(resume.Record.Text("Resume.P_Mail"));
        Assert.Null(resume.Person!.Text("Person.P_Mail"));
        var flat = HrbcDisplay.Flatten(resume.Record);
        Assert.Equal("採用 花子", flat["User.P_Name"]);
        Assert.Equal("鈴木 一郎", flat["Resume.P_Candidate"]);
    }

    [Fact]
    public void A_reference_read_without_sub_fields_is_its_id()
    {
        var record = HrbcXml.ParsePage(HrbcXml.TryParse(
            "<Job><Code>0</Code><Item><Job.P_Id>1</Job.P_Id><Job.P_Client>40001</Job.P_Client></Item></Job>")!).Items[0];

        Assert.Equal(40001, record.RefId("Job.P_Client"));
    }

    [Fact]
    public void Write_results_keep_each_items_code()
    {
        var results = HrbcXml.ParseWriteResults(HrbcXml.TryParse(
            "<Process><Item><Id>60001</Id><Code>0</Code></Item><Item><Id>-1</Id><Code>301</Code></Item></Process>")!);

        Assert.Equal([new HrbcWriteResult(0, 60001, 0, null), new HrbcWriteResult(1, -1, 301, null)], results);
    }

    [Fact]
    public void Maintenance_is_recognised_in_a_body()
    {
        Assert.True(HrbcXml.IsMaintenance("<Resume><Code>9</Code><Message>maintenance</Message></Resume>"));
        Assert.False(HrbcXml.IsMaintenance("<Resume Total=\"0\"><Code>0</Code></Resume>"));
        Assert.False(HrbcXml.IsMaintenance("<html>503</html>"));
    }

    [Fact]
    public void Dates_are_read_and_written_as_utc()
    {
        var record = HrbcXml.ParsePage(HrbcXml.TryParse(
            "<Resume><Code>0</Code><Item><Resume.P_PhaseDate>2025/03/01 01:00:00</Resume.P_PhaseDate></Item></Resume>")!).Items[0];

        Assert.Equal(new DateTimeOffset(2025, 3, 1, 1, 0, 0, TimeSpan.Zero), record.DateTimeUtc("Resume.P_PhaseDate"));
        Assert.Equal("2025/03/01 01:00:00", HrbcXml.FormatDateTime(new DateTimeOffset(2025, 3, 1, 10, 0, 0, TimeSpan.FromHours(9))));
    }
}
