using System.Globalization;
using CsvHelper;

namespace BulkMail.Api.Infrastructure;

/// <summary>The CSV files the API writes (the result file, the suppression export): UTF-8 with BOM so Excel reads
/// Japanese, CRLF, RFC 4180 quoting, cells that would start a formula neutralised.</summary>
public static class CsvCells
{
    public static CsvWriterOptions WriterOptions => CsvWriterOptions.Default with
    {
        Injection = CsvInjection.Escape,
        WriteByteOrderMark = true,
        NewLine = "\r\n",
        FormatProvider = CultureInfo.InvariantCulture,
    };

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

    /// <summary>Undoes <see cref="Neutralize"/> and CsvInjection.Escape on a cell read back (a leading apostrophe before
    /// a formula character), so an exported file imports as it was.</summary>
    public static string Restore(string cell) =>
        cell.Length > 1 && cell[0] == '\'' && cell.TrimStart('\'', ' ', '\u3000') is { Length: > 0 } rest
            && rest[0] is '\uFF1D' or '\uFF0B' or '\uFF0D' or '\uFF20' or '=' or '+' or '-' or '@' or '\t' or '\r'
            ? cell[1..]
            : cell;

    /// <summary>RFC 4180 records of a text (a BOM, CRLF or LF, quoted fields with doubled quotes and line breaks), each
    /// with the 1-based line it starts on. Blank lines are skipped.</summary>
    public static IEnumerable<(int Line, List<string> Cells)> Read(string text)
    {
        var i = text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0;
        var line = 1;
        while (i < text.Length)
        {
            var start = line;
            var cells = new List<string>();
            var cell = new System.Text.StringBuilder();
            var quoted = false;
            var atCellStart = true;
            var any = false;
            for (; i < text.Length; i++)
            {
                var c = text[i];
                if (quoted)
                {
                    if (c == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"')
                        {
                            cell.Append('"');
                            i++;
                        }
                        else
                        {
                            quoted = false;
                        }
                    }
                    else
                    {
                        if (c == '\n')
                        {
                            line++;
                        }
                        cell.Append(c);
                    }
                    continue;
                }
                if (c == '"' && atCellStart)
                {
                    quoted = true;
                    atCellStart = false;
                    any = true;
                    continue;
                }
                if (c == ',')
                {
                    cells.Add(cell.ToString());
                    cell.Clear();
                    atCellStart = true;
                    any = true;
                    continue;
                }
                if (c is '\r' or '\n')
                {
                    if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                    {
                        i++;
                    }
                    i++;
                    line++;
                    break;
                }
                cell.Append(c);
                atCellStart = false;
                any = true;
            }
            cells.Add(cell.ToString());
            if (any && cells.Any(x => x.Trim().Length > 0))
            {
                yield return (start, cells);
            }
        }
    }
}
