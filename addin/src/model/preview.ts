// What the preview shows: the messages per record the server already sent, and its warnings in the user's words.
import type { PreviewMessage, PreviewResponse, PreviewWarning } from "../api/types";
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

/** The rendered body as the iframe's document (links open outside the pane). */
export const frameDoc = (html: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><base target="_blank"><style>body{font-family:"Segoe UI","Meiryo",sans-serif;font-size:14px;margin:8px;overflow-wrap:anywhere}</style></head><body>${html}</body></html>`;
