// The user's mailings, kept live: the list is a query (GET /api/mailings) and each unfinished mailing is followed
// through its server-sent events (polling when the stream fails), each status written into that query's data.
// Drives the header indicator and the status screen.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { controlMailing, deleteMailing, followMailing, listMailings } from "../api/client";
import { isFinished, type MailingAction, type MailingStatus } from "../api/types";
import { followedIds, summarize, trackStatus, upsertStatus, visibleMailings, type Indicator, type LiveStatus } from "../model/mailings";
import { keys } from "./queryClient";

export { decidedOf, messagesOf, summarize, visibleMailings, type IndicatorState } from "../model/mailings";

export interface MailingsState {
  mailings: LiveStatus[];
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
  indicator: Indicator;
}

const Ctx = createContext<MailingsState | null>(null);

export function useMailings(): MailingsState {
  const v = useContext(Ctx);
  if (!v) throw new Error("useMailings outside MailingsProvider");
  return v;
}

const stamp = (s: MailingStatus, at: number): LiveStatus => ({ ...s, receivedAt: at });
const EMPTY: LiveStatus[] = [];

export function MailingsProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const list = useQuery({
    queryKey: keys.mailings,
    queryFn: async ({ signal }) => {
      const mailings = await listMailings(signal);
      const at = Date.now();
      return mailings.map((m) => stamp(m, at));
    },
  });
  const mailings = list.data ?? EMPTY;
  const followers = useRef(new Map<string, () => void>());
  const [held, setHeld] = useState<ReadonlySet<string>>(new Set());

  /** A live status into the list's cache; a finished mailing is no longer followed. */
  const upsert = useCallback(
    (s: MailingStatus) => {
      qc.setQueryData<LiveStatus[]>(keys.mailings, (old) => upsertStatus(old ?? [], stamp(s, Date.now())));
      if (isFinished(s.state)) {
        followers.current.get(s.id)?.();
        followers.current.delete(s.id);
      }
    },
    [qc],
  );

  const follow = useCallback(
    (id: string) => {
      if (followers.current.has(id)) return;
      followers.current.set(id, followMailing(id, upsert));
    },
    [upsert],
  );

  // Every mailing that can still change is followed (the stream is the external system this effect subscribes to).
  const live = followedIds(mailings).join(",");
  useEffect(() => {
    for (const id of live ? live.split(",") : []) follow(id);
  }, [live, follow]);
  useEffect(() => {
    const map = followers.current;
    return () => {
      for (const stop of map.values()) stop();
      map.clear();
    };
  }, []);

  const refresh = useCallback(() => qc.invalidateQueries({ queryKey: keys.mailings }), [qc]);

  const hold = useCallback((id: string) => setHeld((h) => new Set(h).add(id)), []);

  const track = useCallback(
    (id: string, state: MailingStatus["state"] = "Preparing", subject?: string) => {
      setHeld((h) => {
        if (!h.has(id)) return h;
        const next = new Set(h);
        next.delete(id);
        return next;
      });
      const now = new Date();
      qc.setQueryData<LiveStatus[]>(keys.mailings, (old) => trackStatus(old ?? [], id, state, subject, now.toISOString()));
      follow(id);
      void refresh();
    },
    [qc, follow, refresh],
  );

  const act = useCallback(
    async (id: string, action: MailingAction) => {
      const result = await controlMailing(id, action);
      if (result && typeof result === "object" && "state" in result) upsert(result);
      // Resuming or retrying makes it run again: follow it anew.
      followers.current.get(id)?.();
      followers.current.delete(id);
      follow(id);
    },
    [follow, upsert],
  );

  const deletion = useMutation({
    mutationFn: (id: string) => deleteMailing(id),
    onSuccess: (_, id) => {
      followers.current.get(id)?.();
      followers.current.delete(id);
      qc.setQueryData<LiveStatus[]>(keys.mailings, (old) => (old ?? []).filter((m) => m.id !== id));
      qc.removeQueries({ queryKey: keys.mailing(id) });
      return qc.invalidateQueries({ queryKey: keys.mailings });
    },
  });
  const remove = deletion.mutateAsync;

  const shown = useMemo(() => visibleMailings(mailings, held), [mailings, held]);
  const indicator = useMemo(() => summarize(shown), [shown]);
  const loading = list.isPending;
  const error = list.error;
  const value = useMemo<MailingsState>(
    () => ({ mailings: shown, loading, error, refresh, track, hold, act, remove, indicator }),
    [shown, loading, error, refresh, track, hold, act, remove, indicator],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}
