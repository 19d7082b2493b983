import { describe, expect, it } from "vitest";
import { buildRequest, initialDraft, sanitizeHtml, scopeCount } from "./draft";
import { MODES, modesFor } from "./modes";
import { buildCondition, type Selection } from "./search";

const selection: Selection = {
  resource: "resumes",
  query: { keywords: "鈴木", condition: "Resume.P_Phase:or=Option.P_ResumePhase_Active" },
  displayedIds: [1, 2, 3, 4],
  checkedIds: [2, 3],
  total: 120,
};

describe("modes", () => {
  it("offers exactly the modes of the context", () => {
    expect(modesFor("resumes", null)).toEqual(["Resumes"]);
    expect(modesFor("recruiters", null)).toEqual(["Recruiters"]);
    expect(modesFor("jobs", null)).toEqual([]);
    expect(modesFor("resumes", "job")).toEqual(["JobToResumes", "ResumesToRecruiter"]);
    expect(modesFor("jobs", "resume")).toEqual(["JobsToResume", "ResumeToRecruiters"]);
  });

  it("allows the anchor's files only in JobToResumes and ResumeToRecruiters", () => {
    const allowed = Object.values(MODES).filter((m) => m.anchorAttachments).map((m) => m.mode);
    expect(allowed.sort()).toEqual(["JobToResumes", "ResumeToRecruiters"]);
  });

  it("lists Process phases in the matching modes and Resume/Recruiter phases otherwise", () => {
    expect(MODES.Resumes.phaseResource).toBe("Resume");
    expect(MODES.Recruiters.phaseResource).toBe("Recruiter");
    expect(MODES.JobsToResume.phaseResource).toBe("Process");
  });
});

describe("search conditions", () => {
  it("builds HRBC condition text", () => {
    expect(buildCondition("resumes", {})).toBeUndefined();
    expect(buildCondition("jobs", { phase: "Option.P_JobPhase_Open", updatedSince: "2025-10-01" })).toBe(
      "Job.P_Phase:or=Option.P_JobPhase_Open,Job.P_UpdateDate:ge=2025/10/01 00:00:00",
    );
  });
});

describe("the mailing request", () => {
  it("counts each scope", () => {
    expect(scopeCount("All", selection)).toBe(120);
    expect(scopeCount("Displayed", selection)).toBe(4);
    expect(scopeCount("Checked", selection)).toBe(2);
  });

  it("starts on Checked when something is checked, and on nothing otherwise", () => {
    expect(initialDraft(selection).scope).toBe("Checked");
    expect(initialDraft({ ...selection, checkedIds: [] }).scope).toBeNull();
    expect(initialDraft(selection).zipEncryption).toBe("Aes256");
  });

  it("sends the query for All and the ids otherwise", () => {
    const d = { ...initialDraft(selection), mailFields: ["Resume.P_Mail"], subject: "s", body: "b" };
    expect(buildRequest("Resumes", null, selection, { ...d, scope: "All" }).scope).toEqual({
      kind: "All",
      query: selection.query,
      ids: null,
    });
    expect(buildRequest("Resumes", null, selection, { ...d, scope: "Displayed" }).scope).toEqual({ kind: "Displayed", ids: [1, 2, 3, 4] });
    expect(buildRequest("Resumes", null, selection, d).scope).toEqual({ kind: "Checked", ids: [2, 3] });
  });

  it("includes attachments, zip and phase only when set", () => {
    const d = { ...initialDraft(selection), mailFields: ["Resume.P_Mail"], subject: "s", body: "b" };
    const plain = buildRequest("JobToResumes", 30004, selection, d);
    expect(plain.attachments).toBeNull();
    expect(plain.phase).toBeNull();
    expect(plain.anchorId).toBe(30004);
    const full = buildRequest("JobToResumes", 30004, selection, {
      ...d,
      recordAttachmentIds: [7],
      uploads: [{ id: "u1", name: "a.pdf", size: 1 }],
      zip: true,
      zipPassword: "secret-123",
      zipEncryption: "ZipCrypto",
      phase: "Option.P_ProcessPhase_JobOffered",
      phaseMemo: " memo ",
      logActivity: true,
    });
    expect(full.attachments).toEqual({ recordAttachmentIds: [7], uploadIds: ["u1"], zipPassword: "secret-123", zipEncryption: "ZipCrypto" });
    expect(full.phase).toEqual({ optionAlias: "Option.P_ProcessPhase_JobOffered", memo: "memo" });
    expect(full.logActivity).toBe(true);
  });

  it("keeps only the body of Outlook's HTML, without scripts, styles or handlers", () => {
    const html = sanitizeHtml(
      '<html><head><style>p{color:red}</style></head><body><p onclick="x()">{{Person.P_Name}} 様</p><script>alert(1)</script></body></html>',
    );
    expect(html).toBe("<p>{{Person.P_Name}} 様</p>");
  });
});
