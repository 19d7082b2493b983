using System.Globalization;
using System.Text;

namespace BulkMail.Sandbox.Hrbc;

internal sealed record SandboxUser(long Id, string Name, string Mail, int Type);

internal sealed record SandboxAttachment(long Id, int Resource, long ResourceId, string FileName, string ContentType, byte[] Content);

internal sealed class SandboxPhaseEntry
{
    public required long Id { get; init; }
    public required string Alias { get; set; }
    public required DateTime Date { get; set; }
    public string? Memo { get; set; }
    public bool Recent { get; set; }
}

/// <summary>The tenant's data: records by resource (field alias → value: string, long id, or string[] of option aliases).</summary>
internal sealed class SandboxData
{
    public Dictionary<string, SortedDictionary<long, Dictionary<string, object?>>> Records { get; } = [];
    public List<SandboxUser> Users { get; } = [];
    public List<SandboxAttachment> Attachments { get; } = [];
    public Dictionary<(int Resource, long Id), List<SandboxPhaseEntry>> Phases { get; } = [];

    public SortedDictionary<long, Dictionary<string, object?>> Of(string resource)
    {
        if (!Records.TryGetValue(resource, out var r))
        {
            Records[resource] = r = [];
        }
        return r;
    }
}

/// <summary>
/// The deterministic sample tenant: realistic Japanese names with readings, two mail fields per candidate (some
/// empty, some malformed, some shared), clients, contacts, jobs, processes with phase history, small PDFs.
/// </summary>
internal static class HrbcSandboxData
{
    public static readonly string Format = "yyyy/MM/dd HH:mm:ss";
    private static readonly DateTime Base = new(2026, 4, 1, 0, 0, 0, DateTimeKind.Utc);

    private static readonly (string Kanji, string Kana, string Roma)[] Families =
    [
        ("佐藤", "サトウ", "sato"), ("鈴木", "スズキ", "suzuki"), ("高橋", "タカハシ", "takahashi"), ("田中", "タナカ", "tanaka"),
        ("伊藤", "イトウ", "ito"), ("渡辺", "ワタナベ", "watanabe"), ("山本", "ヤマモト", "yamamoto"), ("中村", "ナカムラ", "nakamura"),
        ("小林", "コバヤシ", "kobayashi"), ("加藤", "カトウ", "kato"), ("吉田", "ヨシダ", "yoshida"), ("山田", "ヤマダ", "yamada"),
        ("佐々木", "ササキ", "sasaki"), ("山口", "ヤマグチ", "yamaguchi"), ("松本", "マツモト", "matsumoto"), ("井上", "イノウエ", "inoue"),
        ("木村", "キムラ", "kimura"), ("林", "ハヤシ", "hayashi"), ("斎藤", "サイトウ", "saito"), ("清水", "シミズ", "shimizu"),
        ("山崎", "ヤマザキ", "yamazaki"), ("森", "モリ", "mori"), ("池田", "イケダ", "ikeda"), ("橋本", "ハシモト", "hashimoto"),
        ("阿部", "アベ", "abe"), ("石川", "イシカワ", "ishikawa"), ("前田", "マエダ", "maeda"), ("藤田", "フジタ", "fujita"),
        ("小川", "オガワ", "ogawa"), ("岡田", "オカダ", "okada"),
    ];

    private static readonly (string Kanji, string Kana, string Roma, bool Female)[] Givens =
    [
        ("一郎", "イチロウ", "ichiro", false), ("健太", "ケンタ", "kenta", false), ("翔太", "ショウタ", "shota", false),
        ("大輔", "ダイスケ", "daisuke", false), ("拓也", "タクヤ", "takuya", false), ("直樹", "ナオキ", "naoki", false),
        ("悠斗", "ユウト", "yuto", false), ("蓮", "レン", "ren", false), ("誠", "マコト", "makoto", false), ("浩二", "コウジ", "koji", false),
        ("隆", "タカシ", "takashi", false), ("和也", "カズヤ", "kazuya", false), ("陽介", "ヨウスケ", "yosuke", false), ("亮", "リョウ", "ryo", false),
        ("花子", "ハナコ", "hanako", true), ("美咲", "ミサキ", "misaki", true), ("陽子", "ヨウコ", "yoko", true), ("愛", "アイ", "ai", true),
        ("由美", "ユミ", "yumi", true), ("優子", "ユウコ", "yuko", true), ("恵", "メグミ", "megumi", true), ("彩", "アヤ", "aya", true),
        ("真由美", "マユミ", "mayumi", true), ("結衣", "ユイ", "yui", true), ("さくら", "サクラ", "sakura", true), ("葵", "アオイ", "aoi", true),
        ("千尋", "チヒロ", "chihiro", true), ("麻衣", "マイ", "mai", true), ("智子", "トモコ", "tomoko", true), ("奈々", "ナナ", "nana", true),
    ];

    private static readonly string[] Domains = ["example.com", "example.jp", "example.co.jp", "example.net"];
    private static readonly string[] CompanyHeads = ["サンプル", "テスト", "みらい", "あおぞら", "さくら", "ひかり", "富士", "東都", "西日本", "北斗"];
    private static readonly string[] CompanyTails = ["商事", "システムズ", "製作所", "ホールディングス"];
    private static readonly string[] Positions =
    [
        "Webエンジニア", "インフラエンジニア", "データサイエンティスト", "プロジェクトマネージャー", "経理担当", "人事担当",
        "法人営業", "マーケティング担当", "カスタマーサクセス", "品質保証エンジニア", "UI/UXデザイナー", "総務担当",
    ];
    private static readonly string[] Divisions = ["人事部", "採用チーム", "経営企画部", "総務部", "技術本部"];
    private static readonly string[] Titles = ["部長", "課長", "主任", "マネージャー", "担当"];
    private static readonly string[] Prefectures = ["東京都", "大阪府", "神奈川県", "愛知県", "福岡県", "北海道", "京都府", "埼玉県"];
    private static readonly string[] Areas =
        ["Option.P_Tokyo", "Option.P_Kanagawa", "Option.P_Osaka", "Option.P_Aichi", "Option.P_Fukuoka", "Option.P_Saitama", "Option.P_Chiba", "Option.P_Kyoto"];

    public static SandboxData Generate(HrbcSandboxOptions options, IReadOnlyList<SandboxOption> optionMaster)
    {
        var rnd = new Random(options.Seed);
        var data = new SandboxData();
        data.Users.AddRange(
        [
            new SandboxUser(1, "採用 花子", "hanako.saiyo@bulkmail.example", 1),
            new SandboxUser(2, "営業 太郎", "taro.eigyo@bulkmail.example", 0),
            new SandboxUser(3, "人材 次郎", "jiro.jinzai@bulkmail.example", 0),
            new SandboxUser(4, "紹介 美香", "mika.shokai@bulkmail.example", 0),
            new SandboxUser(5, "管理 一郎", "ichiro.kanri@bulkmail.example", 1),
        ]);
        string Date(DateTime d) => d.ToString(Format, CultureInfo.InvariantCulture);
        string Phase(string root, int pick) => optionMaster.First(o => o.Alias == root).Children[pick].Alias;
        int PhaseCount(string root) => optionMaster.First(o => o.Alias == root).Children.Count;
        Dictionary<string, object?> Stamps(string prefix, long owner, DateTime registered) => new()
        {
            [$"{prefix}.P_Owner"] = owner,
            [$"{prefix}.P_RegistrationDate"] = Date(registered),
            [$"{prefix}.P_RegisteredBy"] = owner,
            [$"{prefix}.P_UpdateDate"] = Date(registered.AddDays(3)),
            [$"{prefix}.P_UpdatedBy"] = owner,
        };
        void AddPhase(int resource, long id, Dictionary<string, object?> record, string prefix, string alias, DateTime date, string? memo)
        {
            if (!data.Phases.TryGetValue((resource, id), out var list))
            {
                data.Phases[(resource, id)] = list = [];
            }
            foreach (var e in list)
            {
                e.Recent = false;
            }
            list.Add(new SandboxPhaseEntry { Id = list.Count + 1, Alias = alias, Date = date, Memo = memo, Recent = true });
            record[$"{prefix}.P_Phase"] = new[] { alias };
            record[$"{prefix}.P_PhaseDate"] = Date(date);
            record[$"{prefix}.P_PhaseMemo"] = memo;
        }

        // Clients
        var clients = data.Of("Client");
        for (var k = 0; k < 40; k++)
        {
            var id = 40001L + k;
            var r = Stamps("Client", 1 + k % 5, Base.AddDays(-400 + k));
            r["Client.P_Id"] = id;
            r["Client.P_Name"] = $"株式会社{CompanyHeads[k % CompanyHeads.Length]}{CompanyTails[k / CompanyHeads.Length % CompanyTails.Length]}";
            r["Client.P_Prefecture"] = Prefectures[k % Prefectures.Length];
            r["Client.P_City"] = "中央区";
            r["Client.P_Zipcode"] = $"1{k % 9}{k % 7}-00{k % 10}{k % 3}";
            r["Client.P_Telephone"] = $"03-{5000 + k:D4}-{1000 + k * 7:D4}";
            r["Client.P_Memo"] = "";
            AddPhase(5, id, r, "Client", Phase("Option.P_ClientPhase", k % 3), Base.AddDays(-300 + k), null);
            clients[id] = r;
        }

        // Recruiters (2 per client)
        var recruiters = data.Of("Recruiter");
        for (var k = 0; k < 80; k++)
        {
            var id = 50001L + k;
            var family = Families[(k * 7 + 3) % Families.Length];
            var given = Givens[(k * 11 + 5) % Givens.Length];
            var r = Stamps("Recruiter", 1 + k % 5, Base.AddDays(-390 + k));
            r["Recruiter.P_Id"] = id;
            r["Recruiter.P_Client"] = 40001L + k / 2;
            r["Recruiter.P_Name"] = $"{family.Kanji} {given.Kanji}";
            r["Recruiter.P_Reading"] = $"{family.Kana} {given.Kana}";
            r["Recruiter.P_Division"] = Divisions[k % Divisions.Length];
            r["Recruiter.P_Title"] = Titles[k % Titles.Length];
            r["Recruiter.P_Telephone"] = $"03-{6000 + k:D4}-{2000 + k:D4}";
            r["Recruiter.P_Mail"] = k % 17 == 5 ? "" : $"{given.Roma}.{family.Roma}@corp{k / 2 + 1}.example.co.jp";
            r["Recruiter.P_MobileMail"] = k % 3 == 0 ? $"{family.Roma}{k}@mobile.example.jp" : "";
            r["Recruiter.U_SubMail"] = k % 4 == 1 ? $"{family.Roma}.assistant@corp{k / 2 + 1}.example.co.jp" : "";
            r["Recruiter.P_Memo"] = "";
            r["Recruiter.U_MailOptOut"] = k % 13 == 6 ? new[] { "Option.U_MailOptOut_Stop" } : Array.Empty<string>();
            AddPhase(9, id, r, "Recruiter", Phase("Option.P_RecruiterPhase", k % 4), Base.AddDays(-200 + k), null);
            recruiters[id] = r;
        }

        // Jobs (3 per client: two with the client's first contact, one with the second)
        var jobs = data.Of("Job");
        for (var k = 0; k < 120; k++)
        {
            var id = 30001L + k;
            var client = 40001L + k / 3;
            var recruiter = 50001L + (k / 3) * 2 + (k % 3 == 2 ? 1 : 0);
            var r = Stamps("Job", 1 + k % 5, Base.AddDays(-300 + k));
            r["Job.P_Id"] = id;
            r["Job.P_Client"] = client;
            r["Job.P_Recruiter"] = recruiter;
            r["Job.P_Position"] = Positions[k % Positions.Length];
            r["Job.P_Area"] = Areas.Where((_, i) => (k + i) % 5 == 0 || i == k % Areas.Length).Distinct().Take(3).ToArray();
            r["Job.P_EmploymentType"] = new[] { new[] { "Option.P_FullTime", "Option.P_Contract", "Option.P_Temporary" }[k % 3] };
            var min = 400 + k % 8 * 50;
            r["Job.P_MinSalary"] = (min * 10_000).ToString(CultureInfo.InvariantCulture);
            r["Job.P_MaxSalary"] = ((min + 200) * 10_000).ToString(CultureInfo.InvariantCulture);
            r["Job.P_Memo"] = $"{Positions[k % Positions.Length]}として、{Prefectures[k % Prefectures.Length]}の拠点でご活躍いただきます。";
            AddPhase(3, id, r, "Job", Phase("Option.P_JobPhase", k % 5 == 4 ? 1 : 0), Base.AddDays(-100 + k % 30), null);
            jobs[id] = r;
            if ((k + 1) % 4 == 0)
            {
                data.Attachments.Add(new SandboxAttachment(data.Attachments.Count + 1, 3, id, $"求人票_{id}.pdf", "application/pdf",
                    SandboxPdf.Create($"Job description {id}")));
            }
        }

        // Candidates and resumes (1:1)
        var candidates = data.Of("Candidate");
        var resumes = data.Of("Resume");
        string[] malformed = ["{0}.example.com", "{0}@@example.jp", "{0} @example.com", "{0}@example", "{0}@exa mple.co.jp"];
        for (var i = 1; i <= options.ResumeCount; i++)
        {
            var family = Families[rnd.Next(Families.Length)];
            var given = Givens[rnd.Next(Givens.Length)];
            var personId = 20000L + i;
            var resumeId = 10000L + i;
            var registered = Base.AddDays(-rnd.Next(30, 700)).AddMinutes(rnd.Next(0, 1440));
            var p = Stamps("Person", 1 + rnd.Next(5), registered);
            var domain = Domains[rnd.Next(Domains.Length)];
            var mail = $"{given.Roma}.{family.Roma}{i}@{domain}";
            if (i % 20 is 0 or 10)
            {
                mail = "";
            }
            else if (i % 50 == 7)
            {
                mail = string.Format(CultureInfo.InvariantCulture, malformed[i / 50 % malformed.Length], family.Roma + i);
            }
            else if (i % 100 == 3 && i > 1)
            {
                mail = (string)candidates[personId - 1]["Person.P_Mail"]!; // a family sharing one address
                if (mail.Length == 0)
                {
                    mail = $"{family.Roma}.family{i}@{domain}";
                }
            }
            var mobile = i % 20 == 0 ? "" : i % 20 == 10 || rnd.NextDouble() < 0.33 ? $"{given.Roma}{i}@mobile.example.jp" : "";
            if (i % 97 == 5 && mail.Length > 0)
            {
                mobile = mail; // the same address in both fields
            }
            p["Person.P_Id"] = personId;
            p["Person.P_Name"] = $"{family.Kanji} {given.Kanji}";
            p["Person.P_Reading"] = $"{family.Kana} {given.Kana}";
            p["Person.P_Mail"] = mail;
            p["Person.P_MobileMail"] = mobile;
            p["Person.P_Telephone"] = $"0{rnd.Next(3, 10)}-{rnd.Next(1000, 9999)}-{rnd.Next(1000, 9999)}";
            p["Person.P_Mobile"] = rnd.NextDouble() < 0.7 ? $"090-{rnd.Next(1000, 9999)}-{rnd.Next(1000, 9999)}" : "";
            p["Person.P_Memo"] = "";
            AddPhase(1, personId, p, "Person", Phase("Option.P_PersonPhase", 1), registered.AddDays(1), null);
            candidates[personId] = p;

            var r = Stamps("Resume", 1 + rnd.Next(5), registered);
            r["Resume.P_Id"] = resumeId;
            r["Resume.P_Candidate"] = personId;
            r["Resume.P_Name"] = $"{family.Kanji} {given.Kanji}({resumeId})";
            r["Resume.P_Gender"] = new[] { given.Female ? "Option.P_Female" : "Option.P_Male" };
            r["Resume.P_DateOfBirth"] = new DateTime(1965 + rnd.Next(0, 38), 1 + rnd.Next(12), 1 + rnd.Next(28)).ToString("yyyy/MM/dd", CultureInfo.InvariantCulture);
            r["Resume.P_CurrentSalary"] = (rnd.Next(30, 120) * 100_000).ToString(CultureInfo.InvariantCulture);
            r["Resume.P_ExpectArea"] = Areas.OrderBy(_ => rnd.Next()).Take(rnd.Next(1, 4)).ToArray();
            r["Resume.P_Memo"] = rnd.NextDouble() < 0.2 ? "転職活動中。面談希望。" : "";
            r["Resume.U_LinkedInUrl"] = rnd.NextDouble() < 0.3 ? $"https://www.linkedin.example/in/{given.Roma}-{family.Roma}-{i}" : "";
            r["Resume.U_MailOptOut"] = i % 25 == 12 ? new[] { "Option.U_MailOptOut_Stop" } : Array.Empty<string>(); // 10012, 10037, …
            AddPhase(17, resumeId, r, "Resume", Phase("Option.P_ResumePhase", rnd.Next(PhaseCount("Option.P_ResumePhase") - 1)),
                registered.AddDays(2).AddMinutes(rnd.Next(600)), null);
            resumes[resumeId] = r;
            if (i % 10 == 0)
            {
                data.Attachments.Add(new SandboxAttachment(data.Attachments.Count + 1, 17, resumeId, $"履歴書_{resumeId}.pdf", "application/pdf",
                    SandboxPdf.Create($"Resume {resumeId}")));
            }
        }

        // Processes: resume x job pairs with a phase history
        var processes = data.Of("Process");
        var pairs = new HashSet<(long, long)>();
        var processCount = Math.Min(300, options.ResumeCount / 4);
        while (pairs.Count < processCount)
        {
            var resumeId = 10001L + rnd.Next(Math.Min(options.ResumeCount, 1000));
            var jobId = 30001L + rnd.Next(120);
            if (!pairs.Add((jobId, resumeId)))
            {
                continue;
            }
            var id = 60000L + pairs.Count;
            var job = jobs[jobId];
            var r = Stamps("Process", 1 + rnd.Next(5), Base.AddDays(-rnd.Next(10, 200)));
            r["Process.P_Id"] = id;
            r["Process.P_Client"] = job["Job.P_Client"];
            r["Process.P_Recruiter"] = job["Job.P_Recruiter"];
            r["Process.P_Job"] = jobId;
            r["Process.P_Candidate"] = resumes[resumeId]["Resume.P_Candidate"];
            r["Process.P_Resume"] = resumeId;
            r["Process.P_ExpectedSalesAmount"] = "";
            var steps = 1 + rnd.Next(3);
            var date = Base.AddDays(-rnd.Next(20, 150)).AddMinutes(rnd.Next(1440));
            for (var s = 0; s < steps; s++)
            {
                AddPhase(7, id, r, "Process", Phase("Option.P_ProcessPhase", s * 2 + rnd.Next(2)), date, s == 0 ? "登録" : null);
                date = date.AddDays(1 + rnd.Next(10));
            }
            processes[id] = r;
        }
        data.Of("Activity");
        return data;
    }
}

/// <summary>A minimal valid one-page PDF with a line of text (correct cross-reference offsets).</summary>
internal static class SandboxPdf
{
    public static byte[] Create(string text)
    {
        var safe = new string(text.Where(c => c is >= ' ' and <= '~' and not '(' and not ')' and not '\\').ToArray());
        var content = $"BT /F1 18 Tf 72 720 Td ({safe}) Tj ET";
        string[] objects =
        [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            $"<< /Length {content.Length} >>\nstream\n{content}\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ];
        var pdf = new StringBuilder("%PDF-1.4\n");
        var offsets = new List<int>();
        for (var i = 0; i < objects.Length; i++)
        {
            offsets.Add(Encoding.ASCII.GetByteCount(pdf.ToString()));
            pdf.Append(CultureInfo.InvariantCulture, $"{i + 1} 0 obj\n{objects[i]}\nendobj\n");
        }
        var xref = Encoding.ASCII.GetByteCount(pdf.ToString());
        pdf.Append(CultureInfo.InvariantCulture, $"xref\n0 {objects.Length + 1}\n0000000000 65535 f \n");
        foreach (var o in offsets)
        {
            pdf.Append(CultureInfo.InvariantCulture, $"{o:D10} 00000 n \n");
        }
        pdf.Append(CultureInfo.InvariantCulture, $"trailer\n<< /Size {objects.Length + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        return Encoding.ASCII.GetBytes(pdf.ToString());
    }
}
