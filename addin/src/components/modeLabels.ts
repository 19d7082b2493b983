// Which string names each mode: the full name (menus, status) and the short one (the composer's title).
import type { MailingMode } from "../api/types";
import type { StringKey } from "../i18n";

const MODE_LABEL: Record<MailingMode, StringKey> = {
  Resumes: "modeResumes",
  Recruiters: "modeRecruiters",
  JobToResumes: "modeJobToResumes",
  ResumesToRecruiter: "modeResumesToRecruiter",
  JobsToResume: "modeJobsToResume",
  ResumeToRecruiters: "modeResumeToRecruiters",
};
export const modeLabelKey = (m: MailingMode): StringKey => MODE_LABEL[m];

const MODE_SHORT: Record<MailingMode, StringKey> = {
  Resumes: "modeShortResumes",
  Recruiters: "modeShortRecruiters",
  JobToResumes: "modeShortJobToResumes",
  ResumesToRecruiter: "modeShortResumesToRecruiter",
  JobsToResume: "modeShortJobsToResume",
  ResumeToRecruiters: "modeShortResumeToRecruiters",
};
export const modeShortKey = (m: MailingMode): StringKey => MODE_SHORT[m];
