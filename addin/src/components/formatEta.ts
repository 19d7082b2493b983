import type { I18n } from "../i18n";

/** "12 s", "3 min", "1 h 5 min" in the pane's language. */
export function formatEta(seconds: number, t: I18n["t"]): string {
  if (seconds < 60) return t("etaSeconds", { n: Math.max(1, Math.round(seconds)) });
  if (seconds < 3600) return t("etaMinutes", { n: Math.ceil(seconds / 60) });
  const h = Math.floor(seconds / 3600);
  return t("etaHours", { h, m: Math.ceil((seconds % 3600) / 60) });
}
