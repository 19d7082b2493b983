// The user's mailings, kept live: the list is a query (GET /api/mailings), and while any of them can still change one
// stream of server-sent events (GET /api/mailings/events) pushes every status that changes, each written into that
// query's data (the list read again when the stream fails). Drives the header indicator and the status screen.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { controlMailing, deleteMailing, followMyMailings, listMailings } from "../api/client";
import { isFinished, type MailingAction, type MailingStatus } from "../api/types";
import { followedIds, mergeListed, summarize, trackStatus, upsertStatus, visibleMailings, type Indicator, type LiveStatus } from "../model/mailings";
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
      const askedAt = Date.now();
      const mailings = await listMailings(signal);
      return mergeListed(mailings, qc.getQueryData<LiveStatus[]>(keys.mailings) ?? [], askedAt, Date.now());
    },
  });
  const mailings = list.data ?? EMPTY;
  const [held, setHeld] = useState<ReadonlySet<string>>(new Set());
  // Bumped to open the stream again: the server follows the mailings that were unfinished when it opened, and new ones.
  const [opening, setOpening] = useState(0);

  /** A live status into the list's cache. */
  const upsert = useCallback(
    (s: MailingStatus) => qc.setQueryData<LiveStatus[]>(keys.mailings, (old) => upsertStatus(old ?? [], stamp(s, Date.now()))),
    [qc],
  );

  // One stream while any mailing can still change (the stream is the external system this effect subscribes to).
  const live = followedIds(mailings).length > 0;
  useEffect(() => (live ? followMyMailings(upsert) : undefined), [live, opening, upsert]);

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
      // The open stream (or the one this opens) pushes the new mailing from the server.
      qc.setQueryData<LiveStatus[]>(keys.mailings, (old) => trackStatus(old ?? [], id, state, subject, now.toISOString()));
      void refresh();
    },
    [qc, refresh],
  );

  const act = useCallback(
    async (id: string, action: MailingAction) => {
      const before = qc.getQueryData<LiveStatus[]>(keys.mailings)?.find((m) => m.id === id);
      const result = await controlMailing(id, action);
      if (result && typeof result === "object" && "state" in result) {
        upsert(result);
        // Retrying a finished mailing makes it run again: the stream, which no longer follows it, is opened anew.
        if (before && isFinished(before.state) && !isFinished(result.state)) setOpening((n) => n + 1);
      }
    },
    [qc, upsert],
  );

  const deletion = useMutation({
    mutationFn: (id: string) => deleteMailing(id),
    onSuccess: (_, id) => {
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
