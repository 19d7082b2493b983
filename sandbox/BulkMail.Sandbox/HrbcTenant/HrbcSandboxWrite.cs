using System.Globalization;
using System.Xml.Linq;

namespace BulkMail.Sandbox.Hrbc;

public sealed partial class HrbcSandbox
{
    private static readonly string[] NotWritable = ["P_RegistrationDate", "P_UpdateDate"];

    /// <summary>Write API: ≤ 200 items, -1 creates, an existing id updates, one &lt;Item&gt; with &lt;Id&gt;/&lt;Code&gt; per input item.</summary>
    internal SandboxAnswer Write(string path, IReadOnlyDictionary<string, string> q, XElement? body)
    {
        lock (_gate)
        {
            var r = Resource(path);
            var root = r?.Name ?? RootName(path);
            if (q.Keys.Any(k => k != "partition"))
            {
                return Error(root, 102, "only partition may be given in the URL of a write");
            }
            if (!q.TryGetValue("partition", out var partition) || partition.Length == 0)
            {
                return Error(root, 101, "partition is required");
            }
            if (partition != Options.Partition.ToString(CultureInfo.InvariantCulture))
            {
                return Error(root, 404, "partition not found");
            }
            if (r is null || r.Path != path)
            {
                return Error(root, 100, $"{path} cannot be written here");
            }
            if (body is null || body.Name.LocalName != r.Name)
            {
                return Error(root, 100, $"the body must be <{r.Name}> with <Item> elements");
            }
            var items = body.Elements("Item").ToList();
            if (items.Count > 200)
            {
                return Error(root, 102, "at most 200 items per write");
            }
            var answer = new XElement(r.Name);
            foreach (var item in items)
            {
                var (id, code, message) = WriteItem(r, item);
                answer.Add(new XElement("Item", new XElement("Id", id), new XElement("Code", code), message is null ? null : new XElement("Message", message)));
            }
            return new SandboxAnswer(200, answer, 0);
        }
    }

    private (long Id, int Code, string? Message) WriteItem(SandboxResource r, XElement item)
    {
        if (!long.TryParse(item.Element(r.IdAlias)?.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id))
        {
            return (-1, 101, $"{r.IdAlias} is required");
        }
        var records = _data.Of(r.Name);
        var create = id == -1;
        if (!create && !records.ContainsKey(id))
        {
            return (id, 7, $"{r.Name} {id} does not exist");
        }
        var changes = new Dictionary<string, object?>();
        string? phase = null;
        DateTime? phaseDate = null;
        string? phaseMemo = null;
        bool hasPhaseDate = false, hasPhaseMemo = false;
        foreach (var el in item.Elements())
        {
            var alias = el.Name.LocalName;
            if (alias == r.IdAlias)
            {
                continue;
            }
            var field = r.Field(alias);
            if (field is null || NotWritable.Any(n => alias.EndsWith("." + n, StringComparison.Ordinal)) || field.Type == 16)
            {
                return (id, 100, $"{alias} cannot be written");
            }
            if (alias == $"{r.Prefix}.P_Phase")
            {
                var leaf = el.Elements().FirstOrDefault()?.Name.LocalName;
                var option = leaf is null ? null : FindOption(leaf);
                var rootOption = _options.FirstOrDefault(o => o.Alias == field.OptionRoot);
                if (option is null || rootOption is null || option.ParentId != rootOption.Id)
                {
                    return (id, 103, $"{leaf} is not a phase of {r.Name}");
                }
                phase = leaf;
                continue;
            }
            if (alias == $"{r.Prefix}.P_PhaseDate")
            {
                hasPhaseDate = true;
                if (!DateTime.TryParseExact(el.Value, HrbcSandboxData.Format, CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var d))
                {
                    return (id, 103, $"{el.Value} is not yyyy/mm/dd HH:MM:SS");
                }
                phaseDate = d;
                continue;
            }
            if (alias == $"{r.Prefix}.P_PhaseMemo")
            {
                hasPhaseMemo = true;
                phaseMemo = el.Value;
                continue;
            }
            if (field.IsOption)
            {
                var leaves = el.Elements().Select(e => e.Name.LocalName).ToArray();
                var rootOption = _options.FirstOrDefault(o => o.Alias == field.OptionRoot);
                if (rootOption is null || leaves.Any(l => rootOption.Children.All(c => c.Alias != l)))
                {
                    return (id, 103, $"an option of {alias} is invalid");
                }
                if (field.Type != 5 && leaves.Length > 1)
                {
                    return (id, 103, $"{alias} takes one option");
                }
                changes[alias] = leaves;
                continue;
            }
            if (field.RefResource is { } target || field.Type == 17 || field.Alias.EndsWith("P_ResourceId", StringComparison.Ordinal))
            {
                if (!long.TryParse(el.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var refId))
                {
                    return (id, 103, $"{alias} must be an id");
                }
                var exists = field.Type == 17 ? _data.Users.Any(u => u.Id == refId)
                    : field.RefResource is { } t ? _data.Of(Resource(t)!.Name).ContainsKey(refId)
                    : true;
                if (!exists)
                {
                    return (id, 103, $"{alias} refers to {refId}, which does not exist");
                }
                changes[alias] = refId;
                continue;
            }
            if (field.Type is 4 or 8 && el.Value.Length > 0 && !DateTime.TryParseExact(el.Value, "yyyy/MM/dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _)
                || field.Type == 12 && el.Value.Length > 0 && !DateTime.TryParseExact(el.Value, HrbcSandboxData.Format, CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            {
                return (id, 103, $"{el.Value} is not a valid date for {alias}");
            }
            if (field.Type is 3 or 14 && el.Value.Length > 0 && !decimal.TryParse(el.Value, NumberStyles.Number, CultureInfo.InvariantCulture, out _))
            {
                return (id, 103, $"{el.Value} is not a number");
            }
            if (el.Value.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')))
            {
                return (id, 8, "control characters in data");
            }
            changes[alias] = el.Value;
        }
        if (phase is null && (hasPhaseDate || hasPhaseMemo))
        {
            return (id, 127, "phase date and memo must be sent with the phase");
        }
        if (create)
        {
            var missing = r.Fields.Where(f => f.Required && !changes.ContainsKey(f.Alias)).Select(f => f.Alias).ToList();
            if (missing.Count > 0)
            {
                return (-1, 101, $"required for a new {r.Name}: {string.Join(", ", missing)}");
            }
            if (r.Name == "Process" && _data.Of("Process").Values.Any(p =>
                (long?)p["Process.P_Job"] == (long?)changes["Process.P_Job"] && (long?)p["Process.P_Resume"] == (long?)changes["Process.P_Resume"]))
            {
                return (-1, 301, "a process for this job and resume already exists");
            }
        }
        if (r.Name == "Activity" && Faults.TakeFailActivity())
        {
            return (create ? -1 : id, 1000, "processing failed");
        }
        if (phase is not null && Faults.TakeFailPhase())
        {
            return (create ? -1 : id, 1000, "processing failed");
        }
        var recordId = create ? _nextId[r.Name] : id;
        if (phase is not null)
        {
            var date = phaseDate ?? Now.UtcDateTime;
            date = new DateTime(date.Ticks - date.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
            var history = _data.Phases.GetValueOrDefault((r.Value, recordId)) ?? [];
            var latest = history.FirstOrDefault(e => e.Recent);
            if (latest is not null)
            {
                var newer = date > latest.Date || date == latest.Date && (FindOption(phase)?.Order ?? 0) > (FindOption(latest.Alias)?.Order ?? 0);
                if (!newer)
                {
                    return (create ? -1 : id, 126, "the new phase must be the latest: its date must be later than the current phase date");
                }
            }
            if (latest is not null && latest.Alias == phase)
            {
                latest.Date = date; // same phase as the latest: that entry is overwritten
                latest.Memo = hasPhaseMemo ? phaseMemo : latest.Memo;
            }
            else
            {
                foreach (var e in history)
                {
                    e.Recent = false;
                }
                history.Add(new SandboxPhaseEntry { Id = history.Count + 1, Alias = phase, Date = date, Memo = phaseMemo, Recent = true });
                _data.Phases[(r.Value, recordId)] = history;
            }
            changes[$"{r.Prefix}.P_Phase"] = new[] { phase };
            changes[$"{r.Prefix}.P_PhaseDate"] = date.ToString(HrbcSandboxData.Format, CultureInfo.InvariantCulture);
            if (hasPhaseMemo || latest?.Alias != phase)
            {
                changes[$"{r.Prefix}.P_PhaseMemo"] = phaseMemo;
            }
        }
        var now = Now.UtcDateTime.ToString(HrbcSandboxData.Format, CultureInfo.InvariantCulture);
        if (create)
        {
            _nextId[r.Name]++;
            var record = new Dictionary<string, object?>
            {
                [r.IdAlias] = recordId,
                [$"{r.Prefix}.P_RegistrationDate"] = now,
                [$"{r.Prefix}.P_RegisteredBy"] = 1L,
            };
            records[recordId] = record;
            if (r.Name == "Resume" && !changes.ContainsKey("Resume.P_Name") && changes.GetValueOrDefault("Resume.P_Candidate") is long pid)
            {
                // HRBC names a new resume after its candidate: "<name>(<id>)".
                changes["Resume.P_Name"] = $"{_data.Of("Candidate")[pid].GetValueOrDefault("Person.P_Name")}({recordId})";
            }
        }
        var target2 = records[recordId];
        foreach (var (alias, value) in changes)
        {
            target2[alias] = value;
        }
        target2[$"{r.Prefix}.P_UpdateDate"] = now;
        target2[$"{r.Prefix}.P_UpdatedBy"] = 1L;
        return (recordId, 0, null);
    }
}
