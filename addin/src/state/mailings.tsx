// The user's mailings, kept live: the list from GET /api/mailings, and each unfinished mailing followed through
// its server-sent events. Drives the header indicator and the status screen.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { controlMailing, followMailing, listMailings } from "../api/client";
import { isFinished, isRunning, type MailingAction, type MailingStatus } from "../api/types";

export type IndicatorState = "idle" | "running" | "paused" | "done";

export interface MailingsState {
  mailings: MailingStatus[];
  loading: boolean;
  error: unknown;
  refresh: () => Promise<void>;
  /** Starts following a mailing just submitted. */
  track: (id: string, state?: MailingStatus["state"]) => void;
  act: (id: string, action: MailingAction) => Promise<void>;
  indicator: { state: IndicatorState; done: number; total: number; sent: number };
}

const Ctx = createContext<MailingsState | null>(null);

export function useMailings(): MailingsState {
  const v = useContext(Ctx);
  if (!v) throw new Error("useMailings outside MailingsProvider");
  return v;
}

const processed = (m: MailingStatus) => m.total - m.pending;

export function summarize(mailings: MailingStatus[]): MailingsState["indicator"] {
  const running = mailings.filter((m) => isRunning(m.state));
  const paused = mailings.filter((m) => m.state === "Paused");
  const active = running.length > 0 ? running : paused;
  if (active.length > 0) {
    return {
      state: running.length > 0 ? "running" : "paused",
      done: active.reduce((a, m) => a + processed(m), 0),
      total: active.reduce((a, m) => a + m.total, 0),
      sent: active.reduce((a, m) => a + m.sent, 0),
    };
  }
  const latest = mailings[0];
  if (latest && isFinished(latest.state)) {
    return { state: "done", done: processed(latest), total: latest.total, sent: latest.sent };
  }
  return { state: "idle", done: 0, total: 0, sent: 0 };
}

export function MailingsProvider({ children }: { children: ReactNode }) {
  const [mailings, setMailings] = useState<MailingStatus[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const followers = useRef(new Map<string, () => void>());

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
      for (const m of list) if (!isFinished(m.state)) follow(m.id);
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

  const track = useCallback(
    (id: string, state: MailingStatus["state"] = "Preparing") => {
      setMailings((list) =>
        list.some((m) => m.id === id)
          ? list
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
                subject: "",
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

  const indicator = useMemo(() => summarize(mailings), [mailings]);
  const value = useMemo<MailingsState>(
    () => ({ mailings, loading, error, refresh, track, act, indicator }),
    [mailings, loading, error, refresh, track, act, indicator],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}
