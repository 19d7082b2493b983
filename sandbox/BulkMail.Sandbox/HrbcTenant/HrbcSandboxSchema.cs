namespace BulkMail.Sandbox.Hrbc;

/// <summary>A field of the sandbox tenant (what Field Read answers and what reads and writes check).</summary>
/// <param name="OptionRoot">Option fields: the option root alias.</param>
/// <param name="RefResource">System[Reference] fields: the referenced resource's name.</param>
/// <param name="MirrorOf">Reference (16) fields: the parent field mirrored, read through <paramref name="Via"/>.</param>
internal sealed record SandboxField(long Id, string Alias, string Name, int Type, bool Required = false,
    string? OptionRoot = null, string? RefResource = null, string? MirrorOf = null, string? Via = null)
{
    public bool IsOption => Type is 5 or 6 or 7;
    public bool IsText => Type is 1 or 2 or 9 or 10;
    public bool IsSortable => Type is 3 or 4 or 8 or 11 or 12 or 14;
    public bool IsNumeric => Type is 3 or 11 or 14 || Type == 17;
}

internal sealed record SandboxResource(string Name, string Path, int Value, string Prefix, IReadOnlyList<SandboxField> Fields)
{
    public SandboxField? Field(string alias) => Fields.FirstOrDefault(f => f.Alias == alias);
    public string IdAlias => Prefix + ".P_Id";
}

internal sealed record SandboxOption(long Id, string Alias, string Name, long? ParentId, int Type, int Order, List<SandboxOption> Children);

/// <summary>The tenant's resources and fields (after the HRBC field lists) and its option master.</summary>
internal static class HrbcSandboxSchema
{
    public static IReadOnlyList<SandboxResource> Resources(HrbcSandboxOptions options)
    {
        long id = 1000;
        SandboxField F(string alias, string name, int type, bool required = false, string? option = null, string? refResource = null,
            string? mirror = null, string? via = null) => new(++id, alias, name, type, required, option, refResource, mirror, via);

        List<SandboxField> Common(string p, string phaseRoot) =>
        [
            F($"{p}.P_Id", "ID", 11),
            F($"{p}.P_Owner", "担当者", 17, required: true),
            F($"{p}.P_RegistrationDate", "登録日時", 11),
            F($"{p}.P_RegisteredBy", "登録者", 17),
            F($"{p}.P_UpdateDate", "更新日時", 11),
            F($"{p}.P_UpdatedBy", "更新者", 17),
            F($"{p}.P_Phase", "フェーズ", 7, option: phaseRoot),
            F($"{p}.P_PhaseDate", "フェーズ日付", 12),
            F($"{p}.P_PhaseMemo", "フェーズメモ", 2),
        ];

        var candidate = new SandboxResource("Candidate", "candidate", 1, "Person",
        [
            .. Common("Person", "Option.P_PersonPhase"),
            F("Person.P_Name", "個人氏名", 1),
            F("Person.P_Reading", "フリガナ", 1),
            F("Person.P_Mail", "メールアドレス", 10),
            F("Person.P_MobileMail", "携帯メールアドレス", 10),
            F("Person.P_Telephone", "電話番号", 15),
            F("Person.P_Mobile", "携帯番号", 15),
            F("Person.P_Memo", "メモ", 2),
        ]);
        var client = new SandboxResource("Client", "client", 5, "Client",
        [
            .. Common("Client", "Option.P_ClientPhase"),
            F("Client.P_Name", "企業名", 1),
            F("Client.P_Prefecture", "都道府県", 1),
            F("Client.P_City", "市区町村", 1),
            F("Client.P_Zipcode", "郵便番号", 1),
            F("Client.P_Telephone", "電話番号", 15),
            F("Client.P_Memo", "メモ", 2),
        ]);
        var recruiter = new SandboxResource("Recruiter", "recruiter", 9, "Recruiter",
        [
            .. Common("Recruiter", "Option.P_RecruiterPhase"),
            F("Recruiter.P_Client", "企業", 11, required: true, refResource: "Client"),
            F("Recruiter.P_Name", "氏名", 1),
            F("Recruiter.P_Reading", "フリガナ", 1),
            F("Recruiter.P_Division", "部署名", 1),
            F("Recruiter.P_Title", "役職名", 1),
            F("Recruiter.P_Telephone", "電話番号", 15),
            F("Recruiter.P_Mail", "メールアドレス", 10),
            F("Recruiter.P_MobileMail", "携帯メールアドレス", options.RecruiterMobileMailIsMail ? 10 : 15),
            F("Recruiter.U_SubMail", "サブメールアドレス", 10),
            F("Recruiter.P_Memo", "メモ", 2),
            F("Recruiter.U_MailOptOut", "メール配信", 5, option: "Option.U_MailOptOut"),
        ]);
        var job = new SandboxResource("Job", "job", 3, "Job",
        [
            .. Common("Job", "Option.P_JobPhase"),
            F("Job.P_Client", "企業", 11, required: true, refResource: "Client"),
            F("Job.P_Recruiter", "企業担当者", 11, required: true, refResource: "Recruiter"),
            F("Job.P_Position", "ポジション", 1),
            F("Job.P_Mail", "企業担当者メール", 16, mirror: "Recruiter.P_Mail", via: "Job.P_Recruiter"),
            F("Job.P_Area", "勤務地", 5, option: "Option.P_Area"),
            F("Job.P_EmploymentType", "雇用形態", 7, option: "Option.P_EmploymentType"),
            F("Job.P_MinSalary", "年収下限", 14),
            F("Job.P_MaxSalary", "年収上限", 14),
            F("Job.P_Memo", "仕事内容", 2),
        ]);
        var resume = new SandboxResource("Resume", "resume", 17, "Resume",
        [
            .. Common("Resume", "Option.P_ResumePhase"),
            F("Resume.P_Candidate", "個人連絡先", 11, required: true, refResource: "Candidate"),
            F("Resume.P_Name", "レジュメタイトル", 1),
            F("Resume.P_Mail", "メールアドレス", 16, mirror: "Person.P_Mail", via: "Resume.P_Candidate"),
            F("Resume.P_MobileMail", "携帯メールアドレス", 16, mirror: "Person.P_MobileMail", via: "Resume.P_Candidate"),
            F("Resume.P_TelephoneReference", "電話番号", 16, mirror: "Person.P_Telephone", via: "Resume.P_Candidate"),
            F("Resume.P_Gender", "性別", 6, option: "Option.P_Gender"),
            F("Resume.P_DateOfBirth", "生年月日", 8),
            F("Resume.P_CurrentSalary", "現在の年収", 14),
            F("Resume.P_ExpectArea", "希望勤務地", 5, option: "Option.P_Area"),
            F("Resume.P_Memo", "メモ", 2),
            F("Resume.U_LinkedInUrl", "LinkedIn URL", 9),
            // A tenant's own checkbox (a custom U_ field with its own option list): ticked = 配信停止 (docs/opt-out.md).
            F("Resume.U_MailOptOut", "メール配信", 5, option: "Option.U_MailOptOut"),
        ]);
        var process = new SandboxResource("Process", "process", 7, "Process",
        [
            .. Common("Process", "Option.P_ProcessPhase"),
            F("Process.P_Client", "企業", 11, required: true, refResource: "Client"),
            F("Process.P_Recruiter", "企業担当者", 11, required: true, refResource: "Recruiter"),
            F("Process.P_Job", "JOB", 11, required: true, refResource: "Job"),
            F("Process.P_Candidate", "個人連絡先", 11, required: true, refResource: "Candidate"),
            F("Process.P_Resume", "レジュメ", 11, required: true, refResource: "Resume"),
            F("Process.P_ExpectedSalesAmount", "見込み売上", 14),
        ]);
        var activity = new SandboxResource("Activity", "activity", 19, "Activity",
        [
            .. Common("Activity", "Option.P_ActivityPhase"),
            F("Activity.P_Title", "件名", 1, required: true),
            F("Activity.P_Resource", "リソース", 3),
            F("Activity.P_ResourceId", "リソースID", 11),
            F("Activity.P_FromDate", "開始日時", 12),
            F("Activity.P_ToDate", "終了日時", 12),
            F("Activity.P_Memo", "メモ", 2),
        ]);
        return [candidate, client, recruiter, job, resume, process, activity];
    }

    /// <summary>Option master: phases of each resource (Option.P_Type 1–7) and a few normal lists.</summary>
    public static List<SandboxOption> Options()
    {
        long id = 100;
        SandboxOption Root(string alias, string name, int type, params (string Alias, string Name)[] children)
        {
            var root = new SandboxOption(++id, alias, name, null, type, 0, []);
            var order = 0;
            foreach (var (a, n) in children)
            {
                root.Children.Add(new SandboxOption(++id, a, n, root.Id, type, ++order, []));
            }
            return root;
        }
        return
        [
            Root("Option.P_ProcessPhase", "選考プロセス", 3,
                ("Option.P_ProcessPhase_Entry", "エントリー"), ("Option.P_ProcessPhase_JobOffered", "JOB打診"),
                ("Option.P_ProcessPhase_Recommended", "推薦"), ("Option.P_ProcessPhase_DocumentScreening", "書類選考"),
                ("Option.P_ProcessPhase_Interview1", "一次面接"), ("Option.P_ProcessPhase_Interview2", "二次面接"),
                ("Option.P_ProcessPhase_Offer", "内定"), ("Option.P_ProcessPhase_Joined", "入社"), ("Option.P_ProcessPhase_Declined", "辞退")),
            Root("Option.P_ResumePhase", "レジュメフェーズ", 1,
                ("Option.P_ResumePhase_New", "新規登録"), ("Option.P_ResumePhase_Interviewed", "面談済"),
                ("Option.P_ResumePhase_Active", "活動中"), ("Option.P_ResumePhase_NewsletterSent", "メルマガ送付"),
                ("Option.P_ResumePhase_Placed", "決定"), ("Option.P_ResumePhase_Inactive", "休止")),
            Root("Option.P_RecruiterPhase", "企業担当者フェーズ", 6,
                ("Option.P_RecruiterPhase_Contact", "コンタクト"), ("Option.P_RecruiterPhase_NoticeSent", "お知らせ送付"),
                ("Option.P_RecruiterPhase_Meeting", "商談中"), ("Option.P_RecruiterPhase_Active", "取引中")),
            Root("Option.P_JobPhase", "JOBフェーズ", 2,
                ("Option.P_JobPhase_Open", "募集中"), ("Option.P_JobPhase_Hold", "保留"), ("Option.P_JobPhase_Closed", "募集終了")),
            Root("Option.P_ClientPhase", "企業フェーズ", 5,
                ("Option.P_ClientPhase_Prospect", "見込み"), ("Option.P_ClientPhase_Active", "取引中"), ("Option.P_ClientPhase_Dormant", "休眠")),
            Root("Option.P_PersonPhase", "個人フェーズ", 7,
                ("Option.P_PersonPhase_New", "新規"), ("Option.P_PersonPhase_Active", "活動中")),
            Root("Option.P_ActivityPhase", "アクティビティ種別", 4,
                ("Option.P_ActivityPhase_Mail", "メール送信"), ("Option.P_ActivityPhase_Call", "電話"), ("Option.P_ActivityPhase_Meeting", "面談")),
            Root("Option.P_Area", "エリア", 0,
                ("Option.P_Hokkaido", "北海道"), ("Option.P_Miyagi", "宮城県"), ("Option.P_Saitama", "埼玉県"), ("Option.P_Chiba", "千葉県"),
                ("Option.P_Tokyo", "東京都"), ("Option.P_Kanagawa", "神奈川県"), ("Option.P_Aichi", "愛知県"), ("Option.P_Kyoto", "京都府"),
                ("Option.P_Osaka", "大阪府"), ("Option.P_Hyogo", "兵庫県"), ("Option.P_Hiroshima", "広島県"), ("Option.P_Fukuoka", "福岡県")),
            Root("Option.P_Gender", "性別", 0, ("Option.P_Male", "男性"), ("Option.P_Female", "女性"), ("Option.P_GenderOther", "回答しない")),
            Root("Option.P_EmploymentType", "雇用形態", 0,
                ("Option.P_FullTime", "正社員"), ("Option.P_Contract", "契約社員"), ("Option.P_Temporary", "派遣社員"), ("Option.P_PartTime", "パート・アルバイト")),
            Root("Option.U_MailOptOut", "メール配信", 0, ("Option.U_MailOptOut_Stop", "配信停止")),
        ];
    }
}
