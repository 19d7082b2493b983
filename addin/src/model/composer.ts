// The composer's rules that are not React: what is counted, what the confirmation states, what was sent, which
// field marks stay, where a tag goes.
import { ApiError, type TemplateError } from "../api/client";
import type { HrbcPhase, HrbcRecord, MailFieldCount, MailingMode, MailingRequest, ScopeKind } from "../api/types";
import type { Draft } from "./draft";
import { footerDefault, scopeOf } from "./draft";
import type { Selection } from "./search";
import type { FieldErrors } from "./validation";

/** What the pane just sent, so the search can untick it (a second mode must not mail the same records by accident). */
export interface SentScope {
  kind: "All" | "Displayed" | "Checked";
  ids: number[];
}

export const sentScope = (scope: ScopeKind | null, selection: Selection): SentScope => ({
  kind: scope ?? "Checked",
  ids: scope === "Checked" ? selection.checkedIds : scope === "Displayed" ? selection.displayedIds : [],
});

/** The records the preview steps through: the scope's ids; null for All (the server's samples). */
export const recordIdsOf = (scope: ScopeKind | null, selection: Selection): number[] | null =>
  scope === "All" ? null : scope === "Checked" ? selection.checkedIds : selection.displayedIds;

/** The request that counts the recipients' mail fields over the scope, or null when there is nothing to count.
 * Counting needs no template: a placeholder subject and body keep template errors out of it. */
export function countRequest(
  mode: MailingMode,
  anchorId: number | null,
  scopeKind: ScopeKind | null,
  selection: Selection,
  mailFields: readonly string[],
): MailingRequest | null {
  if (scopeKind === null || mailFields.length === 0) return null;
  const scope = scopeOf(scopeKind, selection);
  if (scope.kind !== "All" && (scope.ids?.length ?? 0) === 0) return null;
  return { mode, anchorId, scope, mailFields: [...mailFields], subject: "-", body: "-" } as MailingRequest;
}

/** The mail field ticked for the user when none is: the first that has addresses. */
export const defaultMailField = (counts: readonly MailFieldCount[]): string | null => counts.find((f) => f.count > 0)?.alias ?? null;

/** Whether a chosen mail field has an address (before counting: whether one is chosen). */
export const hasAddress = (mailFields: readonly string[], counts: readonly MailFieldCount[] | null): boolean =>
  counts ? mailFields.some((a) => (counts.find((c) => c.alias === a)?.count ?? 0) > 0) : mailFields.length > 0;

/** After an edit, a field keeps its mark only while it is still wrong (the check of the edited draft says so). */
export function keepMarks(marked: FieldErrors, now: FieldErrors): FieldErrors {
  const next: FieldErrors = {};
  for (const k of Object.keys(marked) as (keyof FieldErrors)[]) if (now[k]) next[k] = marked[k];
  return next;
}

/** A tag put into text in place of the selection [start, end); the caret goes after it. */
export function insertAt(text: string, start: number, end: number, tag: string): { text: string; caret: number } {
  return { text: text.slice(0, start) + tag + text.slice(end), caret: start + tag.length };
}

/** What the confirmation states besides the counts: the phase by name, the files, zipped or not, the activity. */
export function confirmFacts(anchor: HrbcRecord | null, draft: Draft, phases: readonly HrbcPhase[], mode: MailingMode) {
  const attachmentNames = [
    ...(anchor?.attachments.filter((a) => draft.recordAttachmentIds.includes(a.id)).map((a) => a.fileName) ?? []),
    ...draft.uploads.map((u) => u.name),
  ];
  return {
    phaseName: draft.phase ? (phases.find((x) => x.alias === draft.phase)?.name ?? draft.phase) : null,
    attachmentNames,
    zipped: draft.zip && !!draft.zipPassword && attachmentNames.length > 0,
    logActivity: draft.logActivity,
    replyPhaseName: draft.replyPhase ? (phases.find((x) => x.alias === draft.replyPhase)?.name ?? draft.replyPhase) : null,
    replyLogActivity: draft.replyLogActivity === true,
    optOutFooter: draft.optOutFooter ?? footerDefault(mode),
  };
}

/** The near-miss spellings (｛｛Person.P_Name｝｝) of a 400 that refused nothing else (only the subject and body
 * marked), else null: the pane then asks whether to send them as typed. */
export function nearMissesOf(e: unknown): TemplateError[] | null {
  if (!(e instanceof ApiError) || e.status !== 400 || e.templateErrors.length === 0) return null;
  if (!e.templateErrors.every((x) => x.code === "NearMissTag")) return null;
  if (Object.keys(e.fieldErrors).some((k) => k !== "subject" && k !== "body")) return null;
  return e.templateErrors;
}
