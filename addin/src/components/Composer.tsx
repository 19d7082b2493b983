import { useMemo, useRef, useState, type FC } from "react";
import { Button, MessageBar, MessageBarBody, MessageBarTitle, Spinner, Text, makeStyles, tokens } from "@fluentui/react-components";
import { ArrowLeftRegular, BeakerRegular, DeleteRegular, EyeRegular, SendRegular } from "@fluentui/react-icons";
import type { HrbcRecord, MailingMode } from "../api/types";
import { useI18n } from "../i18n";
import { hasAddress, recordIdsOf, type SentScope } from "../model/composer";
import { buildRequest, isDirty, type Draft } from "../model/draft";
import { clearDraft } from "../model/draftStore";
import { MODES } from "../model/modes";
import type { Selection } from "../model/search";
import { fieldErrorsFromApi, hasErrors, validateDraft, type FieldErrors } from "../model/validation";
import { usePhases } from "../state/queries";
import { AskDialog } from "./AskDialog";
import { AttachmentsPanel } from "./AttachmentsPanel";
import { ConfirmDialog } from "./ConfirmDialog";
import { ErrorBar } from "./ErrorBar";
import { PhasePanel } from "./PhasePanel";
import { PreviewPanel } from "./PreviewPanel";
import { Section } from "./Section";
import { MessageSection } from "./composer/MessageSection";
import { NearMissDialog } from "./composer/NearMissDialog";
import { MailFieldsSection, ScopeSection } from "./composer/RecipientSections";
import { useDraft } from "./composer/useDraft";
import { useFieldMarks } from "./composer/useFieldMarks";
import { useRecipients } from "./composer/useRecipients";
import { useSendFlow, type UndoWindow } from "./composer/useSendFlow";
import { modeLabelKey, modeShortKey } from "./modeLabels";

export { nearMissesOf, type SentScope } from "../model/composer";

const useStyles = makeStyles({
  root: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalL },
  top: { display: "flex", flexWrap: "wrap", justifyContent: "space-between", gap: tokens.spacingHorizontalS },
  actions: {
    display: "flex",
    flexWrap: "wrap",
    alignItems: "center",
    gap: tokens.spacingHorizontalS,
    position: "sticky",
    bottom: 0,
    backgroundColor: tokens.colorNeutralBackground1,
    padding: `${tokens.spacingVerticalS} 0`,
    borderTop: `1px solid ${tokens.colorNeutralStroke2}`,
    zIndex: 1,
  },
  // At 320–359 px the secondary buttons show their icon only (named by aria-label), so the bar keeps one row.
  label: { "@media (max-width: 359px)": { display: "none" } },
  iconOnlyNarrow: { "@media (max-width: 359px)": { minWidth: "auto", paddingLeft: tokens.spacingHorizontalS, paddingRight: tokens.spacingHorizontalS } },
});

export interface ComposerProps {
  mode: MailingMode;
  anchor: HrbcRecord | null;
  selection: Selection;
  /** A draft restored from local storage (after a reload). */
  initial?: Draft;
  restored?: boolean;
  onBack: () => void;
  onDiscard: () => void;
  /** Started; `undo` while its undo window is open (the App keeps the mail for Undo). */
  onSubmitted: (id: string, sent: SentScope, undo: UndoWindow | null) => void;
}

/** Scope, recipients, message, attachments, follow-ups (phase update, activity); then preview, test send and the
 * confirmed send. Each section keeps its own state and data; this component holds the draft and the flow. */
export const Composer: FC<ComposerProps> = ({ mode, anchor, selection, initial, restored, onBack, onDiscard, onSubmitted }) => {
  const { t } = useI18n();
  const s = useStyles();
  const info = MODES[mode];
  const anchorId = anchor?.id ?? null;
  const rootRef = useRef<HTMLDivElement>(null);
  const { draft, update } = useDraft(mode, anchorId, selection, initial);
  const [step, setStep] = useState<"edit" | "preview">("edit");
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(restored ? t("draftRestored") : null);
  const [asking, setAsking] = useState(false);

  const recipients = useRecipients(mode, anchorId, selection, draft, update);
  const marks = useFieldMarks(draft, recipients.counts?.fields ?? null, t, rootRef, () => setStep("edit"));
  const phases = usePhases(info.phaseResource).data ?? [];
  const request = useMemo(() => buildRequest(mode, anchorId, selection, draft), [mode, anchorId, selection, draft]);

  const flow = useSendFlow({
    mode,
    anchor,
    selection,
    draft,
    request,
    phases,
    check: () => marks.show(validateDraft(draft, recipients.counts?.fields ?? null, t)),
    fail: (e) => {
      setError(e);
      marks.show(fieldErrorsFromApi(e, t));
    },
    clearMessages: () => {
      setError(null);
      setNotice(null);
    },
    onNotice: setNotice,
    testSentText: (to) => t("testSent", { to }),
    badTimeText: t("badTime"),
    badUndoText: t("badUndo"),
    onSubmitted,
  });

  const onPreview = async () => {
    if (await flow.onPreview()) setStep("preview");
  };

  const canSend = draft.scope !== null && hasAddress(draft.mailFields, recipients.counts?.fields ?? null) && !recipients.counting;
  const fe = (k: keyof FieldErrors) => marks.fieldErrors[k]?.join(" ");

  return (
    <div className={s.root} data-testid="composer" data-mode={mode} ref={rootRef}>
      <div className={s.top}>
        <Button
          appearance="subtle"
          icon={<ArrowLeftRegular />}
          onClick={step === "preview" ? () => setStep("edit") : onBack}
          data-testid="composer-back"
        >
          {step === "preview" ? t("backToEditor") : t("backToSearch")}
        </Button>
        {step === "edit" && (
          <Button appearance="subtle" icon={<DeleteRegular />} onClick={() => (isDirty(draft) ? setAsking(true) : onDiscard())} data-testid="discard">
            {t("discardDraft")}
          </Button>
        )}
      </div>
      <Text as="h1" size={500} weight="semibold" style={{ margin: 0 }}>
        {step === "preview" ? t("previewTitle") : t("composeTitle", { mode: t(modeShortKey(mode)) })}
      </Text>
      <Text size={200}>{t(modeLabelKey(mode))}</Text>
      {anchor && (
        <Text size={200}>
          {(info.anchor === "job" ? t("anchorJob") : t("anchorResume")) + ": " + anchor.name}
          {anchor.subtitle ? ` (${anchor.subtitle})` : ""}
        </Text>
      )}
      {hasErrors(marks.fieldErrors) && !error && (
        <MessageBar intent="error" data-testid="validation-summary">
          <MessageBarBody>
            <MessageBarTitle>{t("validationTitle")}</MessageBarTitle>
          </MessageBarBody>
        </MessageBar>
      )}
      <ErrorBar error={error} onDismiss={() => setError(null)} sending />
      {notice && (
        <MessageBar intent="success">
          <MessageBarBody>{notice}</MessageBarBody>
        </MessageBar>
      )}

      <div style={{ display: step === "edit" ? "contents" : "none" }}>
        <ScopeSection value={draft.scope} selection={selection} onChange={(k) => update({ scope: k })} error={fe("scope")} />
        <MailFieldsSection recipients={recipients} value={draft.mailFields} onChange={(v) => update({ mailFields: v })} error={fe("mailFields")} />
        <MessageSection mode={mode} draft={draft} update={update} fieldError={fe} onNotice={setNotice} onError={setError} />
        <Section title={t("stepAttachments")} testId="attachments-section">
          <AttachmentsPanel info={info} anchor={anchor} draft={draft} update={update} onError={setError} passwordError={fe("zipPassword")} />
        </Section>
        <Section title={t("stepPhase")} testId="phase-section">
          <PhasePanel info={info} draft={draft} update={update} />
        </Section>
      </div>

      {step === "preview" && flow.preview && (
        <PreviewPanel preview={flow.preview.response} request={flow.preview.request} recordIds={recordIdsOf(draft.scope, selection)} />
      )}

      <div className={s.actions}>
        {step === "edit" && (
          <Button
            icon={<EyeRegular />}
            className={s.iconOnlyNarrow}
            aria-label={t("preview")}
            onClick={() => void onPreview()}
            disabled={flow.busy !== null || draft.scope === null}
            data-testid="preview-button"
          >
            <span className={s.label}>{t("preview")}</span>
          </Button>
        )}
        <Button
          icon={<BeakerRegular />}
          className={s.iconOnlyNarrow}
          aria-label={t("testSend")}
          onClick={() => void flow.onTest()}
          disabled={flow.busy !== null || !canSend}
          data-testid="test-button"
        >
          <span className={s.label}>{t("testSend")}</span>
        </Button>
        <Button
          appearance="primary"
          icon={<SendRegular />}
          onClick={() => void flow.onSend()}
          disabled={flow.busy !== null || !canSend}
          data-testid="send-button"
        >
          {t("send")}
        </Button>
        {flow.busy && <Spinner size="extra-tiny" label={t("loading")} />}
      </div>

      <ConfirmDialog
        open={flow.facts !== null}
        facts={flow.facts}
        busy={flow.submitting}
        error={flow.confirmError}
        onYes={() => void flow.onYes()}
        onNo={flow.onNo}
        schedule={flow.schedule}
      />
      <NearMissDialog nearMiss={flow.nearMiss} onSend={() => void flow.onSendAsTyped()} onFix={flow.onFixNearMiss} />
      <AskDialog
        open={asking}
        title={t("discardTitle")}
        body={t("discardBody")}
        yes={t("discardYes")}
        no={t("keepEditing")}
        onYes={() => {
          setAsking(false);
          clearDraft();
          onDiscard();
        }}
        onNo={() => setAsking(false)}
        testId="ask-discard"
      />
    </div>
  );
};
