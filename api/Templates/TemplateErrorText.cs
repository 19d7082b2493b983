using System.Globalization;
using BulkMail.Api.Infrastructure;

namespace BulkMail.Api.Templates;

public static class TemplateErrorText
{
    /// <summary>A template error as a coded field message: its own English message, its code, and as args its own
    /// plus its place (part, line, column) and tag.</summary>
    public static CodedText ToCodedText(this TemplateError e)
    {
        var args = new Dictionary<string, string>(e.Args) { ["part"] = e.Part };
        if (e.Line is { } line)
        {
            args.TryAdd("line", line.ToString(CultureInfo.InvariantCulture));
        }
        if (e.Column is { } column)
        {
            args.TryAdd("column", column.ToString(CultureInfo.InvariantCulture));
        }
        if (e.Tag is { } tag)
        {
            args.TryAdd("tag", tag);
        }
        return new CodedText(e.Code, args) { English = e.Message };
    }
}
