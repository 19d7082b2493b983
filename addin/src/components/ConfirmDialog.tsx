import type { FC } from "react";
import {
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Spinner,
  Text,
} from "@fluentui/react-components";
import type { PreviewResponse } from "../api/types";
import { useI18n } from "../i18n";
import { ErrorBar } from "./ErrorBar";

export interface ConfirmFacts {
  preview: PreviewResponse;
  /** The chosen phase's name, when a phase update is set. */
  phaseName: string | null;
  attachmentNames: string[];
  zipped: boolean;
  logActivity: boolean;
}

/** "Send N messages?" with the phase update when set (MISSION §4.6). No returns to the editor with nothing changed. */
export const ConfirmDialog: FC<{
  open: boolean;
  facts: ConfirmFacts | null;
  busy: boolean;
  error: unknown;
  onYes: () => void;
  onNo: () => void;
}> = ({ open, facts, busy, error, onYes, onNo }) => {
  const { t, formatNumber } = useI18n();
  const c = facts?.preview.confirmation ?? null;
  const messages = c?.messages ?? facts?.preview.messages ?? 0;
  const phaseName = c?.phaseName ?? facts?.phaseName ?? null;
  const attachments = c?.attachments?.map((a) => a.name) ?? facts?.attachmentNames ?? [];
  const zipped = c?.zipped ?? facts?.zipped ?? false;
  return (
    <Dialog open={open} modalType="alert" onOpenChange={(_, d) => !d.open && !busy && onNo()}>
      <DialogSurface aria-describedby="confirm-messages">
        <DialogBody>
          <DialogTitle>{t("confirmTitle")}</DialogTitle>
          <DialogContent style={{ display: "flex", flexDirection: "column", gap: 8 }}>
            <Text id="confirm-messages" weight="semibold" data-testid="confirm-messages">
              {t("confirmMessages", { n: formatNumber(messages) })}
            </Text>
            {facts && facts.preview.skipped > 0 && <Text>{t("confirmSkipped", { n: formatNumber(facts.preview.skipped) })}</Text>}
            {phaseName && (
              <Text data-testid="confirm-phase">
                {c?.phaseUpdates != null
                  ? t("confirmPhaseCount", { n: formatNumber(c.phaseUpdates), phase: phaseName })
                  : t("confirmPhase", { phase: phaseName })}
              </Text>
            )}
            {attachments.length > 0 && <Text>{t("confirmAttachments", { files: attachments.join(", ") })}</Text>}
            {zipped && <Text>{t("confirmZipped")}</Text>}
            {facts?.logActivity && <Text>{t("confirmActivity")}</Text>}
            <ErrorBar error={error} />
          </DialogContent>
          <DialogActions fluid>
            <Button appearance="primary" onClick={onYes} disabled={busy || messages === 0} data-testid="confirm-yes">
              {busy ? <Spinner size="extra-tiny" /> : t("yes")}
            </Button>
            <Button onClick={onNo} disabled={busy} data-testid="confirm-no">
              {t("no")}
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
};
