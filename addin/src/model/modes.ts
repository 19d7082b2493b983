// The six bulk-mail modes (docs/architecture.md, Modes) and what each allows, as the task pane needs them.
import type { FieldResource, ListResource, MailingMode, PhaseResource } from "../api/types";

export type AnchorKind = "job" | "resume";

export interface ModeInfo {
  mode: MailingMode;
  /** The records searched and picked (one mail per record and ticked field). */
  list: ListResource;
  /** The record the matching list started from. */
  anchor: AnchorKind | null;
  /** Whose mail fields are ticked. */
  recipient: FieldResource;
  /** True when every mail goes to the anchor's side (one person). */
  recipientIsAnchor: boolean;
  /** Whether the anchor record's HRBC files may be attached. */
  anchorAttachments: boolean;
  /** Which phase options the phase picker lists. */
  phaseResource: PhaseResource;
  /** Resources whose fields the templates of this mode may use as tags (besides User.P_Name / User.P_Mail). */
  tagResources: FieldResource[];
}

const MATCHING_TAGS: FieldResource[] = ["Resume", "Candidate", "Job", "Client", "Recruiter"];

export const MODES: Record<MailingMode, ModeInfo> = {
  Resumes: {
    mode: "Resumes",
    list: "resumes",
    anchor: null,
    recipient: "Resume",
    recipientIsAnchor: false,
    anchorAttachments: false,
    phaseResource: "Resume",
    tagResources: ["Resume", "Candidate"],
  },
  Recruiters: {
    mode: "Recruiters",
    list: "recruiters",
    anchor: null,
    recipient: "Recruiter",
    recipientIsAnchor: false,
    anchorAttachments: false,
    phaseResource: "Recruiter",
    tagResources: ["Recruiter", "Client"],
  },
  JobToResumes: {
    mode: "JobToResumes",
    list: "resumes",
    anchor: "job",
    recipient: "Resume",
    recipientIsAnchor: false,
    anchorAttachments: true,
    phaseResource: "Process",
    tagResources: MATCHING_TAGS,
  },
  ResumesToRecruiter: {
    mode: "ResumesToRecruiter",
    list: "resumes",
    anchor: "job",
    recipient: "Recruiter",
    recipientIsAnchor: true,
    anchorAttachments: false,
    phaseResource: "Process",
    tagResources: MATCHING_TAGS,
  },
  JobsToResume: {
    mode: "JobsToResume",
    list: "jobs",
    anchor: "resume",
    recipient: "Resume",
    recipientIsAnchor: true,
    anchorAttachments: false,
    phaseResource: "Process",
    tagResources: MATCHING_TAGS,
  },
  ResumeToRecruiters: {
    mode: "ResumeToRecruiters",
    list: "jobs",
    anchor: "resume",
    recipient: "Recruiter",
    recipientIsAnchor: false,
    anchorAttachments: true,
    phaseResource: "Process",
    tagResources: MATCHING_TAGS,
  },
};

/** The modes the bulk-action menu offers where the user is: exactly those of the mode table (docs/architecture.md, Modes). */
export function modesFor(list: ListResource, anchor: AnchorKind | null): MailingMode[] {
  return (Object.values(MODES) as ModeInfo[]).filter((m) => m.list === list && m.anchor === anchor).map((m) => m.mode);
}

export const USER_TAGS = ["User.P_Name", "User.P_Mail"] as const;
