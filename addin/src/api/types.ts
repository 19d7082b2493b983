// JSON shapes of the BulkMail API. Responses are the generated types of the API's OpenAPI document (schema.d.ts,
// written by openapi-typescript from openapi.json; never edited by hand), under the names the pane has always used.
// Requests keep the pane's stricter shapes, checked below to be assignable to what the API accepts.
import type { components } from "./schema";

type Schemas = components["schemas"];

export type ListResource = "resumes" | "jobs" | "recruiters";
/** Field-metadata resources (GET /api/hrbc/{resource}/fields). Candidate = the person behind a resume (Person.*). */
export type FieldResource = "Resume" | "Job" | "Recruiter" | "Client" | "Process" | "Candidate";
export type PhaseResource = "Process" | "Resume" | "Recruiter" | "Job";

export type MailingMode = Schemas["MailingMode"];
export type MailingState = Schemas["MailingState"];
export type DeliveryStatus = Schemas["DeliveryStatus"];

export type ScopeKind = "All" | "Displayed" | "Checked";
export type ZipEncryption = "Aes256" | "ZipCrypto";

// codes (translated by ../i18n/codes.ts)
export type ProblemCode = Schemas["ProblemCode"];
export type TemplateErrorCode = Schemas["TemplateErrorCode"];
export type ReasonCode = Schemas["ReasonCode"];
export type WaitCode = Schemas["WaitCode"];
export type PausedCode = Schemas["PausedCode"];
export type PhaseUpdateCode = Schemas["PhaseUpdateCode"];
export type CodedText = Schemas["CodedText"];
export type Problem = Schemas["Problem"];

export type HrbcListItem = Schemas["HrbcListItem"];
export type HrbcListResponse = Schemas["HrbcListResponse"];
export type HrbcAttachment = Schemas["HrbcAttachmentDto"] & {
  /** Not served yet; shown when present. */
  size?: number;
};
export type HrbcRecord = Omit<Schemas["HrbcRecordResponse"], "attachments"> & { attachments: HrbcAttachment[] };
export type HrbcField = Schemas["HrbcFieldDto"];
export type HrbcPhase = Schemas["HrbcPhaseDto"];

export interface SearchQuery {
  keywords?: string;
  condition?: string;
}

export type SavedTemplate = Schemas["SavedTemplate"];

export interface TemplateRequest {
  name: string;
  mode: MailingMode | null;
  subject: string;
  body: string;
}

export type UploadedFile = Pick<Schemas["UploadInfo"], "id" | "name" | "size">;

export interface MailingRequest {
  mode: MailingMode;
  anchorId?: number | null;
  scope: { kind: ScopeKind; query?: SearchQuery | null; ids?: number[] | null };
  mailFields: string[];
  templateId?: string | null;
  subject: string;
  body: string;
  attachments?: {
    recordAttachmentIds: number[];
    uploadIds: string[];
    zipPassword: string | null;
    zipEncryption: ZipEncryption | null;
  } | null;
  phase?: { optionAlias: string; memo: string | null } | null;
  logActivity?: boolean;
  idempotencyKey?: string;
  /** Preview only: render the messages of this record. */
  previewRecordId?: number | null;
  /** Hold flow: prepare (count, expand) and stop at Ready; POST /api/mailings/{id}/start sends it. */
  hold?: boolean;
  /** The user confirmed the NearMissTag spellings the preview warned about; without it submit refuses them (400). */
  allowNearMissTags?: boolean;
  /** On reply (返信があったら): the phase set on the replying record (or its process) and whether the reply is logged. */
  onReply?: { phase?: { optionAlias: string } | null; logActivity?: boolean } | null;
  /** The opt-out footer (特定電子メール法); absent = the server's default for the mode (docs/opt-out.md). */
  optOutFooter?: boolean | null;
}

export type MailFieldCount = Schemas["MailFieldCount"];
export type PreviewMessage = Schemas["PreviewMessage"];
export type PreviewWarning = Schemas["PreviewWarning"];
export type SkippedRecord = Schemas["SkippedRecord"];
export type MatchConditions = Schemas["MatchConditions"];
export type MatchCondition = Schemas["MatchCondition"];
export type PreviewConfirmation = Schemas["Confirmation"];
export type PreviewResponse = Schemas["PreviewResponse"];
export type TestSendResponse = Schemas["TestSendResponse"];
export type SubmitResponse = Schemas["SubmitResponse"];
export type MailingStatus = Schemas["MailingStatus"];

export type MailingAction = "pause" | "resume" | "cancel" | "retry-failed";

// Scheduling and undo (issue 13): the status's sendAt/window/undoUntil are in MailingStatus; the start body is the pane's.
export type WeekDay = "Mon" | "Tue" | "Wed" | "Thu" | "Fri" | "Sat" | "Sun";
export const WEEK_DAYS: readonly WeekDay[] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
export const isWeekDay = (d: string): d is WeekDay => (WEEK_DAYS as readonly string[]).includes(d);
/** A sending window as the status shows it (days as the API names them). */
export type SendingWindow = Schemas["SendingWindow"];
/** A sending window as the pane asks for it: only on these days, from–to (local "HH:mm"), optionally not on holidays. */
export interface SendWindow {
  days: WeekDay[];
  from: string;
  to: string;
  timeZone: string;
  skipHolidays: boolean;
}
/** POST /api/mailings/{id}/start body. */
export interface StartRequest {
  sendAt?: string | null;
  window?: SendWindow | null;
  undoSeconds?: number;
  dryRun?: boolean;
}

// Replies and bounces (issue 13): GET /api/mailings/{id}/deliveries
export type DeliveriesFilter = "replied" | "bounced" | "all";
export type DeliveryItem = Schemas["DeliveryItem"];
export type DeliveriesPage = Schemas["DeliveriesPage"];

// The pane's requests are what the API accepts (tsc fails here when the API's request shapes change incompatibly).
type Accepts<Api, Pane extends Api> = Pane;
export type CheckedRequests = [
  Accepts<Schemas["MailingRequest"], MailingRequest>,
  Accepts<Schemas["TemplateRequest"], TemplateRequest>,
  Accepts<Schemas["StartRequest"], StartRequest>,
];

export const RUNNING_STATES: readonly MailingState[] = ["Preparing", "Scheduled", "Queued", "Sending"];
export const isRunning = (s: MailingState): boolean => RUNNING_STATES.includes(s);
export const isFinished = (s: MailingState): boolean => s === "Completed" || s === "Cancelled" || s === "Failed";
