using BulkMail.Api.Hrbc;

namespace BulkMail.Tests.Hrbc;

public class HrbcConditionTests
{
    [Fact]
    public void The_builder_writes_hrbc_condition_syntax()
    {
        var c = HrbcCondition.Where()
            .Ge("Job.P_Id", 100)
            .Ge("Job.P_UpdateDate", new DateTimeOffset(2012, 3, 18, 9, 0, 0, TimeSpan.FromHours(9)))
            .Contains("Job.P_Position", "Programmer")
            .AnyOf("Resume.P_Id", [1, 2, 3])
            .AnyOption("Job.P_Area", "Option.P_Tokyo", "Option.P_Kanagawa");

        Assert.Equal("Job.P_Id:ge=100,Job.P_UpdateDate:ge=2012/03/18 00:00:00,Job.P_Position:part=Programmer,"
            + "Resume.P_Id:or=1:2:3,Job.P_Area:or=Option.P_Tokyo:Option.P_Kanagawa", c.ToString());
    }

    [Fact]
    public void A_text_value_cannot_smuggle_another_condition()
    {
        Assert.Throws<ArgumentException>(() => HrbcCondition.Where().Contains("Resume.P_Name", "a,Resume.P_Id:ge=0"));
        Assert.Throws<ArgumentException>(() => HrbcCondition.Where().Contains("Bad alias", "x"));
    }

    [Fact]
    public void Parsing_keeps_date_times_with_colons_and_splits_or_values()
    {
        var c = HrbcCondition.Parse("Resume.P_UpdateDate:ge=2025/01/01 00:00:00,Resume.P_Id:or=10001:10002,Resume.P_Name=鈴木");

        Assert.Equal(3, c.Terms.Count);
        Assert.Equal(["2025/01/01 00:00:00"], c.Terms[0].Values);
        Assert.Equal(["10001", "10002"], c.Terms[1].Values);
        Assert.Equal("", c.Terms[2].Suffix);
        Assert.Equal("Resume.P_UpdateDate:ge=2025/01/01 00:00:00,Resume.P_Id:or=10001:10002,Resume.P_Name=鈴木", c.ToString());
    }

    [Theory]
    [InlineData("Resume.P_Id")]
    [InlineData("Resume.P_Id:like=3")]
    [InlineData("Resume.P_Id:or=1::2")]
    [InlineData("P_Id=3")]
    public void Malformed_conditions_are_rejected(string text)
    {
        Assert.IsType<HrbcConditionException>(Assert.ThrowsAny<FormatException>(() => HrbcCondition.Parse(text))); // with its code
    }

    [Fact]
    public void A_new_phase_date_is_always_after_the_current_latest()
    {
        var latest = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        Assert.Equal(latest.AddSeconds(1), HrbcPhaseWriter.LatestPhaseDate(latest.AddMilliseconds(-5), latest));
        Assert.Equal(latest.AddSeconds(1), HrbcPhaseWriter.LatestPhaseDate(latest.AddMilliseconds(400), latest));
        Assert.Equal(latest.AddMinutes(1), HrbcPhaseWriter.LatestPhaseDate(latest.AddMinutes(1).AddMilliseconds(700), latest));
        Assert.Equal(latest, HrbcPhaseWriter.LatestPhaseDate(latest, null));
    }
}
