import { type FC } from "react";
import {
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  ProgressBar,
  Spinner,
  Text,
} from "@fluentui/react-components";
import type { MailingStatus, PreviewResponse } from "../api/types";
import { useI18n } from "../i18n";
import { codeText } from "../i18n/strings";
import { ErrorBar } from "./ErrorBar";
import { formatEta } from "./formatEta";
import { useFocusOnOpen } from "./useFocusOnOpen";
import { ScheduleSection } from "./composer/ScheduleSection";
import type { ScheduleDraft, ScheduleErrors } from "../model/schedule";

/** The "When" controls of a held mailing, on a server that schedules (useSendFlow owns the state and the dry run). */
export interface ScheduleProps {
  value: ScheduleDraft;
  onChange: (patch: Partial<ScheduleDraft>) => void;
  errors: ScheduleErrors;
  outcome: MailingStatus | null;
  checking: boolean;
  /** A schedule the server or the pane refused: Yes waits until it is fixed. */
  blocked: boolean;
  /** Not now and not any time: the finish time is the dry run's (shown by the section), not the held one's. */
  scheduled: boolean;
}

export interface ConfirmFacts {
  /** Hold flow: the held mailing as the server counted it (Preparing while counting, then Ready with exact figures). */
  held: MailingStatus | null;
  /** Servers without the hold flow: the fresh preview's figures. */
  preview: PreviewResponse | null;
  /** The chosen phase's name, when a phase update is set. */
  phaseName: string | null;
  attachmentNames: string[];
  zipped: boolean;
  logActivity: boolean;
  /** On reply: the phase's name (null: none) and whether the reply is logged. */
  replyPhaseName?: string | null;
  replyLogActivity?: boolean;
  /** The opt-out footer as it will be sent (the draft's choice, else the mode's default). */
  optOutFooter?: boolean;
}

/**
 * "Send N messages?" (docs/ui.md, 4. Confirmation). With the hold flow every number is the server's exact count of the prepared
 * mailing; while it counts, the dialog shows how far. Focus starts on No, so a stray Enter does not send.
 */
export const ConfirmDialog: FC<{
  open: boolean;
  facts: ConfirmFacts | null;
  busy: boolean;
  error: unknown;
  onYes: () => void;
  onNo: () => void;
  schedule?: ScheduleProps | null;
}> = ({ open, facts, busy, error, onYes, onNo, schedule }) => {
  const { t, lang, formatNumber, formatDate } = useI18n();
  const held = facts?.held ?? null;
  const c = facts?.preview?.confirmation ?? null;
  const counting = held !== null && held.state === "Preparing";
  const ready = held === null ? facts?.preview != null : held.state === "Ready";
  const failed = held !== null && !counting && !ready;

  const messages = held ? (held.messages ?? 0) : (c?.messages ?? facts?.preview?.messages ?? 0);
  const records = held ? (held.scopeTotal ?? held.total) : (facts?.preview?.records ?? null);
  const skipped = held ? held.skipped : (facts?.preview?.skipped ?? 0);
  const phaseName = c?.phaseName ?? facts?.phaseName ?? null;
  const phaseUpdates = held ? (held.phaseUpdates ?? null) : (c?.phaseUpdates ?? null);
  const attachments = (held?.attachments ?? c?.attachments)?.map((a) => a.name) ?? facts?.attachmentNames ?? [];
  const zipped = held?.zipped ?? c?.zipped ?? facts?.zipped ?? false;
  const footer = c?.optOutFooter ?? facts?.optOutFooter ?? null;
  const noRef = useFocusOnOpen(open);
  const byReason = Object.entries(held?.skippedByReason ?? {}).filter(([, n]) => n > 0);

  return (
    <Dialog open={open} modalType="alert" onOpenChange={(_, d) => !d.open && !busy && onNo()}>
      <DialogSurface aria-describedby="confirm-messages">
        <DialogBody>
          <DialogTitle>{t("confirmTitle")}</DialogTitle>
          <DialogContent style={{ display: "flex", flexDirection: "column", gap: 8 }} data-testid="confirm-content">
            {counting && (
              <div data-testid="confirm-counting" aria-live="polite">
                <Text id="confirm-messages">
                  {held.scopeTotal
                    ? t("confirmPreparing", { counted: formatNumber(held.counted ?? 0), total: formatNumber(held.scopeTotal) })
                    : t("confirmPreparingUnknown", { counted: formatNumber(held.counted ?? 0) })}
                </Text>
                <ProgressBar
                  value={held.scopeTotal ? Math.min(1, (held.counted ?? 0) / held.scopeTotal) : undefined}
                  max={1}
                  aria-label={t("confirmPreparingUnknown", { counted: formatNumber(held.counted ?? 0) })}
                />
              </div>
            )}
            {failed && (
              <Text id="confirm-messages" data-testid="confirm-not-ready">
                {t("confirmNotReady", { state: held.waitReason ?? held.pausedReason ?? held.state })}
              </Text>
            )}
            {ready && (
              <>
                <Text id="confirm-messages" weight="semibold" data-testid="confirm-messages">
                  {t("confirmMessages", { n: formatNumber(messages) })}
                </Text>
                {records != null && <Text data-testid="confirm-records">{t("confirmRecords", { n: formatNumber(records) })}</Text>}
                {byReason.length > 0 ? (
                  <Text data-testid="confirm-skipped">
                    {t("confirmSkippedBy", {
                      list: byReason.map(([code, n]) => `${codeText(lang, code) ?? code} ${formatNumber(n)}`).join(lang === "ja" ? "、" : ", "),
                    })}
                  </Text>
                ) : (
                  skipped > 0 && <Text data-testid="confirm-skipped">{t("confirmSkipped", { n: formatNumber(skipped) })}</Text>
                )}
                {phaseName && (
                  <Text data-testid="confirm-phase">
                    {phaseUpdates != null
                      ? t("confirmPhaseCount", { n: formatNumber(phaseUpdates), phase: phaseName })
                      : t("confirmPhase", { phase: phaseName })}
                  </Text>
                )}
                {attachments.length > 0 && <Text>{t("confirmAttachments", { files: attachments.join(", ") })}</Text>}
                {zipped && <Text>{t("confirmZipped")}</Text>}
                {facts?.logActivity && <Text>{t("confirmActivity")}</Text>}
                {facts?.replyPhaseName && <Text data-testid="confirm-reply-phase">{t("confirmReplyPhase", { phase: facts.replyPhaseName })}</Text>}
                {facts?.replyLogActivity && <Text data-testid="confirm-reply-activity">{t("confirmReplyActivity")}</Text>}
                {footer != null && <Text data-testid="confirm-footer">{footer ? t("confirmFooterOn") : t("confirmFooterOff")}</Text>}
                {held?.estimatedSeconds != null && !schedule?.scheduled && (
                  <Text data-testid="confirm-duration">
                    {t("confirmDuration", {
                      time: formatEta(held.estimatedSeconds, t),
                      at: held.finishesAt ? formatDate(held.finishesAt) : "—",
                    })}
                  </Text>
                )}
                {held?.quotaLeftAfter != null && (
                  <Text data-testid="confirm-quota">{t("confirmQuota", { n: formatNumber(held.quotaLeftAfter) })}</Text>
                )}
                {schedule && (
                  <ScheduleSection
                    value={schedule.value}
                    onChange={schedule.onChange}
                    errors={schedule.errors}
                    outcome={schedule.outcome}
                    checking={schedule.checking}
                    disabled={busy}
                  />
                )}
              </>
            )}
            <ErrorBar error={error} />
          </DialogContent>
          <DialogActions fluid>
            <Button appearance="primary" onClick={onYes} disabled={busy || !ready || messages === 0 || schedule?.blocked === true} data-testid="confirm-yes">
              {busy ? <Spinner size="extra-tiny" /> : t("yes")}
            </Button>
            {/* The dialog opens on No, so Enter pressed by habit does not send. */}
            <Button onClick={onNo} disabled={busy} data-testid="confirm-no" ref={noRef}>
              {t("no")}
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
};
