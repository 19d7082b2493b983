// What the preview shows: the messages per record the server already sent, and its warnings in the user's words.
import type { PreviewMessage, PreviewResponse, PreviewWarning, SkippedRecord } from "../api/types";
import type { I18n } from "../i18n";

/** The preview's samples by record. The server sends the first few deliveries only, so when the pane steps through
 * its own list of records the last record of a full sample may be cut short: it is left out (and fetched on its own). */
export function samplesByRecord(preview: Pick<PreviewResponse, "samples">, recordIds: readonly number[] | null): Map<number, PreviewMessage[]> {
  const m = new Map<number, PreviewMessage[]>();
  for (const sample of preview.samples) m.set(sample.recordId, [...(m.get(sample.recordId) ?? []), sample]);
  const last = preview.samples[preview.samples.length - 1];
  if (last && preview.samples.length >= 5 && recordIds) m.delete(last.recordId);
  return m;
}

/** The records to step through: the scope's ids, else the records of the server's samples. */
export const previewOrder = (preview: Pick<PreviewResponse, "samples">, recordIds: readonly number[] | null): number[] =>
  recordIds ? [...recordIds] : [...new Set(preview.samples.map((x) => x.recordId))];

/** Server warnings in the user's language, by code; the server's English text otherwise. */
export function warningText(w: PreviewWarning, t: I18n["t"]): string {
  const count = w.count;
  switch (w.code) {
    case "EmptyTag":
      return t("warnEmptyTag", { tag: /\{\{[^}]+\}\}/.exec(w.message)?.[0] ?? "", count });
    case "InvalidAddress":
      return t("warnInvalidAddress", { count });
    case "NoAddress":
      return t("warnNoAddress", { count });
    case "RecordNotFound":
      return t("warnRecordNotFound", { count });
    case "DuplicateAddress":
      return t("warnDuplicateAddress", { count });
    case "NearMissTag":
      return t("warnNearMissTag", { found: w.args?.found ?? "", suggestion: w.args?.suggestion ?? "" });
    default:
      return w.message;
  }
}

const SKIP_TEXT = { InvalidAddress: "skipInvalidAddress", NoAddress: "skipNoAddress", RecordNotFound: "skipRecordNotFound" } as const;
export type SkipCode = keyof typeof SKIP_TEXT;
export const isSkip = (code: string): code is SkipCode => code in SKIP_TEXT;

/** One skipped record named: 「吉田 恵：メールアドレスが無効なため送信しません（tanaka7.example.com）」. */
export function skippedText(code: SkipCode, r: SkippedRecord, t: I18n["t"]): string {
  // The one the message was for (the job's recruiter in 推薦), else the listed record, else its id.
  const name = r.recipientName || r.recordName || `#${r.recordId}`;
  return t(SKIP_TEXT[code], { name, address: r.address ?? "" });
}

export type Skip = { code: SkipCode; record: SkippedRecord };

/** The named skips of a preview's warnings, by record id (added to `into`: a later warning of a code replaces it). */
export function skipsOf(warnings: readonly PreviewWarning[], into = new Map<number, Skip[]>()): Map<number, Skip[]> {
  for (const w of warnings) {
    if (!isSkip(w.code)) continue;
    for (const r of w.records ?? []) into.set(r.recordId, [...(into.get(r.recordId) ?? []).filter((x) => x.code !== w.code), { code: w.code, record: r }]);
  }
  return into;
}

/** The rendered body as the iframe's document (links open outside the pane). */
export const frameDoc = (html: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><base target="_blank"><style>body{font-family:"Segoe UI","Meiryo",sans-serif;font-size:14px;margin:8px;overflow-wrap:anywhere}</style></head><body>${html}</body></html>`;
