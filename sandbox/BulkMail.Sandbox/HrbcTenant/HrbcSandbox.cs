using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace BulkMail.Sandbox.Hrbc;

/// <summary>An answer of the sandbox: HTTP status, XML body (null = abort the connection).</summary>
internal sealed record SandboxAnswer(int Status, XElement? Body, int Code)
{
    public static SandboxAnswer Drop { get; } = new(0, null, -1);
}

/// <summary>
/// A stand-in HRBC tenant that speaks the documented protocol (see shared/reference/hrbc-connect-api.md §2–9):
/// OAuth code_direct + tokens, Read envelopes with Total/Count/Start, conditions, keywords, order, per-item write
/// codes, Process uniqueness (301), the "latest phase" rule (126), and the documented limits. State is in memory.
/// </summary>
public sealed partial class HrbcSandbox
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<SandboxResource> _resources;
    private readonly List<SandboxOption> _options;
    private readonly SandboxData _data;
    private readonly List<HrbcSandboxRequest> _requests = [];
    private readonly Dictionary<string, (DateTimeOffset Expires, bool Used)> _codes = [];
    private readonly Dictionary<string, (DateTimeOffset Expires, string Refresh)> _access = [];
    private readonly Dictionary<string, DateTimeOffset> _refresh = [];
    private readonly Queue<DateTimeOffset> _reads = new(), _writes = new();
    private readonly Dictionary<string, long> _nextId;

    public HrbcSandbox(HrbcSandboxOptions options, TimeProvider time)
    {
        Options = options;
        _time = time;
        _resources = HrbcSandboxSchema.Resources(options);
        _options = HrbcSandboxSchema.Options();
        _data = HrbcSandboxData.Generate(options, _options);
        _nextId = _resources.ToDictionary(r => r.Name, r => _data.Of(r.Name).Keys.DefaultIfEmpty(r.Name switch
        {
            "Activity" => 70000L,
            "Process" => 60000L,
            _ => r.Value * 10_000L,
        }).Max() + 1);
        Faults = new HrbcSandboxFaults
        {
            OnExpireAccessTokens = () => { lock (_gate) { foreach (var k in _access.Keys.ToList()) { _access[k] = _access[k] with { Expires = DateTimeOffset.MinValue }; } } },
            OnExpireRefreshTokens = () => { lock (_gate) { foreach (var k in _refresh.Keys.ToList()) { _refresh[k] = DateTimeOffset.MinValue; } } },
        };
    }

    public HrbcSandboxOptions Options { get; }

    public HrbcSandboxFaults Faults { get; }

    public IReadOnlyList<HrbcSandboxRequest> Requests
    {
        get { lock (_gate) { return [.. _requests]; } }
    }

    public void ClearRequests()
    {
        lock (_gate)
        {
            _requests.Clear();
        }
    }

    public IReadOnlyList<HrbcSandboxPhaseEntry> PhaseHistory(int resourceValue, long resourceId)
    {
        lock (_gate)
        {
            return _data.Phases.TryGetValue((resourceValue, resourceId), out var list)
                ? [.. list.Select(e => new HrbcSandboxPhaseEntry(e.Id, e.Alias, e.Date, e.Memo, e.Recent))]
                : [];
        }
    }

    public long? FindProcess(long jobId, long resumeId)
    {
        lock (_gate)
        {
            return _data.Of("Process").Values.FirstOrDefault(p => (long?)p["Process.P_Job"] == jobId && (long?)p["Process.P_Resume"] == resumeId) is { } found
                ? (long)found["Process.P_Id"]!
                : null;
        }
    }

    /// <summary>Stored values as text (options comma-joined) of one record; resource by path ("resume") or name.</summary>
    public IReadOnlyDictionary<string, string> Fields(string resource, long id)
    {
        lock (_gate)
        {
            var r = Resource(resource) ?? throw new ArgumentException($"Unknown resource {resource}.", nameof(resource));
            return _data.Of(r.Name).TryGetValue(id, out var record)
                ? record.ToDictionary(kv => kv.Key, kv => kv.Value switch
                {
                    string[] a => string.Join(',', a),
                    long n => n.ToString(CultureInfo.InvariantCulture),
                    null => "",
                    var v => v.ToString() ?? "",
                })
                : new Dictionary<string, string>();
        }
    }

    /// <summary>Adds a file to a record, as a user uploading it in HRBC's screen would (names and types are whatever
    /// that user's browser gave HRBC); returns its id.</summary>
    public long AddAttachment(int resourceValue, long resourceId, string fileName, string contentType, byte[] content)
    {
        lock (_gate)
        {
            var id = _data.Attachments.Count + 1;
            _data.Attachments.Add(new SandboxAttachment(id, resourceValue, resourceId, fileName, contentType, content));
            return id;
        }
    }

    public int Count(string resource)
    {
        lock (_gate)
        {
            return Resource(resource) is { } r ? _data.Of(r.Name).Count : 0;
        }
    }

    private SandboxResource? Resource(string name) =>
        _resources.FirstOrDefault(r => r.Path.Equals(name, StringComparison.OrdinalIgnoreCase) || r.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    private DateTimeOffset Now => _time.GetUtcNow();

    internal void Record(string method, string resource, string pathAndQuery, int code)
    {
        lock (_gate)
        {
            _requests.Add(new HrbcSandboxRequest(Now, method, resource, pathAndQuery, code));
        }
    }

    /// <summary>True when this request stays within the per-minute limit (HRBC cuts the connection beyond it).</summary>
    internal bool WithinRate(bool write)
    {
        lock (_gate)
        {
            var queue = write ? _writes : _reads;
            var limit = write ? Options.WritesPerMinute : Options.ReadsPerMinute;
            var now = Now;
            while (queue.Count > 0 && queue.Peek() <= now.AddMinutes(-1))
            {
                queue.Dequeue();
            }
            if (queue.Count >= limit)
            {
                return false;
            }
            queue.Enqueue(now);
            return true;
        }
    }

    // ------------------------------------------------------------------ authentication

    internal XElement OAuth(IReadOnlyDictionary<string, string> query)
    {
        lock (_gate)
        {
            if (query.GetValueOrDefault("app_id") != Options.AppId)
            {
                return AuthError(104, "app_id invalid");
            }
            var type = query.GetValueOrDefault("response_type");
            if (type != "code_direct")
            {
                return AuthError(110, "response_type invalid (this tenant supports code_direct)");
            }
            if (query.ContainsKey("scope"))
            {
                return AuthError(102, "scope must not be given with code_direct");
            }
            if (Faults.GrantRevoked)
            {
                return AuthError(116, "no access right: the company DB has not granted this app");
            }
            var code = NewSecret();
            _codes[code] = (Now + Options.CodeLifetime, false);
            return new XElement("Authentication", new XElement("Code", code), new XElement("Error", 0), new XElement("Message", "Success"));
        }
    }

    internal XElement Token(IReadOnlyDictionary<string, string> form, string? contentType)
    {
        lock (_gate)
        {
            if (contentType is null || !contentType.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
            {
                return AuthError(108, "Content-Type must be application/x-www-form-urlencoded");
            }
            if (form.GetValueOrDefault("app_id") != Options.AppId)
            {
                return AuthError(104, "app_id invalid");
            }
            if (form.GetValueOrDefault("secret") != Options.Secret)
            {
                return AuthError(105, "secret invalid");
            }
            var code = form.GetValueOrDefault("code") ?? "";
            switch (form.GetValueOrDefault("grant_type"))
            {
                case "oauth_code":
                    if (!_codes.TryGetValue(code, out var c) || c.Used || c.Expires < Now)
                    {
                        return AuthError(103, "code invalid");
                    }
                    _codes[code] = c with { Used = true };
                    break;
                case "refresh_token":
                    if (!_refresh.TryGetValue(code, out var expires))
                    {
                        return AuthError(107, "refresh token invalid");
                    }
                    if (expires < Now)
                    {
                        return AuthError(401, "refresh token expired");
                    }
                    _refresh.Remove(code); // rotated: the old refresh token is spent
                    break;
                default:
                    return AuthError(112, "grant_type invalid");
            }
            var access = NewSecret();
            var refresh = NewSecret();
            _access[access] = (Now + Options.AccessTokenLifetime, refresh);
            _refresh[refresh] = Now + Options.RefreshTokenLifetime;
            return new XElement("Authentication",
                new XElement("AccessToken", access),
                new XElement("AccessTokenExpiresIn", (long)Options.AccessTokenLifetime.TotalMilliseconds),
                new XElement("RefreshToken", refresh),
                new XElement("RefreshTokenExpiresIn", (long)Options.RefreshTokenLifetime.TotalMilliseconds),
                new XElement("Error", 0),
                new XElement("Message", "Success"));
        }
    }

    /// <summary>0 when the token may be used, else the resource result code (101 missing, 402 invalid, 401 expired, 403 no grant).</summary>
    internal int CheckToken(string? token)
    {
        lock (_gate)
        {
            if (string.IsNullOrEmpty(token))
            {
                return 101;
            }
            if (!_access.TryGetValue(token, out var t))
            {
                return 402;
            }
            if (t.Expires <= Now)
            {
                return 401;
            }
            return Faults.GrantRevoked ? 403 : 0;
        }
    }

    private static XElement AuthError(int error, string message) =>
        new("Authentication", new XElement("Error", error), new XElement("Message", message));

    private static string NewSecret() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    // ------------------------------------------------------------------ reads

    internal SandboxAnswer Read(string path, IReadOnlyDictionary<string, string> q)
    {
        lock (_gate)
        {
            if (path == "partition")
            {
                return q.GetValueOrDefault("request_type") is "0" or "1"
                    ? Ok(new XElement("Partition", new XAttribute("Total", 1), new XAttribute("Count", 1), new XAttribute("Start", 0), Code0(),
                        new XElement("Item", new XElement("Partition.P_Id", Options.Partition),
                            new XElement("Partition.P_Name", "BulkMail デモ人材株式会社"), new XElement("Partition.P_CompanyId", "bulkmail-demo"))))
                    : Error("Partition", 101, "request_type is required");
            }
            var root = RootName(path);
            if (!q.TryGetValue("partition", out var partition) || partition.Length == 0)
            {
                return Error(root, 101, "partition is required");
            }
            if (partition != Options.Partition.ToString(CultureInfo.InvariantCulture))
            {
                return Error(root, 404, "partition not found");
            }
            if (!Paging(q, root, out var start, out var count, out var pagingError, defaultCount: path == "option" ? int.MaxValue : 10))
            {
                return pagingError!;
            }
            return path switch
            {
                "user" => ReadUsers(q, start, count),
                "field" => ReadFields(q, start, count),
                "option" => ReadOptions(q),
                "phase" => ReadPhases(q, start, count),
                "attachment" => ReadAttachments(q, start, count),
                _ => Resource(path) is { } r && r.Path == path ? ReadRecords(r, q, start, count) : Error(root, 100, $"unknown resource {path}"),
            };
        }
    }

    private static string RootName(string path) => path.Length == 0 ? "Error" : char.ToUpperInvariant(path[0]) + path[1..];

    private bool Paging(IReadOnlyDictionary<string, string> q, string root, out int start, out int count, out SandboxAnswer? error, int defaultCount)
    {
        start = 0;
        count = defaultCount;
        error = null;
        if (q.TryGetValue("count", out var c))
        {
            if (!int.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > 200)
            {
                error = Error(root, 103, "count must be 1..200");
                return false;
            }
        }
        if (q.TryGetValue("start", out var s) && (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out start) || start < 0))
        {
            error = Error(root, 103, "start must be 0 or more");
            return false;
        }
        return true;
    }

    private SandboxAnswer ReadRecords(SandboxResource r, IReadOnlyDictionary<string, string> q, int start, int count)
    {
        var itemstate = q.GetValueOrDefault("itemstate") ?? "existing";
        if (itemstate is not ("existing" or "deleted" or "all"))
        {
            return Error(r.Name, 133, "itemstate invalid");
        }
        List<FieldRequest> fields;
        try
        {
            fields = q.TryGetValue("field", out var f) && f.Length > 0 ? ParseFieldList(r, f) : [new FieldRequest(r.Field(r.IdAlias)!, null)];
        }
        catch (SandboxError e)
        {
            return Error(r.Name, e.Code, e.Message);
        }
        IEnumerable<Dictionary<string, object?>> records = itemstate == "deleted" ? [] : _data.Of(r.Name).Values;
        if (q.TryGetValue("condition", out var condition) && condition.Length > 0)
        {
            try
            {
                records = ApplyCondition(r, records, condition);
            }
            catch (SandboxError e)
            {
                return Error(r.Name, e.Code, e.Message);
            }
        }
        if (q.TryGetValue("keywords", out var keywords) && keywords.Length > 0)
        {
            if (keywords.Length > 100)
            {
                return Error(r.Name, 103, "keywords must be at most 100 characters");
            }
            var words = keywords.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            records = records.Where(rec => words.All(w => MatchesKeyword(r, rec, w)));
        }
        var list = records.ToList();
        if (q.TryGetValue("order", out var order) && order.Length > 0)
        {
            try
            {
                list = Order(r, list, order);
            }
            catch (SandboxError e)
            {
                return Error(r.Name, e.Code, e.Message);
            }
        }
        var page = list.Skip(start).Take(count).ToList();
        return Ok(new XElement(r.Name, new XAttribute("Total", list.Count), new XAttribute("Count", page.Count), new XAttribute("Start", start),
            Code0(), page.Select(rec => new XElement("Item", fields.Select(f => Render(r, rec, f))))));
    }

    private sealed record FieldRequest(SandboxField Field, IReadOnlyList<SandboxField>? Sub);

    private sealed class SandboxError(int code, string message) : Exception(message)
    {
        public int Code { get; } = code;
    }

    private List<FieldRequest> ParseFieldList(SandboxResource r, string text)
    {
        var result = new List<FieldRequest>();
        foreach (var part in SplitTopLevel(text))
        {
            var open = part.IndexOf('(');
            var alias = open < 0 ? part : part[..open];
            var field = r.Field(alias) ?? throw new SandboxError(100, $"unknown field {alias}");
            if (open < 0)
            {
                result.Add(new FieldRequest(field, null));
                continue;
            }
            if (!part.EndsWith(')'))
            {
                throw new SandboxError(100, $"field {part} is malformed");
            }
            var subAliases = part[(open + 1)..^1].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            List<SandboxField> sub;
            if (field.Type == 17)
            {
                var allowed = new[] { "User.P_Id", "User.P_Type", "User.P_Name", "User.P_Mail" };
                sub = [.. subAliases.Select(a => allowed.Contains(a) ? new SandboxField(0, a, a, a == "User.P_Id" || a == "User.P_Type" ? 3 : 1)
                    : throw new SandboxError(100, $"{a} cannot be referenced from a user field"))];
            }
            else if (field.RefResource is { } target && Resource(target) is { } refResource)
            {
                sub = [.. subAliases.Select(a => refResource.Field(a) ?? throw new SandboxError(100, $"unknown field {a} of {target}"))];
            }
            else
            {
                throw new SandboxError(100, $"{alias} is not a reference field");
            }
            result.Add(new FieldRequest(field, sub));
        }
        return result;
    }

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '(')
            {
                depth++;
            }
            else if (text[i] == ')')
            {
                depth--;
            }
            else if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i].Trim();
                start = i + 1;
            }
        }
        yield return text[start..].Trim();
    }

    private object? Value(SandboxResource r, Dictionary<string, object?> record, SandboxField field)
    {
        if (field.Type == 16 && field.Via is { } via && field.MirrorOf is { } mirror)
        {
            var viaField = r.Field(via)!;
            var parent = Resource(viaField.RefResource!)!;
            return record.GetValueOrDefault(via) is long pid && _data.Of(parent.Name).TryGetValue(pid, out var p) ? p.GetValueOrDefault(mirror) : null;
        }
        return record.GetValueOrDefault(field.Alias);
    }

    private XElement Render(SandboxResource r, Dictionary<string, object?> record, FieldRequest request)
    {
        var field = request.Field;
        var value = Value(r, record, field);
        var element = new XElement(field.Alias);
        if (field.IsOption)
        {
            if (value is string[] { Length: > 0 } aliases)
            {
                var leaves = aliases.Select(OptionLeaf).ToList();
                if (Options.OptionRootWrapper)
                {
                    element.Add(new XElement(field.OptionRoot!, leaves));
                }
                else
                {
                    element.Add(leaves);
                }
            }
            return element;
        }
        if (request.Sub is { } sub && value is long refId)
        {
            if (field.Type == 17)
            {
                var user = _data.Users.FirstOrDefault(u => u.Id == refId);
                if (user is not null)
                {
                    element.Add(new XElement("User", sub.Select(s => new XElement(s.Alias, s.Alias switch
                    {
                        "User.P_Id" => user.Id.ToString(CultureInfo.InvariantCulture),
                        "User.P_Type" => user.Type.ToString(CultureInfo.InvariantCulture),
                        "User.P_Name" => user.Name,
                        _ => user.Mail,
                    }))));
                }
                return element;
            }
            var target = Resource(field.RefResource!)!;
            if (_data.Of(target.Name).TryGetValue(refId, out var referenced))
            {
                var wrapper = target.Name == "Candidate" ? Options.CandidateWrapperTag : target.Name;
                element.Add(new XElement(wrapper, sub.Select(s => Render(target, referenced, new FieldRequest(s, null)))));
            }
            return element;
        }
        element.Value = Text(value);
        return element;
    }

    private XElement OptionLeaf(string alias)
    {
        var option = FindOption(alias);
        var leaf = new XElement(alias);
        if (option is not null)
        {
            if (Options.OptionNames)
            {
                leaf.Add(new XElement("Option.P_Name", option.Name));
            }
            leaf.Add(new XElement("Option.P_Id", option.Id));
        }
        return leaf;
    }

    private SandboxOption? FindOption(string alias) =>
        _options.SelectMany(o => o.Children.Prepend(o)).FirstOrDefault(o => o.Alias == alias);

    private static string Text(object? value) => value switch
    {
        null => "",
        string s => s,
        long n => n.ToString(CultureInfo.InvariantCulture),
        string[] a => string.Join(',', a),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    [GeneratedRegex(@"^(?<alias>[A-Za-z][A-Za-z0-9]*\.[A-Za-z][A-Za-z0-9_]*)(?::(?<suffix>[a-z]+))?=(?<value>.*)$")]
    private static partial Regex ConditionTerm();

    private IEnumerable<Dictionary<string, object?>> ApplyCondition(SandboxResource r, IEnumerable<Dictionary<string, object?>> records, string condition)
    {
        foreach (var term in condition.Split(','))
        {
            var m = ConditionTerm().Match(term.Trim());
            if (!m.Success)
            {
                throw new SandboxError(100, $"condition {term} is malformed");
            }
            var alias = m.Groups["alias"].Value;
            var field = r.Field(alias) ?? throw new SandboxError(100, $"{alias} cannot be used in a condition of {r.Name}");
            if (field.Type is 18 or 16)
            {
                throw new SandboxError(100, $"{alias} cannot be used in a condition");
            }
            var value = m.Groups["value"].Value;
            var isRef = field.RefResource is not null;
            var numeric = field.IsNumeric && field.Alias != alias + "x" && field.Type is 3 or 11 or 14 or 17 && !IsDateField(field);
            var date = IsDateField(field) || field.Type is 4 or 8 or 12;
            var suffix = m.Groups["suffix"].Success ? m.Groups["suffix"].Value : field.IsOption ? "or" : field.IsText || field.Type == 15 ? "part" : "eq";
            if (field.IsOption)
            {
                if (suffix is not ("or" or "and"))
                {
                    throw new SandboxError(100, $"suffix {suffix} is not allowed for option field {alias}");
                }
                var wanted = value.Split(':');
                var captured = suffix;
                records = records.Where(rec => rec.GetValueOrDefault(alias) is string[] have
                    && (captured == "or" ? wanted.Any(have.Contains) : wanted.All(have.Contains))).ToList();
                continue;
            }
            if (field.IsText || field.Type == 15)
            {
                if (suffix is not ("full" or "part"))
                {
                    throw new SandboxError(100, $"suffix {suffix} is not allowed for text field {alias}");
                }
                var captured = suffix;
                records = records.Where(rec => Text(rec.GetValueOrDefault(alias)) is var t
                    && (captured == "full" ? t == value : t.Contains(value, StringComparison.OrdinalIgnoreCase))).ToList();
                continue;
            }
            if (suffix == "or")
            {
                if (isRef || field.Type is 4 or 8 or 12 || date && field.Alias.EndsWith("Date", StringComparison.Ordinal))
                {
                    throw new SandboxError(100, $"or is not allowed for {alias} (one parent id per condition)");
                }
                var ids = value.Split(':').Select(v => long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n
                    : throw new SandboxError(103, $"{v} is not a number")).ToHashSet();
                records = records.Where(rec => rec.GetValueOrDefault(alias) is long n && ids.Contains(n)).ToList();
                continue;
            }
            if (suffix == "and")
            {
                throw new SandboxError(8, "several ids cannot be AND-ed");
            }
            if (suffix is not ("gt" or "ge" or "eq" or "le" or "lt"))
            {
                throw new SandboxError(100, $"suffix {suffix} is not allowed for {alias}");
            }
            if (date)
            {
                var formats = new[] { HrbcSandboxData.Format, "yyyy/MM/dd" };
                if (!DateTime.TryParseExact(value, formats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var d))
                {
                    throw new SandboxError(103, $"{value} is not a date");
                }
                var captured = suffix;
                records = records.Where(rec => DateTime.TryParseExact(Text(rec.GetValueOrDefault(alias)), formats, CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var v) && Compare(v.CompareTo(d), captured)).ToList();
                continue;
            }
            if (!decimal.TryParse(value, NumberStyles.Number, CultureInfo.InvariantCulture, out var number))
            {
                throw new SandboxError(103, $"{value} is not a number");
            }
            var op = suffix;
            records = records.Where(rec => NumberOf(rec.GetValueOrDefault(alias)) is { } v && Compare(v.CompareTo(number), op)).ToList();
            _ = numeric;
        }
        return records;
    }

    private static bool IsDateField(SandboxField f) => f.Alias.EndsWith("RegistrationDate", StringComparison.Ordinal) || f.Alias.EndsWith("UpdateDate", StringComparison.Ordinal);

    private static decimal? NumberOf(object? v) => v switch
    {
        long n => n,
        string s when decimal.TryParse(s, NumberStyles.Number, CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };

    private static bool Compare(int c, string op) => op switch
    {
        "gt" => c > 0,
        "ge" => c >= 0,
        "eq" => c == 0,
        "le" => c <= 0,
        _ => c < 0,
    };

    private bool MatchesKeyword(SandboxResource r, Dictionary<string, object?> record, string word)
    {
        foreach (var f in r.Fields)
        {
            var searchable = f.IsText || f.Type == 15
                || f.Type == 16 && f.MirrorOf is { } m && Resource(r.Field(f.Via!)!.RefResource!)?.Field(m) is { } mf && (mf.IsText || mf.Type == 15);
            if (!searchable)
            {
                continue;
            }
            var text = Text(Value(r, record, f));
            var isPhone = f.Type == 15 || f.Alias.Contains("Telephone", StringComparison.Ordinal);
            if (isPhone)
            {
                var digits = new string(word.Where(char.IsAsciiDigit).ToArray());
                if (digits.Length > 0 && new string(text.Where(char.IsAsciiDigit).ToArray()).Contains(digits, StringComparison.Ordinal))
                {
                    return true;
                }
            }
            else if (text.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    private static List<Dictionary<string, object?>> Order(SandboxResource r, List<Dictionary<string, object?>> list, string order)
    {
        IOrderedEnumerable<Dictionary<string, object?>>? sorted = null;
        foreach (var part in order.Split(','))
        {
            var pieces = part.Trim().Split(':');
            var field = r.Field(pieces[0]) ?? throw new SandboxError(100, $"unknown field {pieces[0]} in order");
            if (!field.IsSortable)
            {
                throw new SandboxError(100, $"{field.Alias} cannot be sorted");
            }
            var desc = pieces.Length > 1 && pieces[1] == "desc";
            if (pieces.Length > 1 && pieces[1] is not ("asc" or "desc"))
            {
                throw new SandboxError(100, "order must be asc or desc");
            }
            Func<Dictionary<string, object?>, string> key = rec => rec.GetValueOrDefault(field.Alias) switch
            {
                long n => n.ToString("D20", CultureInfo.InvariantCulture),
                var v => Text(v),
            };
            sorted = sorted is null
                ? desc ? list.OrderByDescending(key, StringComparer.Ordinal) : list.OrderBy(key, StringComparer.Ordinal)
                : desc ? sorted.ThenByDescending(key, StringComparer.Ordinal) : sorted.ThenBy(key, StringComparer.Ordinal);
        }
        return sorted?.ToList() ?? list;
    }

    private SandboxAnswer ReadUsers(IReadOnlyDictionary<string, string> q, int start, int count)
    {
        var type = q.GetValueOrDefault("request_type");
        if (type is not ("0" or "1"))
        {
            return Error("User", 101, "request_type is required");
        }
        IEnumerable<SandboxUser> users = type == "0" ? _data.Users.Take(1) : _data.Users;
        var fields = (q.GetValueOrDefault("field") is { Length: > 0 } f ? f.Split(',') : ["User.P_Id"]).Select(x => x.Trim()).ToList();
        if (fields.Any(x => x is not ("User.P_Id" or "User.P_Type" or "User.P_Name" or "User.P_Mail")))
        {
            return Error("User", 100, "unknown user field");
        }
        var list = users.ToList();
        var page = list.Skip(start).Take(count).ToList();
        return Ok(new XElement("User", new XAttribute("Total", list.Count), new XAttribute("Count", page.Count), new XAttribute("Start", start), Code0(),
            page.Select(u => new XElement("Item", fields.Select(a => new XElement(a, a switch
            {
                "User.P_Id" => u.Id.ToString(CultureInfo.InvariantCulture),
                "User.P_Type" => u.Type.ToString(CultureInfo.InvariantCulture),
                "User.P_Name" => u.Name,
                _ => u.Mail,
            }))))));
    }

    private SandboxAnswer ReadFields(IReadOnlyDictionary<string, string> q, int start, int count)
    {
        if (!q.TryGetValue("resource", out var value) || !int.TryParse(value, CultureInfo.InvariantCulture, out var rv))
        {
            return Error("Field", 101, "resource is required");
        }
        var r = _resources.FirstOrDefault(x => x.Value == rv);
        if (r is null)
        {
            return Error("Field", 103, "resource invalid");
        }
        var fields = r.Fields.ToList();
        var page = fields.Skip(start).Take(count).ToList();
        return Ok(new XElement("Field", new XAttribute("Total", fields.Count), new XAttribute("Count", page.Count), new XAttribute("Start", start), Code0(),
            page.Select(f => new XElement("Item",
                new XElement("Field.P_Id", f.Id),
                new XElement("Field.P_Name", f.Name),
                new XElement("Field.P_Alias", Options.FieldAliasWithPrefix ? f.Alias : f.Alias[(f.Alias.IndexOf('.') + 1)..]),
                new XElement("Field.P_Type", f.Type),
                new XElement("Field.P_Required", f.Required ? 1 : 0),
                new XElement("Field.P_Max", f.IsText ? 255 : 0),
                new XElement("Field.P_Min", 0),
                new XElement("Field.P_ReferTo", f.OptionRoot is { } root ? new XElement(root) : (object?)f.MirrorOf ?? ""),
                new XElement("Field.P_ResourceType", r.Value)))));
    }

    private SandboxAnswer ReadOptions(IReadOnlyDictionary<string, string> q)
    {
        var level = q.TryGetValue("level", out var l) && int.TryParse(l, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var lv) ? lv : -1;
        IEnumerable<SandboxOption> items = _options;
        if (q.TryGetValue("alias", out var alias) && alias.Length > 0)
        {
            var found = FindOption(alias);
            if (found is null)
            {
                return Error("Option", 100, $"unknown option {alias}");
            }
            items = level switch
            {
                0 => found.ParentId is { } parent ? _options.SelectMany(o => o.Children.Prepend(o)).First(o => o.Id == parent).Children : _options,
                >= 1 => found.Children,
                _ => [found],
            };
        }
        var enabledOnly = q.GetValueOrDefault("enabled") == "1";
        _ = enabledOnly; // every option of this tenant is in use
        XElement Item(SandboxOption o) => new("Item",
            new XElement("Option.P_Id", o.Id),
            new XElement("Option.P_Name", o.Name),
            new XElement("Option.P_Alias", o.Alias),
            new XElement("Option.P_ParentId", o.ParentId?.ToString(CultureInfo.InvariantCulture) ?? ""),
            new XElement("Option.P_Type", o.Type),
            new XElement("Option.P_Order", o.Order),
            o.Children.Count > 0 && level != 0 ? new XElement("Items", o.Children.Select(Item)) : null);
        return Ok(new XElement("Option", Code0(), items.Select(Item)));
    }

    private SandboxAnswer ReadPhases(IReadOnlyDictionary<string, string> q, int start, int count)
    {
        if (!q.TryGetValue("resource", out var value) || !int.TryParse(value, CultureInfo.InvariantCulture, out var rv))
        {
            return Error("Phase", 101, "resource is required");
        }
        var entries = _data.Phases.Where(kv => kv.Key.Resource == rv
                && (!q.TryGetValue("resourceId", out var rid) || kv.Key.Id.ToString(CultureInfo.InvariantCulture) == rid))
            .SelectMany(kv => kv.Value.Select(e => (kv.Key.Id, Entry: e)))
            .Where(x => !q.TryGetValue("id", out var id) || x.Entry.Id.ToString(CultureInfo.InvariantCulture) == id)
            .ToList();
        var fields = (q.GetValueOrDefault("field") is { Length: > 0 } f ? f.Split(',') : ["Id"]).Select(x => x.Trim()).ToList();
        var page = entries.Skip(start).Take(count).ToList();
        return Ok(new XElement("Phase", new XAttribute("Total", entries.Count), new XAttribute("Count", page.Count), new XAttribute("Start", start), Code0(),
            page.Select(x => new XElement("Item", fields.Select(a => a switch
            {
                "Id" => new XElement("Id", x.Entry.Id),
                "Resource" => new XElement("Resource", rv),
                "ResourceId" => new XElement("ResourceId", x.Id),
                "Phase" => new XElement("Phase", Options.OptionRootWrapper ? new XElement(FindOption(x.Entry.Alias) is { ParentId: { } p }
                    ? _options.First(o => o.Id == p).Alias : "Option.P_Phase", OptionLeaf(x.Entry.Alias)) : OptionLeaf(x.Entry.Alias)),
                "Date" => new XElement("Date", x.Entry.Date.ToString(HrbcSandboxData.Format, CultureInfo.InvariantCulture)),
                "Memo" => new XElement("Memo", x.Entry.Memo ?? ""),
                "Recent" => new XElement("Recent", x.Entry.Recent ? 1 : 0),
                _ => new XElement(a),
            })))));
    }

    private SandboxAnswer ReadAttachments(IReadOnlyDictionary<string, string> q, int start, int count)
    {
        if (q.GetValueOrDefault("requestType") is not ("0" or "1") || !q.TryGetValue("resource", out var resource))
        {
            return Error("Attachment", 101, "requestType and resource are required");
        }
        var withContent = q["requestType"] == "0";
        var list = _data.Attachments.Where(a => a.Resource.ToString(CultureInfo.InvariantCulture) == resource
                && (!q.TryGetValue("resourceId", out var rid) || a.ResourceId.ToString(CultureInfo.InvariantCulture) == rid)
                && (!q.TryGetValue("id", out var id) || a.Id.ToString(CultureInfo.InvariantCulture) == id))
            .ToList();
        var page = list.Skip(start).Take(count).ToList();
        return Ok(new XElement("Attachment", new XAttribute("Total", list.Count), new XAttribute("Count", page.Count), new XAttribute("Start", start), Code0(),
            page.Select(a => new XElement("Item",
                new XElement("Id", a.Id), new XElement("Resource", a.Resource), new XElement("ResourceId", a.ResourceId),
                new XElement("ContentType", a.ContentType), new XElement("FileName", a.FileName),
                withContent ? new XElement("Content", Convert.ToBase64String(a.Content)) : null))));
    }

    private static XElement Code0() => new("Code", 0);

    private static SandboxAnswer Ok(XElement body) => new(200, body, 0);

    internal SandboxAnswer Error(string root, int code, string message) =>
        new(code == 9 ? Options.MaintenanceHttpStatus : Options.ErrorHttpStatus,
            new XElement(root, new XElement("Code", code), new XElement("Message", message)), code);
}
