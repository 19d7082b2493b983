// The unsent mail, kept in localStorage so a reload (or Outlook closing the pane) does not lose it. The zip password
// is never stored: it is typed again.
import type { MailingMode } from "../api/types";
import type { Draft } from "./draft";
import type { Selection } from "./search";

export interface StoredDraft {
  mode: MailingMode;
  anchorId: number | null;
  selection: Selection;
  draft: Draft;
  savedAt: string;
}

const KEY = "bulkmail.compose.v1";

function storage(): Storage | null {
  try {
    return typeof window !== "undefined" && window.localStorage ? window.localStorage : null;
  } catch {
    return null; // blocked storage (privacy settings): the draft lives as long as the pane
  }
}

export function saveDraft(d: Omit<StoredDraft, "savedAt">): void {
  const s = storage();
  if (!s) return;
  const value: StoredDraft = { ...d, draft: { ...d.draft, zipPassword: "" }, savedAt: new Date().toISOString() };
  try {
    s.setItem(KEY, JSON.stringify(value));
  } catch {
    /* quota full: keep working without it */
  }
}

export function loadDraft(): StoredDraft | null {
  const raw = storage()?.getItem(KEY);
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as StoredDraft;
    return v && typeof v.mode === "string" && v.draft && v.selection ? v : null;
  } catch {
    return null;
  }
}

export function clearDraft(): void {
  storage()?.removeItem(KEY);
}
