import { useEffect, useMemo, useState, type FC } from "react";
import { Button, Dialog, DialogActions, DialogBody, DialogContent, DialogSurface, DialogTitle, Spinner } from "@fluentui/react-components";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, startMailing } from "../api/client";
import type { MailingStatus } from "../api/types";
import { useI18n } from "../i18n";
import { isScheduled, localScheduleErrors, scheduleErrorsOf, scheduleFromStatus, startRequest, type ScheduleDraft, type ScheduleErrors } from "../model/schedule";
import { keys } from "../state/queryClient";
import { ErrorBar } from "./ErrorBar";
import { ScheduleSection } from "./composer/ScheduleSection";
import { useFocusOnOpen } from "./useFocusOnOpen";

const DEBOUNCE_MS = 400;

/** 日時を変更 / Change time: the confirmation's When controls for a Scheduled mailing that has sent nothing, prefilled
 * from its status, with the server's dry run of the new schedule; Save is a Start, which replaces the schedule. A 409
 * means it began meanwhile (said in words). */
export const ChangeTimeDialog: FC<{
  m: Pick<MailingStatus, "id" | "sendAt" | "window">;
  open: boolean;
  onClose: (saved: MailingStatus | null) => void;
}> = ({ m, open, onClose }) => {
  const { t } = useI18n();
  const qc = useQueryClient();
  const closeRef = useFocusOnOpen(open);
  const [value, setValue] = useState<ScheduleDraft>(() => scheduleFromStatus(m.sendAt, m.window));
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const h = setTimeout(() => setSettled(value), DEBOUNCE_MS);
    return () => clearTimeout(h);
  }, [value]);
  const badTime = t("badTime");
  const badUndo = t("badUndo");
  const localErrors = useMemo(() => localScheduleErrors(value, { badTime, badUndo }), [value, badTime, badUndo]);
  const settledBody = useMemo(() => startRequest(settled), [settled]);
  const dryRun = useQuery<MailingStatus>({
    queryKey: keys.dryRun(m.id, settledBody),
    queryFn: ({ signal }) => startMailing(m.id, { ...settledBody, dryRun: true }, signal).then((r) => r.value),
    enabled: open && isScheduled(settled) && Object.keys(localScheduleErrors(settled, { badTime: "" })).length === 0,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
    retry: false,
  });
  const save = useMutation({
    mutationFn: (s: ScheduleDraft) => startMailing(m.id, startRequest(s)),
    onSuccess: (r) => {
      qc.setQueryData(keys.mailing(m.id), r.value);
      void qc.invalidateQueries({ queryKey: keys.mailings });
    },
  });
  const is409 = (e: unknown) => e instanceof ApiError && e.status === 409;
  const began = is409(save.error) || (dryRun.isError && is409(dryRun.error));
  const dryRunCurrent = dryRun.isError && settled === value && !began;
  const errors: ScheduleErrors = { ...(dryRunCurrent ? scheduleErrorsOf(dryRun.error) : {}), ...(began ? {} : scheduleErrorsOf(save.error)), ...localErrors };
  const checking = isScheduled(value) && (settled !== value || dryRun.isFetching);
  const blocked = Object.keys(errors).length > 0 || checking || began;
  const otherError = began || Object.keys(scheduleErrorsOf(save.error)).length > 0 ? null : save.error;

  const onSave = async () => {
    try {
      const r = await save.mutateAsync(value);
      onClose(r.value);
    } catch {
      /* shown in the dialog */
    }
  };

  return (
    <Dialog open={open} modalType="modal" onOpenChange={(_, d) => !d.open && !save.isPending && onClose(null)}>
      <DialogSurface>
        <DialogBody>
          <DialogTitle>{t("changeTimeTitle")}</DialogTitle>
          <DialogContent style={{ display: "flex", flexDirection: "column", gap: 8 }} data-testid="change-time">
            <ScheduleSection
              value={value}
              onChange={(patch) => {
                save.reset();
                setValue((v) => ({ ...v, ...patch }));
              }}
              errors={errors}
              outcome={isScheduled(value) && !dryRun.isError ? (dryRun.data ?? null) : null}
              checking={checking}
              disabled={save.isPending}
            />
            {began && (
              <div role="alert" data-testid="change-time-began">
                {t("changeTimeBegan")}
              </div>
            )}
            <ErrorBar error={otherError ?? (dryRunCurrent && Object.keys(scheduleErrorsOf(dryRun.error)).length === 0 ? dryRun.error : null)} />
          </DialogContent>
          <DialogActions fluid>
            <Button appearance="primary" onClick={() => void onSave()} disabled={save.isPending || blocked} data-testid="change-time-save">
              {save.isPending ? <Spinner size="extra-tiny" aria-label={t("loading")} /> : t("changeTimeSave")}
            </Button>
            <Button onClick={() => onClose(null)} disabled={save.isPending} data-testid="change-time-close" ref={closeRef}>
              {t("close")}
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
};
