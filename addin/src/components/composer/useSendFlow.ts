import { useEffect, useMemo, useState } from "react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { controlMailing, followMailing, previewMailing, startMailing, submitMailing, testSend } from "../../api/client";
import type { TemplateError } from "../../api/client";
import type { HrbcPhase, HrbcRecord, MailingMode, MailingRequest, MailingStatus, PreviewResponse, StartRequest } from "../../api/types";
import { confirmFacts, nearMissesOf, sentScope, type SentScope } from "../../model/composer";
import { newIdempotencyKey, type Draft } from "../../model/draft";
import { clearDraft } from "../../model/draftStore";
import { placeholderStatus } from "../../model/mailings";
import type { Selection } from "../../model/search";
import { useMailings } from "../../state/mailings";
import {
  initialSchedule,
  isScheduled,
  localScheduleErrors,
  scheduleErrorsOf,
  startRequest,
  undoDeadline,
  type ScheduleDraft,
  type ScheduleErrors,
} from "../../model/schedule";
import { fetchServerHolds, useServerFeatures } from "../../state/queries";
import { keys } from "../../state/queryClient";
import type { ConfirmFacts, ScheduleProps } from "../ConfirmDialog";

/** A started mailing still inside its undo window: when it closes (this browser's clock, counted from the server's). */
export interface UndoWindow {
  deadline: number;
  subject: string;
  /** The mail as it was started: Undo reopens it with everything kept. */
  mode: MailingMode;
  anchor: HrbcRecord | null;
  selection: Selection;
  draft: Draft;
}

/** A value that settles: the last one after `ms` without a change (the dry run waits until the user stops typing). */
function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const h = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(h);
  }, [value, ms]);
  return settled;
}

const DRY_RUN_DEBOUNCE_MS = 400;

type ConfirmBase = Omit<ConfirmFacts, "held" | "preview">;
/** A submit refused only for near-miss tag spellings: the question, and what "send as typed" resends. */
export type NearMiss = { error: unknown; spellings: TemplateError[]; request: MailingRequest; base: ConfirmBase };
type Confirm = { key: string; base: Omit<ConfirmFacts, "held" | "preview">; first: MailingStatus | null; preview: PreviewResponse | null; request: MailingRequest; heldId: string | null };

/** The held mailing as the server counts it: followed by its events while the confirmation is open. */
function useHeldStatus(id: string | null): MailingStatus | undefined {
  const qc = useQueryClient();
  // The event stream is the external system; each status goes into the cache under the mailing's key.
  useEffect(() => {
    if (!id) return;
    return followMailing(id, (st) => qc.setQueryData(keys.mailing(id), st));
  }, [id, qc]);
  return useQuery<MailingStatus>({ queryKey: keys.mailing(id ?? ""), queryFn: () => Promise.reject(new Error("followed, not fetched")), enabled: false }).data;
}

export interface SendFlowArgs {
  mode: MailingMode;
  anchor: HrbcRecord | null;
  selection: Selection;
  draft: Draft;
  request: MailingRequest;
  phases: readonly HrbcPhase[];
  /** The pane's own check of the draft: false when it marked a field. */
  check: () => boolean;
  /** A failed call: shown, and the fields it names marked. */
  fail: (e: unknown) => void;
  clearMessages: () => void;
  onNotice: (text: string) => void;
  testSentText: (to: string) => string;
  /** Started (or submitted). `undo` while the undo window is open (with the mail, for Undo to reopen it). */
  onSubmitted: (id: string, sent: SentScope, undo: UndoWindow | null) => void;
  badTimeText: string;
  badUndoText: string;
}

/** Preview, test send, and the confirmed send: held by the server until Yes (exact figures), or confirmed from a
 * fresh preview on a server without the hold flow. Every call is a mutation; sending refreshes "my mailings". */
export function useSendFlow(a: SendFlowArgs) {
  const qc = useQueryClient();
  const mailings = useMailings();
  const [busy, setBusy] = useState<null | "preview" | "test" | "send">(null);
  const [preview, setPreview] = useState<{ response: PreviewResponse; request: MailingRequest } | null>(null);
  const [confirm, setConfirm] = useState<Confirm | null>(null);
  const [nearMiss, setNearMiss] = useState<NearMiss | null>(null);

  const previewM = useMutation({ mutationFn: (r: MailingRequest) => previewMailing(r) });
  const testM = useMutation({ mutationFn: (r: MailingRequest) => testSend(r) });
  const holdM = useMutation({ mutationFn: (r: MailingRequest) => submitMailing({ ...r, hold: true }) });
  const submitM = useMutation({ mutationFn: (r: MailingRequest) => submitMailing(r) });
  const startM = useMutation({ mutationFn: ({ id, body }: { id: string; body: StartRequest }) => startMailing(id, body) });
  const cancelM = useMutation({
    mutationFn: (id: string) => controlMailing(id, "cancel"),
    onSettled: () => qc.invalidateQueries({ queryKey: keys.mailings }),
  });
  const held = useHeldStatus(confirm?.heldId ?? null);
  const features = useServerFeatures();
  const [schedule, setSchedule] = useState<ScheduleDraft>(() => initialSchedule());
  const settled = useDebounced(schedule, DRY_RUN_DEBOUNCE_MS);
  const localErrors = useMemo(() => localScheduleErrors(schedule, { badTime: a.badTimeText, badUndo: a.badUndoText }), [schedule, a.badTimeText, a.badUndoText]);
  const settledBody = useMemo(() => startRequest(settled), [settled]);
  const heldReady = confirm?.heldId != null && held?.state === "Ready";
  const canSchedule = features?.schedule === true && confirm?.heldId != null;
  // The finish time of the schedule being edited: the server's dry run (changes nothing), asked once the edits settle.
  const dryRun = useQuery<MailingStatus>({
    queryKey: keys.dryRun(confirm?.heldId ?? "", settledBody),
    queryFn: ({ signal }) => startMailing(confirm!.heldId!, { ...settledBody, dryRun: true }, signal).then((r) => r.value),
    enabled: canSchedule && heldReady && isScheduled(settled) && Object.keys(localScheduleErrors(settled, { badTime: "" })).length === 0,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });

  const runPreview = async (): Promise<PreviewResponse | null> => {
    a.clearMessages();
    try {
      const p = await previewM.mutateAsync(a.request);
      setPreview({ response: p, request: a.request });
      return p;
    } catch (e) {
      a.fail(e);
      return null;
    }
  };

  const onPreview = async (): Promise<boolean> => {
    if (!a.draft.scope || a.draft.mailFields.length === 0) {
      a.check();
      return false;
    }
    setBusy("preview");
    const p = await runPreview();
    setBusy(null);
    return p !== null;
  };

  const onTest = async () => {
    if (!a.check()) return;
    setBusy("test");
    a.clearMessages();
    try {
      const r = await testM.mutateAsync(a.request);
      a.onNotice(a.testSentText(r.to));
    } catch (e) {
      a.fail(e);
    } finally {
      setBusy(null);
    }
  };

  const onSend = async () => {
    if (!a.check()) return;
    setBusy("send");
    a.clearMessages();
    const base = confirmFacts(a.anchor, a.draft, a.phases, a.mode);
    const key = newIdempotencyKey();
    setSchedule(initialSchedule());
    startM.reset();
    submitM.reset();
    try {
      if (await fetchServerHolds(qc)) {
        await submitHeld({ ...a.request, hold: true, idempotencyKey: key }, base);
      } else {
        const p = await previewM.mutateAsync(a.request);
        setPreview({ response: p, request: a.request });
        setConfirm({ key, base, first: null, preview: p, request: a.request, heldId: null });
      }
    } catch (e) {
      const spellings = nearMissesOf(e);
      // Only near-miss spellings refused: ask, and "send as typed" resubmits this same request with them allowed.
      if (spellings) setNearMiss({ error: e, spellings, request: { ...a.request, hold: true, idempotencyKey: key }, base });
      else a.fail(e);
    } finally {
      setBusy(null);
    }
  };

  /** Hold: the server prepares the mailing and stops at Ready, so every number in the dialog is exact. */
  const submitHeld = async (request: MailingRequest, base: ConfirmBase) => {
    const r = await holdM.mutateAsync(request);
    mailings.hold(r.id);
    const first = placeholderStatus(r.id, { mode: a.mode, state: r.state, subject: a.draft.subject, createdAt: new Date().toISOString() });
    setConfirm({ key: request.idempotencyKey ?? "", base, first, preview: null, request, heldId: r.id });
  };

  const onSendAsTyped = async () => {
    if (!nearMiss) return;
    const { request, base } = nearMiss;
    setNearMiss(null);
    setBusy("send");
    try {
      await submitHeld({ ...request, allowNearMissTags: true }, base);
    } catch (e) {
      a.fail(e);
    } finally {
      setBusy(null);
    }
  };

  const onFixNearMiss = () => {
    const e = nearMiss?.error;
    setNearMiss(null);
    if (e) a.fail(e);
  };

  const onYes = async () => {
    if (!confirm) return;
    try {
      let id: string;
      let state: MailingStatus["state"];
      let undo: UndoWindow | null = null;
      if (confirm.heldId) {
        if (canSchedule && Object.keys(localErrors).length > 0) return;
        const r = await startM.mutateAsync({ id: confirm.heldId, body: canSchedule ? startRequest(schedule) : {} });
        id = confirm.heldId;
        state = r.value.state ?? "Queued";
        const deadline = undoDeadline(r.value.undoUntil, r.serverNow, r.receivedAt);
        if (deadline !== null && deadline > Date.now()) undo = { deadline, subject: a.draft.subject, mode: a.mode, anchor: a.anchor, selection: a.selection, draft: a.draft };
      } else {
        const r = await submitM.mutateAsync({ ...confirm.request, idempotencyKey: confirm.key });
        id = r.id;
        state = r.state;
      }
      // Into "my mailings" at once, followed live; the list is fetched again.
      mailings.track(id, state, a.draft.subject);
      setConfirm(null);
      // Started: no longer an unsent mail over a reload. Inside the undo window the App keeps it in memory for Undo.
      clearDraft();
      a.onSubmitted(id, sentScope(a.draft.scope, a.selection), undo);
    } catch {
      /* shown in the dialog (the mutation's error) */
    }
  };

  const onNo = () => {
    const heldId = confirm?.heldId;
    setConfirm(null);
    // A held mailing never sends without start; cancelling it just tidies the list (it stays out of "my mailings").
    if (heldId) cancelM.mutate(heldId);
  };

  const facts: ConfirmFacts | null = confirm
    ? { ...confirm.base, held: confirm.first ? { ...confirm.first, ...(held ?? {}) } : null, preview: confirm.preview }
    : null;

  // Problems with the schedule, next to the control each names: the pane's own, the dry run's (for the schedule
  // shown), and Start's.
  const dryRunCurrent = dryRun.isError && settled === schedule;
  const scheduleErrors: ScheduleErrors = { ...(dryRunCurrent ? scheduleErrorsOf(dryRun.error) : {}), ...scheduleErrorsOf(startM.error), ...localErrors };
  const scheduleProps: ScheduleProps | null = canSchedule
    ? {
        value: schedule,
        onChange: (patch) => {
          startM.reset();
          setSchedule((v) => ({ ...v, ...patch }));
        },
        errors: scheduleErrors,
        outcome: isScheduled(schedule) && !dryRun.isError ? (dryRun.data ?? null) : null,
        checking: isScheduled(schedule) && (settled !== schedule || dryRun.isFetching),
        blocked: Object.keys(scheduleErrors).length > 0 || (isScheduled(schedule) && (settled !== schedule || dryRun.isFetching)),
        scheduled: isScheduled(schedule),
      }
    : null;
  const scheduleProblem = Object.keys(scheduleErrorsOf(startM.error)).length > 0;

  return {
    busy,
    preview,
    facts,
    schedule: scheduleProps,
    submitting: startM.isPending || submitM.isPending,
    // A dry run refused for a reason that is not one control's (e.g. the mailing is no longer Ready), and Start's.
    confirmError: (scheduleProblem ? null : startM.error) ?? submitM.error ?? (dryRunCurrent && Object.keys(scheduleErrorsOf(dryRun.error)).length === 0 ? dryRun.error : null),
    onPreview,
    onTest,
    onSend,
    onYes,
    onNo,
    nearMiss,
    onSendAsTyped,
    onFixNearMiss,
  };
}
