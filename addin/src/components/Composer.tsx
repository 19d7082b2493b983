import { useCallback, useEffect, useId, useMemo, useRef, useState, type FC, type ReactNode } from "react";
import {
  Button,
  Field,
  Input,
  MessageBar,
  MessageBarBody,
  Spinner,
  Text,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import { ArrowLeftRegular, DocumentArrowDownRegular, EyeRegular, SendRegular, BeakerRegular } from "@fluentui/react-icons";
import { previewMailing, submitMailing, testSend } from "../api/client";
import type { HrbcField, HrbcPhase, HrbcRecord, MailFieldCount, MailingMode, PreviewResponse } from "../api/types";
import { useI18n } from "../i18n";
import { buildRequest, initialDraft, newIdempotencyKey, sanitizeHtml, scopeOf, type Draft } from "../model/draft";
import { MODES } from "../model/modes";
import type { Selection } from "../model/search";
import { canUseDraft, readComposeDraft } from "../office/mailbox";
import { useEnv } from "../state/env";
import { useMailings } from "../state/mailings";
import { AttachmentsPanel } from "./AttachmentsPanel";
import { BodyEditor, type BodyEditorHandle } from "./BodyEditor";
import { ConfirmDialog, type ConfirmFacts } from "./ConfirmDialog";
import { ErrorBar } from "./ErrorBar";
import { MailFieldsPicker } from "./MailFieldsPicker";
import { PhasePanel } from "./PhasePanel";
import { PreviewPanel } from "./PreviewPanel";
import { ScopeStep } from "./ScopeStep";
import { modeLabelKey } from "./SearchPanel";
import { fieldsOf, TagInserter } from "./TagInserter";
import { TemplatePicker } from "./TemplatePicker";

const useStyles = makeStyles({
  root: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalL },
  section: {
    display: "flex",
    flexDirection: "column",
    gap: tokens.spacingVerticalS,
    paddingBottom: tokens.spacingVerticalM,
    borderBottom: `1px solid ${tokens.colorNeutralStroke2}`,
  },
  h: { margin: 0, fontSize: tokens.fontSizeBase400, fontWeight: tokens.fontWeightSemibold },
  actions: {
    display: "flex",
    flexWrap: "wrap",
    gap: tokens.spacingHorizontalS,
    position: "sticky",
    bottom: 0,
    backgroundColor: tokens.colorNeutralBackground1,
    padding: `${tokens.spacingVerticalS} 0`,
    borderTop: `1px solid ${tokens.colorNeutralStroke2}`,
    zIndex: 1,
  },
});

const Section: FC<{ title: string; children: ReactNode; testId?: string }> = ({ title, children, testId }) => {
  const s = useStyles();
  const id = useId();
  return (
    <section className={s.section} aria-labelledby={id} data-testid={testId}>
      <h2 id={id} className={s.h}>
        {title}
      </h2>
      {children}
    </section>
  );
};

export interface ComposerProps {
  mode: MailingMode;
  anchor: HrbcRecord | null;
  selection: Selection;
  onCancel: () => void;
  onSubmitted: (id: string) => void;
}

/** Scope, recipients, message, attachments, phase; then preview, test send and the confirmed send. */
export const Composer: FC<ComposerProps> = ({ mode, anchor, selection, onCancel, onSubmitted }) => {
  const { t } = useI18n();
  const s = useStyles();
  const env = useEnv();
  const mailings = useMailings();
  const info = MODES[mode];
  const anchorId = anchor?.id ?? null;
  const [draft, setDraft] = useState<Draft>(() => initialDraft(selection));
  const update = useCallback((patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch })), []);
  const [step, setStep] = useState<"edit" | "preview">("edit");
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<null | "preview" | "test" | "send">(null);

  // Recipients: the recipient resource's mail fields, counted over the scope.
  const [recipientFields, setRecipientFields] = useState<HrbcField[]>([]);
  const [counts, setCounts] = useState<{ fields: MailFieldCount[]; records: number } | null>(null);
  const [counting, setCounting] = useState(false);
  const [countError, setCountError] = useState<unknown>(null);

  useEffect(() => {
    let live = true;
    fieldsOf(info.recipient).then(
      (fs) => live && setRecipientFields(fs.filter((f) => f.isMail)),
      (e: unknown) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [info.recipient]);

  const scopeKey = JSON.stringify(scopeOf(draft.scope, selection));
  useEffect(() => {
    if (recipientFields.length === 0) return;
    const scope = scopeOf(draft.scope, selection);
    if (scope.kind !== "All" && (scope.ids?.length ?? 0) === 0) {
      setCounts(null);
      return;
    }
    const ac = new AbortController();
    setCounting(true);
    setCountError(null);
    // Counting needs no template: a placeholder subject and body keep template errors out of it.
    previewMailing(
      { mode, anchorId, scope, mailFields: recipientFields.map((f) => f.alias), subject: "-", body: "-" },
      ac.signal,
    )
      .then((p) => {
        setCounts({ fields: p.mailFields, records: p.records });
        setDraft((d) => {
          if (d.mailFields.length > 0) return d;
          const first = p.mailFields.find((f) => f.count > 0) ?? p.mailFields[0];
          return first ? { ...d, mailFields: [first.alias] } : d;
        });
      })
      .catch((e: unknown) => {
        if (ac.signal.aborted) return;
        setCounts(null);
        setCountError(e);
        setDraft((d) => (d.mailFields.length > 0 || !recipientFields[0] ? d : { ...d, mailFields: [recipientFields[0].alias] }));
      })
      .finally(() => !ac.signal.aborted && setCounting(false));
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [scopeKey, recipientFields, mode, anchorId]);

  // Message
  const body = useRef<BodyEditorHandle>(null);
  const subjectInput = useRef<HTMLInputElement>(null);
  const [target, setTarget] = useState<"subject" | "body">("body");
  const insertTag = (tag: string) => {
    if (target === "subject") {
      const el = subjectInput.current;
      const start = el?.selectionStart ?? draft.subject.length;
      const end = el?.selectionEnd ?? start;
      const next = draft.subject.slice(0, start) + tag + draft.subject.slice(end);
      update({ subject: next });
      requestAnimationFrame(() => {
        el?.focus();
        el?.setSelectionRange(start + tag.length, start + tag.length);
      });
    } else {
      body.current?.insertText(tag);
    }
  };

  const loadDraft = async () => {
    try {
      const d = await readComposeDraft();
      update({ subject: d.subject, body: sanitizeHtml(d.body), templateId: null });
      setNotice(t("draftLoaded"));
    } catch (e) {
      setError(e);
    }
  };

  const [phases, setPhases] = useState<HrbcPhase[]>([]);
  const request = useMemo(() => buildRequest(mode, anchorId, selection, draft), [mode, anchorId, selection, draft]);

  // Preview / test / send
  const [preview, setPreview] = useState<PreviewResponse | null>(null);
  const [previewRequest, setPreviewRequest] = useState(request);
  const runPreview = async (): Promise<PreviewResponse | null> => {
    setError(null);
    setNotice(null);
    try {
      const p = await previewMailing(request);
      setPreview(p);
      setPreviewRequest(request);
      return p;
    } catch (e) {
      setError(e);
      return null;
    }
  };

  const onPreview = async () => {
    setBusy("preview");
    const p = await runPreview();
    setBusy(null);
    if (p) setStep("preview");
  };

  const onTest = async () => {
    setBusy("test");
    setError(null);
    setNotice(null);
    try {
      const r = await testSend(request);
      setNotice(t("testSent", { to: r.to }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };

  const [confirm, setConfirm] = useState<{ facts: ConfirmFacts; key: string; request: typeof request } | null>(null);
  const [confirmError, setConfirmError] = useState<unknown>(null);
  const [submitting, setSubmitting] = useState(false);

  const onSend = async () => {
    setBusy("send");
    const p = await runPreview();
    setBusy(null);
    if (!p) return;
    const names = [
      ...(anchor?.attachments.filter((a) => draft.recordAttachmentIds.includes(a.id)).map((a) => a.fileName) ?? []),
      ...draft.uploads.map((u) => u.name),
    ];
    setConfirmError(null);
    setConfirm({
      key: newIdempotencyKey(),
      request,
      facts: {
        preview: p,
        phaseName: draft.phase ? (phases.find((x) => x.alias === draft.phase)?.name ?? draft.phase) : null,
        attachmentNames: names,
        zipped: draft.zip && !!draft.zipPassword && names.length > 0,
        logActivity: draft.logActivity,
      },
    });
  };

  const onYes = async () => {
    if (!confirm) return;
    setSubmitting(true);
    setConfirmError(null);
    try {
      const r = await submitMailing({ ...confirm.request, idempotencyKey: confirm.key });
      mailings.track(r.id, r.state);
      setConfirm(null);
      onSubmitted(r.id);
    } catch (e) {
      setConfirmError(e);
    } finally {
      setSubmitting(false);
    }
  };

  const recordIds = draft.scope === "All" ? null : draft.scope === "Checked" ? selection.checkedIds : selection.displayedIds;
  const showDraftButton = env.office.host === "outlook" && env.office.compose && canUseDraft();

  return (
    <div className={s.root} data-testid="composer" data-mode={mode}>
      <Button appearance="subtle" icon={<ArrowLeftRegular />} onClick={step === "preview" ? () => setStep("edit") : onCancel} style={{ alignSelf: "flex-start" }}>
        {step === "preview" ? t("backToEditor") : t("backToSearch")}
      </Button>
      <Text as="h1" size={500} weight="semibold" style={{ margin: 0 }}>
        {step === "preview" ? t("previewTitle") : t("composeTitle", { mode: t(modeLabelKey(mode)) })}
      </Text>
      {anchor && (
        <Text size={200}>
          {(info.anchor === "job" ? t("anchorJob") : t("anchorResume")) + ": " + anchor.name}
          {anchor.subtitle ? ` (${anchor.subtitle})` : ""}
        </Text>
      )}
      <ErrorBar error={error} onDismiss={() => setError(null)} />
      {notice && (
        <MessageBar intent="success">
          <MessageBarBody>{notice}</MessageBarBody>
        </MessageBar>
      )}

      <div style={{ display: step === "edit" ? "contents" : "none" }}>
        <Section title={t("stepScope")}>
          <ScopeStep value={draft.scope} selection={selection} onChange={(k) => update({ scope: k })} />
        </Section>
        <Section title={t("stepRecipients")}>
          <MailFieldsPicker
            fields={recipientFields}
            counts={counts?.fields ?? null}
            records={counts?.records ?? null}
            counting={counting}
            value={draft.mailFields}
            onChange={(v) => update({ mailFields: v })}
          />
          <ErrorBar error={countError} />
        </Section>
        <Section title={t("stepMessage")} testId="message-section">
          <TemplatePicker
            mode={mode}
            subject={draft.subject}
            body={draft.body}
            onPick={(tpl) => update({ subject: tpl.subject, body: sanitizeHtml(tpl.body), templateId: tpl.id })}
            onMessage={setNotice}
            onError={setError}
          />
          {showDraftButton && (
            <Button icon={<DocumentArrowDownRegular />} onClick={() => void loadDraft()} style={{ alignSelf: "flex-start" }}>
              {t("useDraft")}
            </Button>
          )}
          <Field label={t("subject")} required>
            <Input
              ref={subjectInput}
              value={draft.subject}
              onChange={(_, d) => update({ subject: d.value })}
              onFocus={() => setTarget("subject")}
              data-testid="subject"
            />
          </Field>
          <Field label={t("body")} hint={t("bodyHint")} required>
            {(fieldProps) => (
              <BodyEditor
                ref={body}
                value={draft.body}
                onChange={(html) => update({ body: html })}
                label={t("body")}
                describedBy={(fieldProps as { "aria-describedby"?: string })["aria-describedby"]}
                onFocus={() => setTarget("body")}
              />
            )}
          </Field>
          <TagInserter resources={info.tagResources} target={target} onInsert={insertTag} />
        </Section>
        <Section title={t("stepAttachments")} testId="attachments-section">
          <AttachmentsPanel info={info} anchor={anchor} draft={draft} update={update} onError={setError} />
        </Section>
        <Section title={t("stepPhase")} testId="phase-section">
          <PhasePanel info={info} draft={draft} update={update} onPhases={setPhases} onError={setError} />
        </Section>
      </div>

      {step === "preview" && preview && <PreviewPanel preview={preview} request={previewRequest} recordIds={recordIds} />}

      <div className={s.actions}>
        {step === "edit" && (
          <Button icon={<EyeRegular />} onClick={() => void onPreview()} disabled={busy !== null} data-testid="preview-button">
            {t("preview")}
          </Button>
        )}
        <Button icon={<BeakerRegular />} onClick={() => void onTest()} disabled={busy !== null} data-testid="test-button">
          {t("testSend")}
        </Button>
        <Button
          appearance="primary"
          icon={<SendRegular />}
          onClick={() => void onSend()}
          disabled={busy !== null || draft.mailFields.length === 0}
          data-testid="send-button"
        >
          {t("send")}
        </Button>
        {busy && <Spinner size="extra-tiny" label={t("loading")} />}
      </div>

      <ConfirmDialog
        open={confirm !== null}
        facts={confirm?.facts ?? null}
        busy={submitting}
        error={confirmError}
        onYes={() => void onYes()}
        onNo={() => setConfirm(null)}
      />
    </div>
  );
};
