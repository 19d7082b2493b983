// JSON shapes of the BulkMail API (ARCHITECTURE §5), as served by /openapi/v1.json. camelCase throughout.

export type ListResource = "resumes" | "jobs" | "recruiters";
/** Field-metadata resources (GET /api/hrbc/{resource}/fields). Candidate = the person behind a resume (Person.*). */
export type FieldResource = "Resume" | "Job" | "Recruiter" | "Client" | "Process" | "Candidate";
export type PhaseResource = "Process" | "Resume" | "Recruiter" | "Job";

export type MailingMode =
  | "Resumes"
  | "Recruiters"
  | "JobToResumes"
  | "ResumesToRecruiter"
  | "JobsToResume"
  | "ResumeToRecruiters";

export type MailingState = "Preparing" | "Queued" | "Sending" | "Paused" | "Completed" | "Cancelled" | "Failed";

export type ScopeKind = "All" | "Displayed" | "Checked";
export type ZipEncryption = "Aes256" | "ZipCrypto";

export interface HrbcListItem {
  id: number;
  name: string;
  subtitle: string | null;
  fields: Record<string, string | null>;
}

export interface HrbcListResponse {
  resource: string;
  total: number;
  start: number;
  count: number;
  items: HrbcListItem[];
}

export interface HrbcAttachment {
  id: number;
  fileName: string;
  contentType: string;
  /** Not served yet; shown when present. */
  size?: number;
}

export interface HrbcRecord extends HrbcListItem {
  resource: string;
  attachments: HrbcAttachment[];
}

export interface HrbcField {
  alias: string;
  label: string;
  type: string;
  typeCode: number;
  required: boolean;
  isMail: boolean;
  referTo: string | null;
}

export interface HrbcPhase {
  alias: string;
  name: string;
  id: number;
  order: number;
  resource: string;
}

export interface SearchQuery {
  keywords?: string;
  condition?: string;
}

export interface SavedTemplate {
  id: string;
  owner: string;
  name: string;
  mode: MailingMode | null;
  subject: string;
  body: string;
  createdAt: string;
  updatedAt: string;
}

export interface TemplateRequest {
  name: string;
  mode: MailingMode | null;
  subject: string;
  body: string;
}

export interface UploadedFile {
  id: string;
  name: string;
  size: number;
}

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
  /** The user confirmed the NearMissTag spellings the preview warned about; without it submit refuses them (400). */
  allowNearMissTags?: boolean;
}

export interface MailFieldCount {
  alias: string;
  label: string;
  count: number;
}

export interface PreviewMessage {
  seq: number;
  recordId: number;
  recordName: string | null;
  /** Whom the message is addressed to (the To line; Graph's toRecipients name): the candidate or recruiter per mode. */
  recipientName?: string | null;
  mailField: string | null;
  address: string | null;
  subject: string;
  htmlBody: string;
  emptyTags: string[];
}

export interface PreviewWarning {
  code: string;
  message: string;
  count: number;
  examples: string[];
  /** NearMissTag: `found` (as typed, e.g. ｛｛Person.P_Name｝｝) and `suggestion` (e.g. {{Person.P_Name}}). */
  args?: Record<string, string> | null;
  /** NearMissTag: where each occurrence is (visible line and column). */
  places?: { part: string; line: number | null; column: number | null }[] | null;
}

/** Being added to the API: what the confirmation dialog states. Optional: older servers omit it. */
export interface PreviewConfirmation {
  messages?: number;
  phaseUpdates?: number;
  phaseName?: string | null;
  attachments?: { name: string; size?: number }[];
  zipped?: boolean;
}

export interface PreviewResponse {
  records: number;
  scopeTotal: number;
  complete: boolean;
  messages: number;
  skipped: number;
  mailFields: MailFieldCount[];
  samples: PreviewMessage[];
  warnings: PreviewWarning[];
  confirmation?: PreviewConfirmation | null;
}

export interface TestSendResponse {
  to: string;
  subject: string;
  recordId: number;
}

export interface SubmitResponse {
  id: string;
  state: MailingState;
}

export interface MailingStatus {
  id: string;
  mode: MailingMode;
  state: MailingState;
  total: number;
  sent: number;
  failed: number;
  skipped: number;
  bounced: number;
  pending: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  etaSeconds: number | null;
  pausedReason: string | null;
  cancelled?: number;
  subject?: string;
  waitReason?: string | null;
  resumesAt?: string | null;
}

export type MailingAction = "pause" | "resume" | "cancel" | "retry-failed";

export const RUNNING_STATES: readonly MailingState[] = ["Preparing", "Queued", "Sending"];
export const isRunning = (s: MailingState): boolean => RUNNING_STATES.includes(s);
export const isFinished = (s: MailingState): boolean => s === "Completed" || s === "Cancelled" || s === "Failed";
