// Pure rules over the mailings' statuses: what counts as progress, which mailings "my mailings" shows, the header
// indicator, and how a live status joins the list.
import { isFinished, isRunning, type MailingMode, type MailingState, type MailingStatus } from "../api/types";

export type IndicatorState = "idle" | "running" | "scheduled" | "paused" | "done" | "cancelled" | "failed";
export interface Indicator {
  state: IndicatorState;
  done: number;
  total: number;
  sent: number;
}

/** A status as the pane holds it: `receivedAt` (epoch ms) is when it arrived, so the ETA counts down from there. */
export type LiveStatus = MailingStatus & { receivedAt?: number };

/** Messages decided (sent + failed + bounced): skips are not progress. */
export const decidedOf = (m: MailingStatus): number => m.decided ?? m.sent + m.failed + m.bounced;
/** Messages to send: the server's count, else the deliveries less the skips (a cancellation does not shrink it: a
 * cancelled mailing reads "8 of 35 done", the 27 cancelled shown apart). */
export const messagesOf = (m: MailingStatus): number => m.messages ?? Math.max(0, m.total - m.skipped);

/** Mailings the user started: held ones (Ready, or cancelled while held) are the confirmation's business. */
export const visibleMailings = <T extends MailingStatus>(list: T[], held: ReadonlySet<string> = new Set()): T[] =>
  list.filter((m) => !held.has(m.id) && m.state !== "Ready" && m.held !== true);

/** Mailings whose status can still change, and so are followed live (a held Ready one waits for the user). A finished
 * one that sent something still can: its replies and bounces come in for days (the server pushes them). */
export const followedIds = (list: MailingStatus[]): string[] =>
  list.filter((m) => (isFinished(m.state) ? m.sent > 0 : m.state !== "Ready")).map((m) => m.id);

export function summarize(all: MailingStatus[]): Indicator {
  const mailings = visibleMailings(all);
  const running = mailings.filter((m) => isRunning(m.state));
  const paused = mailings.filter((m) => m.state === "Paused");
  const active = running.length > 0 ? running : paused;
  // Only waiting for their time (or window): "scheduled", not the pulsing "sending".
  const onlyScheduled = running.length > 0 && running.every((m) => m.state === "Scheduled");
  if (active.length > 0) {
    return {
      state: onlyScheduled ? "scheduled" : running.length > 0 ? "running" : "paused",
      done: active.reduce((a, m) => a + decidedOf(m), 0),
      total: active.reduce((a, m) => a + messagesOf(m), 0),
      sent: active.reduce((a, m) => a + m.sent, 0),
    };
  }
  const latest = mailings[0];
  if (latest && isFinished(latest.state)) {
    const state = latest.state === "Cancelled" ? "cancelled" : latest.state === "Failed" ? "failed" : "done";
    return { state, done: decidedOf(latest), total: messagesOf(latest), sent: latest.sent };
  }
  return { state: "idle", done: 0, total: 0, sent: 0 };
}

/** A status merged into the list (newest first): new ones are inserted, known ones updated field by field. */
export function upsertStatus<T extends MailingStatus>(list: readonly T[], s: T): T[] {
  const i = list.findIndex((m) => m.id === s.id);
  if (i < 0) return [s, ...list].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const copy = list.slice();
  copy[i] = { ...copy[i]!, ...s };
  return copy;
}

/**
 * The list as the server read it (`listed`, received at `at`), keeping each status the pane received since it asked
 * (`askedAt`): the stream pushed it while the list was on its way, so it is at least as new, and the stream pushes
 * every change after it (a finished mailing's last status is pushed once: the list must not take it back).
 */
export function mergeListed(listed: readonly MailingStatus[], cached: readonly LiveStatus[], askedAt: number, at: number): LiveStatus[] {
  const pushed = new Map(cached.filter((m) => (m.receivedAt ?? 0) >= askedAt).map((m) => [m.id, m]));
  return listed.map((m) => pushed.get(m.id) ?? { ...m, receivedAt: at });
}

/** The status the pane shows for a mailing it has just submitted, before the server's first status arrives. */
export function placeholderStatus(
  id: string,
  { mode = "Resumes", state = "Preparing", subject = "", createdAt }: { mode?: MailingMode; state?: MailingState; subject?: string; createdAt: string },
): MailingStatus {
  return {
    id, mode, state, total: 0, sent: 0, failed: 0, skipped: 0, bounced: 0, pending: 0, createdAt, startedAt: null,
    finishedAt: null, etaSeconds: null, pausedReason: null, cancelled: 0, subject, waitReason: null, resumesAt: null,
  };
}

/** A mailing just started from the pane joins the list at once (or takes the new state if it is there already). */
export function trackStatus<T extends MailingStatus>(list: readonly T[], id: string, state: MailingState, subject: string | undefined, createdAt: string): T[] {
  return list.some((m) => m.id === id)
    ? list.map((m) => (m.id === id ? { ...m, state: isFinished(m.state) ? m.state : state, subject: m.subject || (subject ?? "") } : m))
    : [placeholderStatus(id, { state, subject, createdAt }) as T, ...list];
}

/** Seconds until an ISO time (never negative), or null. */
export const secondsUntil = (iso: string | null | undefined, now: number): number | null => {
  if (!iso) return null;
  const at = Date.parse(iso);
  return Number.isNaN(at) ? null : Math.max(0, (at - now) / 1000);
};

/** The ETA shown now: the server's estimate counted down since it arrived, never before a known wait ends; else the
 * time left until the server's finishesAt. */
export function etaSecondsAt(m: Pick<MailingStatus, "etaSeconds" | "resumesAt" | "finishesAt">, receivedAt: number, now: number): number | null {
  const waitLeft = secondsUntil(m.resumesAt, now);
  return m.etaSeconds != null
    ? Math.max(m.etaSeconds - Math.max(0, now - receivedAt) / 1000, waitLeft ?? 0)
    : (secondsUntil(m.finishesAt, now) ?? null);
}
