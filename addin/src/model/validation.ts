// Field-level errors of the composer: the pane's own checks before anything is sent, and the server's problem details
// (errors by JSON path, template errors by part) mapped onto the same fields.
import { ApiError } from "../api/client";
import type { MailFieldCount } from "../api/types";
import type { I18n } from "../i18n";
import type { Draft } from "./draft";

/** The composer's fields that can carry an error, in the order they appear (the first one gets the focus). */
export const FIELD_ORDER = ["scope", "mailFields", "subject", "body", "zipPassword"] as const;
export type FieldKey = (typeof FIELD_ORDER)[number];
export type FieldErrors = Partial<Record<FieldKey, string[]>>;

export const MAX_SUBJECT = 255;
/** Beyond this many characters most inbox lists cut the subject off. */
export const LONG_SUBJECT = 60;

const textOf = (html: string) => html.replace(/<[^>]*>/g, "").replace(/&nbsp;/g, " ").trim();

/** What the pane can tell before asking the server. */
export function validateDraft(d: Draft, counts: MailFieldCount[] | null, t: I18n["t"]): FieldErrors {
  const e: FieldErrors = {};
  if (!d.scope) e.scope = [t("scopeRequired")];
  const withAddress = counts ? d.mailFields.filter((a) => (counts.find((c) => c.alias === a)?.count ?? 0) > 0) : d.mailFields;
  if (withAddress.length === 0) e.mailFields = [t("mailFieldsRequired")];
  if (!d.subject.trim()) e.subject = [t("subjectRequired")];
  else if (d.subject.length > MAX_SUBJECT) e.subject = [t("subjectTooLong", { max: MAX_SUBJECT, n: d.subject.length })];
  if (!textOf(d.body) && !/<img\b/i.test(d.body)) e.body = [t("bodyRequired")];
  if (d.zip && (d.recordAttachmentIds.length > 0 || d.uploads.length > 0) && (d.zipPassword.length < 8 || d.zipPassword.length > 128)) {
    e.zipPassword = [t("zipPasswordLength")];
  }
  return e;
}

function keyOf(path: string): FieldKey | null {
  const p = path.replace(/^\$\./, "").toLowerCase();
  if (p.startsWith("scope")) return "scope";
  if (p.startsWith("mailfields")) return "mailFields";
  if (p.startsWith("subject")) return "subject";
  if (p.startsWith("body")) return "body";
  if (p.startsWith("attachments")) return "zipPassword";
  return null;
}

/** The server's errors by field; what belongs to no field stays for the bar at the top. */
export function fieldErrorsFromApi(error: unknown, t: I18n["t"]): FieldErrors {
  const e: FieldErrors = {};
  if (!(error instanceof ApiError)) return e;
  const add = (k: FieldKey, m: string) => {
    const list = (e[k] ??= []);
    if (!list.includes(m)) list.push(m);
  };
  const templated = new Set<string>();
  for (const te of error.templateErrors) {
    const k = te.part === "subject" ? "subject" : te.part === "body" ? "body" : null;
    if (!k) continue;
    templated.add(te.message);
    add(k, templateMessage(te, t));
  }
  for (const [path, msgs] of Object.entries(error.fieldErrors)) {
    const k = keyOf(path);
    if (!k) continue;
    for (const m of msgs) if (!templated.has(m)) add(k, m);
  }
  return e;
}

/** An unknown tag in the pane's words (names the place and where to pick a tag); other template errors as sent. */
export function templateMessage(te: { part: string; line: number | null; column: number | null; message: string; code?: string; tag?: string | null }, t: I18n["t"]): string {
  const part = te.part === "subject" ? t("partSubject") : te.part === "body" ? t("partBody") : te.part;
  if (te.code === "UnknownTag" && te.tag) {
    return t("unknownTag", { part, tag: `{{${te.tag}}}`, line: te.line ?? 1, column: te.column ?? 1 });
  }
  return te.message;
}

export const hasErrors = (e: FieldErrors) => FIELD_ORDER.some((k) => (e[k]?.length ?? 0) > 0);
export const firstError = (e: FieldErrors): FieldKey | null => FIELD_ORDER.find((k) => (e[k]?.length ?? 0) > 0) ?? null;
