// The composer's state and how it becomes the mailing request (MailingRequest in src/api/openapi.json).
import type { MailingMode, MailingRequest, ScopeKind, UploadedFile, ZipEncryption } from "../api/types";
import type { Selection } from "./search";

export interface Draft {
  /** Null until the user chooses (or records are checked): nothing is preselected that could mail more than meant. */
  scope: ScopeKind | null;
  mailFields: string[];
  templateId: string | null;
  subject: string;
  body: string;
  recordAttachmentIds: number[];
  uploads: UploadedFile[];
  zip: boolean;
  zipPassword: string;
  zipEncryption: ZipEncryption;
  phase: string | null;
  phaseMemo: string;
  logActivity: boolean;
  /** On reply (返信があったら): the phase set on the replying record's (or its process's) row, null for none. */
  replyPhase: string | null;
  /** On reply: the reply is logged as an activity. */
  replyLogActivity: boolean;
  /** The opt-out footer (特定電子メール法): null = the mode's default (on for the newsletter modes). */
  optOutFooter: boolean | null;
}

/** The server's default for the opt-out footer: on for the newsletter modes (Resumes, Recruiters), off otherwise (docs/opt-out.md). */
export const footerDefault = (mode: MailingMode): boolean => mode === "Resumes" || mode === "Recruiters";

export function initialDraft(selection: Selection): Draft {
  return {
    scope: selection.checkedIds.length > 0 ? "Checked" : null,
    mailFields: [],
    templateId: null,
    subject: "",
    body: "",
    recordAttachmentIds: [],
    uploads: [],
    zip: false,
    zipPassword: "",
    zipEncryption: "Aes256",
    phase: null,
    phaseMemo: "",
    logActivity: false,
    replyPhase: null,
    replyLogActivity: false,
    optOutFooter: null,
  };
}

/** The request's scope; with no scope chosen, no ids (the pane does not send then). */
export function scopeOf(kind: ScopeKind | null, selection: Selection): MailingRequest["scope"] {
  if (kind === null) return { kind: "Checked", ids: [] };
  if (kind === "All") return { kind, query: { keywords: selection.query.keywords, condition: selection.query.condition }, ids: null };
  return { kind, ids: kind === "Checked" ? selection.checkedIds : selection.displayedIds };
}

export function scopeCount(kind: ScopeKind | null, selection: Selection): number {
  if (kind === null) return 0;
  return kind === "All" ? selection.total : kind === "Checked" ? selection.checkedIds.length : selection.displayedIds.length;
}

export function buildRequest(
  mode: MailingMode,
  anchorId: number | null,
  selection: Selection,
  d: Draft,
  extra: Partial<MailingRequest> = {},
): MailingRequest {
  const hasFiles = d.recordAttachmentIds.length > 0 || d.uploads.length > 0;
  return {
    mode,
    anchorId,
    scope: scopeOf(d.scope, selection),
    mailFields: d.mailFields,
    templateId: null,
    subject: d.subject,
    body: d.body,
    attachments: hasFiles
      ? {
          recordAttachmentIds: d.recordAttachmentIds,
          uploadIds: d.uploads.map((u) => u.id),
          zipPassword: d.zip && d.zipPassword ? d.zipPassword : null,
          zipEncryption: d.zip && d.zipPassword ? d.zipEncryption : null,
        }
      : null,
    phase: d.phase ? { optionAlias: d.phase, memo: d.phaseMemo.trim() || null } : null,
    logActivity: d.logActivity,
    // Absent unless set: an older stored draft has neither (the server's defaults then).
    ...(d.replyPhase || d.replyLogActivity
      ? { onReply: { phase: d.replyPhase ? { optionAlias: d.replyPhase } : null, logActivity: d.replyLogActivity === true } }
      : {}),
    ...(d.optOutFooter != null ? { optOutFooter: d.optOutFooter } : {}),
    ...extra,
  };
}

export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  const bytes = new Uint8Array(16);
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Makes HTML from Outlook or a template safe to edit inside the pane: the body's content only, no scripts or styles. */
export function sanitizeHtml(html: string): string {
  if (!html) return "";
  const doc = new DOMParser().parseFromString(html, "text/html");
  doc.querySelectorAll("script,style,link,meta,title,iframe,object,embed,base").forEach((n) => n.remove());
  doc.querySelectorAll("*").forEach((el) => {
    for (const a of Array.from(el.attributes)) {
      if (/^on/i.test(a.name) || (/^(href|src)$/i.test(a.name) && /^\s*javascript:/i.test(a.value))) el.removeAttribute(a.name);
    }
  });
  return doc.body.innerHTML.trim();
}

/** Whether the draft holds work that would be lost (asks before discarding it, keeps it over a reload). */
export function isDirty(d: Draft): boolean {
  return (
    d.subject.trim() !== "" ||
    d.body.replace(/<[^>]*>/g, "").trim() !== "" ||
    d.uploads.length > 0 ||
    d.recordAttachmentIds.length > 0 ||
    d.phase !== null ||
    (d.replyPhase ?? null) !== null ||
    d.zipPassword !== ""
  );
}
