// The user's mailings, kept live: the list from GET /api/mailings, and each unfinished mailing followed through
// its server-sent events. Drives the header indicator and the status screen.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { controlMailing, deleteMailing, followMailing, listMailings } from "../api/client";
import { isFinished, isRunning, type MailingAction, type MailingStatus } from "../api/types";

export type IndicatorState = "idle" | "running" | "paused" | "done" | "cancelled" | "failed";

export interface MailingsState {
  mailings: MailingStatus[];
  loading: boolean;
  error: unknown;
  refresh: () => Promise<void>;
  /** Starts following a mailing just submitted (its subject is the card's title from the first moment). */
  track: (id: string, state?: MailingStatus["state"], subject?: string) => void;
  /** A mailing held for the confirmation: not in "my mailings" nor the header until it is started. */
  hold: (id: string) => void;
  act: (id: string, action: MailingAction) => Promise<void>;
  /** Deletes a held or finished mailing on the server; it leaves the list once the server has removed it. */
  remove: (id: string) => Promise<void>;
  indicator: { state: IndicatorState; done: number; total: number; sent: number };
}

const Ctx = createContext<MailingsState | null>(null);

export function useMailings(): MailingsState {
  const v = useContext(Ctx);
  if (!v) throw new Error("useMailings outside MailingsProvider");
  return v;
}

/** Messages decided (sent + failed + bounced): skips are not progress. */
export const decidedOf = (m: MailingStatus): number => m.decided ?? m.sent + m.failed + m.bounced;
/** Messages to send: the server's count, else the deliveries less the skips (a cancellation does not shrink it: a
 * cancelled mailing reads "8 of 35 done", the 27 cancelled shown apart). */
export const messagesOf = (m: MailingStatus): number => m.messages ?? Math.max(0, m.total - m.skipped);

/** Mailings the user started: held ones (Ready, or cancelled while held) are the confirmation's business. */
export const visibleMailings = (list: MailingStatus[], held: ReadonlySet<string> = new Set()): MailingStatus[] =>
  list.filter((m) => !held.has(m.id) && m.state !== "Ready" && m.held !== true);

export function summarize(all: MailingStatus[]): MailingsState["indicator"] {
  const mailings = visibleMailings(all);
  const running = mailings.filter((m) => isRunning(m.state));
  const paused = mailings.filter((m) => m.state === "Paused");
  const active = running.length > 0 ? running : paused;
  if (active.length > 0) {
    return {
      state: running.length > 0 ? "running" : "paused",
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

export function MailingsProvider({ children }: { children: ReactNode }) {
  const [mailings, setMailings] = useState<MailingStatus[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const followers = useRef(new Map<string, () => void>());
  const [held, setHeld] = useState<ReadonlySet<string>>(new Set());

  const upsert = useCallback((s: MailingStatus) => {
    setMailings((list) => {
      const i = list.findIndex((m) => m.id === s.id);
      if (i < 0) return [s, ...list].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      const copy = list.slice();
      copy[i] = { ...copy[i], ...s };
      return copy;
    });
    if (isFinished(s.state)) {
      followers.current.get(s.id)?.();
      followers.current.delete(s.id);
    }
  }, []);

  const follow = useCallback(
    (id: string) => {
      if (followers.current.has(id)) return;
      followers.current.set(id, followMailing(id, upsert));
    },
    [upsert],
  );

  const refresh = useCallback(async () => {
    try {
      const list = await listMailings();
      setMailings(list);
      setError(null);
      for (const m of list) if (!isFinished(m.state) && m.state !== "Ready") follow(m.id);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  }, [follow]);

  useEffect(() => {
    void refresh();
    const map = followers.current;
    return () => {
      for (const stop of map.values()) stop();
      map.clear();
    };
  }, [refresh]);

  const hold = useCallback((id: string) => setHeld((h) => new Set(h).add(id)), []);

  const track = useCallback(
    (id: string, state: MailingStatus["state"] = "Preparing", subject?: string) => {
      setHeld((h) => {
        if (!h.has(id)) return h;
        const next = new Set(h);
        next.delete(id);
        return next;
      });
      setMailings((list) =>
        list.some((m) => m.id === id)
          ? list.map((m) => (m.id === id ? { ...m, state: isFinished(m.state) ? m.state : state, subject: m.subject || (subject ?? "") } : m))
          : [
              {
                id,
                mode: "Resumes",
                state,
                total: 0,
                sent: 0,
                failed: 0,
                skipped: 0,
                bounced: 0,
                pending: 0,
                createdAt: new Date().toISOString(),
                startedAt: null,
                finishedAt: null,
                etaSeconds: null,
                pausedReason: null,
                cancelled: 0,
                subject: subject ?? "",
                waitReason: null,
                resumesAt: null,
              },
              ...list,
            ],
      );
      follow(id);
      void refresh();
    },
    [follow, refresh],
  );

  const act = useCallback(
    async (id: string, action: MailingAction) => {
      const result = await controlMailing(id, action);
      if (result && typeof result === "object" && "state" in result) upsert(result);
      // Resuming or retrying makes it run again: follow it.
      followers.current.get(id)?.();
      followers.current.delete(id);
      follow(id);
    },
    [follow, upsert],
  );

  const remove = useCallback(async (id: string) => {
    await deleteMailing(id);
    followers.current.get(id)?.();
    followers.current.delete(id);
    setMailings((list) => list.filter((m) => m.id !== id));
  }, []);

  const shown = useMemo(() => visibleMailings(mailings, held), [mailings, held]);
  const indicator = useMemo(() => summarize(shown), [shown]);
  const value = useMemo<MailingsState>(
    () => ({ mailings: shown, loading, error, refresh, track, hold, act, remove, indicator }),
    [shown, loading, error, refresh, track, hold, act, remove, indicator],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}
