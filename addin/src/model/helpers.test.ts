// The helpers that moved out of the components (Composer, PreviewPanel, TagInserter, SearchPanel, MailingCard and the
// mailings provider) into model/: each rule on its own.
import { describe, expect, it } from "vitest";
import { ApiError, type TemplateError } from "../api/client";
import type { HrbcField, HrbcRecord, MailingStatus, PreviewMessage } from "../api/types";
import {
  confirmFacts,
  countRequest,
  defaultMailField,
  hasAddress,
  insertAt,
  keepMarks,
  nearMissesOf,
  recordIdsOf,
  sentScope,
} from "./composer";
import { initialDraft } from "./draft";
import { etaSecondsAt, followedIds, mergeListed, placeholderStatus, secondsUntil, trackStatus, upsertStatus, visibleMailings } from "./mailings";
import { previewOrder, samplesByRecord } from "./preview";
import { matchChips, mergePages, untickSent, type Selection } from "./search";
import { filterTags, namesFirst, tagGroups } from "./tags";

const selection: Selection = { resource: "resumes", query: { keywords: "鈴木" }, displayedIds: [1, 2, 3, 4], checkedIds: [2, 3], total: 120 };
const status = (over: Partial<MailingStatus>): MailingStatus => ({
  ...placeholderStatus("m1", { createdAt: "2026-11-27T00:00:00Z" }),
  ...over,
});

describe("composer helpers", () => {
  it("names what was sent (for unticking) and the records the preview steps through, by scope", () => {
    expect(sentScope("Checked", selection)).toEqual({ kind: "Checked", ids: [2, 3] });
    expect(sentScope("Displayed", selection)).toEqual({ kind: "Displayed", ids: [1, 2, 3, 4] });
    expect(sentScope("All", selection)).toEqual({ kind: "All", ids: [] });
    expect(recordIdsOf("All", selection)).toBeNull();
    expect(recordIdsOf("Checked", selection)).toEqual([2, 3]);
    expect(recordIdsOf("Displayed", selection)).toEqual([1, 2, 3, 4]);
  });

  it("counts only a chosen, non-empty scope, with a placeholder template", () => {
    expect(countRequest("Resumes", null, null, selection, ["Resume.P_Mail"])).toBeNull();
    expect(countRequest("Resumes", null, "Checked", selection, [])).toBeNull();
    expect(countRequest("Resumes", null, "Checked", { ...selection, checkedIds: [] }, ["Resume.P_Mail"])).toBeNull();
    expect(countRequest("JobToResumes", 7, "All", selection, ["Resume.P_Mail"])).toEqual({
      mode: "JobToResumes",
      anchorId: 7,
      scope: { kind: "All", query: { keywords: "鈴木", condition: undefined }, ids: null },
      mailFields: ["Resume.P_Mail"],
      subject: "-",
      body: "-",
    });
  });

  it("ticks the first field with addresses, and knows whether a ticked field has one", () => {
    const counts = [
      { alias: "Resume.P_Mail", label: "a", count: 0 },
      { alias: "Resume.P_MobileMail", label: "b", count: 2 },
    ];
    expect(defaultMailField(counts)).toBe("Resume.P_MobileMail");
    expect(defaultMailField([{ alias: "x", label: "x", count: 0 }])).toBeNull();
    expect(hasAddress(["Resume.P_Mail"], counts)).toBe(false);
    expect(hasAddress(["Resume.P_Mail", "Resume.P_MobileMail"], counts)).toBe(true);
    expect(hasAddress(["Resume.P_Mail"], null)).toBe(true);
    expect(hasAddress([], null)).toBe(false);
  });

  it("keeps a field's mark only while the edited draft is still wrong there", () => {
    expect(keepMarks({ subject: ["empty"], body: ["empty"] }, { body: ["still empty"] })).toEqual({ body: ["empty"] });
    expect(keepMarks({ subject: ["Unknown tag"] }, {})).toEqual({});
  });

  it("puts a tag in place of the selection, the caret after it", () => {
    expect(insertAt("Dear  san", 5, 5, "{{Person.P_Name}}")).toEqual({ text: "Dear {{Person.P_Name}} san", caret: 22 });
    expect(insertAt("Dear X san", 5, 6, "{{A}}")).toEqual({ text: "Dear {{A}} san", caret: 10 });
  });

  it("states the phase by name, the chosen files and whether they are zipped", () => {
    const anchor = { id: 7, attachments: [{ id: 1, fileName: "job.pdf" }, { id: 2, fileName: "other.pdf" }] } as unknown as HrbcRecord;
    const draft = {
      ...initialDraft(selection),
      recordAttachmentIds: [1],
      uploads: [{ id: "u1", name: "extra.docx", size: 1, contentType: "x" }] as never,
      zip: true,
      zipPassword: "pw",
      phase: "Option.P_A",
      logActivity: true,
    };
    expect(confirmFacts(anchor, draft, [{ alias: "Option.P_A", name: "JOB打診", id: 1, order: 1, resource: "Process" }], "JobToResumes")).toEqual({
      phaseName: "JOB打診",
      attachmentNames: ["job.pdf", "extra.docx"],
      zipped: true,
      logActivity: true,
      replyPhaseName: null,
      replyLogActivity: false,
      optOutFooter: false,
    });
    expect(confirmFacts(null, { ...draft, uploads: [], phase: "Option.P_Unknown" }, [], "Resumes").zipped).toBe(false);
    expect(confirmFacts(null, { ...draft, phase: "Option.P_Unknown" }, [], "Resumes").phaseName).toBe("Option.P_Unknown");
    // On reply and the footer: the reply phase by name, the footer by the mode's default until chosen.
    const facts = confirmFacts(null, { ...draft, replyPhase: "Option.P_A", replyLogActivity: true }, [{ alias: "Option.P_A", name: "JOB打診", id: 1, order: 1, resource: "Process" }], "Resumes");
    expect(facts).toMatchObject({ replyPhaseName: "JOB打診", replyLogActivity: true, optOutFooter: true });
    expect(confirmFacts(null, { ...draft, optOutFooter: false }, [], "Resumes").optOutFooter).toBe(false);
  });

  it("asks about near-miss spellings only when nothing else was refused", () => {
    const near: TemplateError = { code: "NearMissTag", part: "subject", line: 1, column: 1, message: "x", tag: "Person.P_Name" };
    const err = (templateErrors: TemplateError[], fieldErrors: Record<string, string[]> = { subject: ["x"] }, status = 400) =>
      new ApiError({ status, title: "t", templateErrors, fieldErrors });
    expect(nearMissesOf(err([near]))).toEqual([near]);
    expect(nearMissesOf(err([near, { ...near, code: "UnknownTag" }]))).toBeNull();
    expect(nearMissesOf(err([near], { subject: ["x"], scope: ["y"] }))).toBeNull();
    expect(nearMissesOf(err([near], {}, 409))).toBeNull();
    expect(nearMissesOf(new Error("x"))).toBeNull();
  });
});

describe("mailings helpers", () => {
  it("merges a live status into the list (newest first) and adds a just-started mailing at once", () => {
    const a = status({ id: "a", createdAt: "2026-11-27T01:00:00Z", sent: 1 });
    const b = status({ id: "b", createdAt: "2026-11-27T02:00:00Z" });
    expect(upsertStatus([a], b).map((m) => m.id)).toEqual(["b", "a"]);
    expect(upsertStatus([b, a], { ...a, sent: 5 })[1]).toMatchObject({ id: "a", sent: 5 });
    const tracked = trackStatus([a], "n", "Queued", "件名", "2026-11-27T03:00:00Z");
    expect(tracked[0]).toMatchObject({ id: "n", state: "Queued", subject: "件名", total: 0 });
    // A finished mailing keeps its state; a known one keeps its subject.
    const done = status({ id: "d", state: "Completed", subject: "old" });
    expect(trackStatus([done], "d", "Queued", "new", "x")[0]).toMatchObject({ state: "Completed", subject: "old" });
  });

  it("takes the list as the server read it, but not back past a status the stream pushed while the list was on its way", () => {
    const listed = [status({ id: "a", state: "Sending", sent: 1 }), status({ id: "b", state: "Queued" })];
    const cached = [
      { ...status({ id: "a", state: "Completed", sent: 3 }), receivedAt: 1_000 }, // pushed after the list was asked for
      { ...status({ id: "b", state: "Preparing" }), receivedAt: 900 }, // before: the list is newer
      { ...status({ id: "gone", state: "Sending" }), receivedAt: 1_000 }, // no longer listed
    ];
    const merged = mergeListed(listed, cached, 950, 1_100);
    expect(merged.map((m) => `${m.id}:${m.state}:${m.receivedAt}`)).toEqual(["a:Completed:1000", "b:Queued:1100"]);
  });

  it("follows what can still change, and shows what the user started", () => {
    const list = [status({ id: "r", state: "Ready" }), status({ id: "s", state: "Sending" }), status({ id: "c", state: "Completed" }), status({ id: "p", state: "Paused" })];
    expect(followedIds(list)).toEqual(["s", "p"]);
    // replies and bounces still come in for a finished mailing that sent something; not for one that sent nothing
    const finished = [status({ id: "c", state: "Completed", sent: 3 }), status({ id: "x", state: "Cancelled", sent: 0 }), status({ id: "y", state: "Cancelled", sent: 1 })];
    expect(followedIds(finished)).toEqual(["c", "y"]);
    expect(visibleMailings(list, new Set(["p"])).map((m) => m.id)).toEqual(["s", "c"]);
  });

  it("counts the ETA down from when the status arrived, never before a known wait ends", () => {
    const t0 = Date.parse("2026-11-27T00:00:00Z");
    expect(secondsUntil(null, t0)).toBeNull();
    expect(secondsUntil("2026-11-27T00:00:30Z", t0)).toBe(30);
    expect(secondsUntil("2026-11-26T00:00:00Z", t0)).toBe(0);
    expect(etaSecondsAt({ etaSeconds: 120, resumesAt: null, finishesAt: null }, t0, t0 + 20_000)).toBe(100);
    expect(etaSecondsAt({ etaSeconds: 120, resumesAt: "2026-11-27T00:03:00Z", finishesAt: null }, t0, t0 + 20_000)).toBe(160);
    expect(etaSecondsAt({ etaSeconds: null, resumesAt: null, finishesAt: "2026-11-27T00:01:00Z" }, t0, t0)).toBe(60);
    expect(etaSecondsAt({ etaSeconds: null, resumesAt: null, finishesAt: null }, t0, t0)).toBeNull();
  });
});

describe("preview, tags and search helpers", () => {
  const msg = (recordId: number, seq: number) => ({ recordId, seq }) as PreviewMessage;

  it("groups the samples by record and leaves out a record a full sample may have cut short", () => {
    const few = { samples: [msg(1, 1), msg(1, 2), msg(2, 3)] };
    expect([...samplesByRecord(few, [1, 2, 3]).keys()]).toEqual([1, 2]);
    const full = { samples: [msg(1, 1), msg(2, 2), msg(3, 3), msg(4, 4), msg(5, 5)] };
    expect([...samplesByRecord(full, [1, 2, 3, 4, 5, 6]).keys()]).toEqual([1, 2, 3, 4]);
    expect([...samplesByRecord(full, null).keys()]).toEqual([1, 2, 3, 4, 5]);
    expect(previewOrder(few, null)).toEqual([1, 2]);
    expect(previewOrder(few, [9, 8])).toEqual([9, 8]);
  });

  it("offers names first, people before records and the sender last, and filters by alias or label", () => {
    const f = (alias: string, label: string) => ({ alias, label }) as HrbcField;
    expect(namesFirst([f("Person.P_Id", "ID"), f("Person.P_Memo", "メモ"), f("Person.P_Name", "氏名")]).map((x) => x.alias)).toEqual([
      "Person.P_Name",
      "Person.P_Memo",
      "Person.P_Id",
    ]);
    const groups = tagGroups(
      [
        { resource: "Resume", fields: [f("Resume.P_Name", "タイトル")] },
        { resource: "Candidate", fields: [f("Person.P_Name", "氏名")] },
      ],
      [{ alias: "User.Name", label: "Sender" }],
    );
    expect(groups.map((g) => g.key)).toEqual(["Candidate", "Resume", "User"]);
    expect(filterTags(groups, "氏名")).toEqual([{ key: "Candidate", tags: [{ alias: "Person.P_Name", label: "氏名" }] }]);
    expect(filterTags(groups, "  ")).toHaveLength(3);
  });

  it("joins a search's pages without showing a record twice, and unticks what was sent", () => {
    const page = (...ids: number[]) => ({ items: ids.map((id) => ({ id })) });
    expect(mergePages([page(1, 2, 3), page(3, 4)]).map((x) => x.id)).toEqual([1, 2, 3, 4]);
    expect([...untickSent(new Set([1, 2, 3]), [2])]).toEqual([1, 3]);
    expect(untickSent(new Set([1, 2, 3]), "all").size).toBe(0);
  });

  it("makes one chip per shared option of the anchor", () => {
    const m = {
      conditions: [
        { field: "Resume.P_ExpectArea", label: "希望勤務地", options: [{ alias: "Option.P_Tokyo", name: "東京" }, { alias: "Option.P_Osaka", name: "大阪" }] },
      ],
    } as never;
    expect(matchChips(m)).toEqual([
      { field: "Resume.P_ExpectArea", label: "希望勤務地", option: "Option.P_Tokyo", optionName: "東京" },
      { field: "Resume.P_ExpectArea", label: "希望勤務地", option: "Option.P_Osaka", optionName: "大阪" },
    ]);
  });
});
