import { useCallback, useEffect, useId, useMemo, useRef, useState, type FC } from "react";
import {
  Button,
  Field,
  Input,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Spinner,
  Text,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import {
  ArrowLeftRegular,
  BeakerRegular,
  DeleteRegular,
  DocumentArrowDownRegular,
  EyeRegular,
  SendRegular,
} from "@fluentui/react-icons";
import { ApiError, controlMailing, followMailing, previewMailing, serverHolds, startMailing, submitMailing, testSend, type TemplateError } from "../api/client";
import type { HrbcField, HrbcPhase, HrbcRecord, MailFieldCount, MailingMode, MailingRequest, MailingStatus, PreviewResponse } from "../api/types";
import { useI18n } from "../i18n";
import { buildRequest, initialDraft, isDirty, newIdempotencyKey, sanitizeHtml, scopeOf, type Draft } from "../model/draft";
import { clearDraft, saveDraft } from "../model/draftStore";
import { MODES } from "../model/modes";
import type { Selection } from "../model/search";
import {
  LONG_SUBJECT,
  MAX_SUBJECT,
  fieldErrorsFromApi,
  firstError,
  hasErrors,
  validateDraft,
  type FieldErrors,
} from "../model/validation";
import { canUseDraft, readComposeDraft } from "../office/mailbox";
import { useEnv } from "../state/env";
import { useMailings } from "../state/mailings";
import { AskDialog } from "./AskDialog";
import { AttachmentsPanel } from "./AttachmentsPanel";
import { BodyEditor, type BodyEditorHandle } from "./BodyEditor";
import { ConfirmDialog, type ConfirmFacts } from "./ConfirmDialog";
import { ErrorBar } from "./ErrorBar";
import { MailFieldsPicker } from "./MailFieldsPicker";
import { PhasePanel } from "./PhasePanel";
import { PreviewPanel } from "./PreviewPanel";
import { ScopeStep } from "./ScopeStep";
import { Section } from "./Section";
import { modeLabelKey, modeShortKey } from "./modeLabels";
import { fieldsOf, TagInserter } from "./TagInserter";
import { TemplatePicker } from "./TemplatePicker";

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

/** What the pane just sent, so the search can untick it (a second mode must not mail the same records by accident). */
export interface SentScope {
  kind: "All" | "Displayed" | "Checked";
  ids: number[];
}

export interface ComposerProps {
  mode: MailingMode;
  anchor: HrbcRecord | null;
  selection: Selection;
  /** A draft restored from local storage (after a reload). */
  initial?: Draft;
  restored?: boolean;
  onBack: () => void;
  onDiscard: () => void;
  onSubmitted: (id: string, sent: SentScope) => void;
}

type Confirm = { key: string; facts: ConfirmFacts; request: ReturnType<typeof buildRequest>; heldId: string | null };
type ConfirmBase = Omit<ConfirmFacts, "held" | "preview">;
/** A submit refused only for near-miss tag spellings (｛｛Person.P_Name｝｝): the question, and what "send as typed" resends. */
type NearMiss = { error: unknown; spellings: TemplateError[]; request: MailingRequest; base: ConfirmBase };

/** The near-miss spellings of a 400 that refused nothing else (only the subject and body marked), else null. */
export function nearMissesOf(e: unknown): TemplateError[] | null {
  if (!(e instanceof ApiError) || e.status !== 400 || e.templateErrors.length === 0) return null;
  if (!e.templateErrors.every((x) => x.code === "NearMissTag")) return null;
  if (Object.keys(e.fieldErrors).some((k) => k !== "subject" && k !== "body")) return null;
  return e.templateErrors;
}

/** Scope, recipients, message, attachments, phase; then preview, test send and the confirmed send. */
export const Composer: FC<ComposerProps> = ({ mode, anchor, selection, initial, restored, onBack, onDiscard, onSubmitted }) => {
  const { t, formatNumber } = useI18n();
  const s = useStyles();
  const env = useEnv();
  const mailings = useMailings();
  const info = MODES[mode];
  const anchorId = anchor?.id ?? null;
  const rootRef = useRef<HTMLDivElement>(null);
  const [draft, setDraft] = useState<Draft>(() => initial ?? initialDraft(selection));
  const update = useCallback((patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch })), []);
  const [step, setStep] = useState<"edit" | "preview">("edit");
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(restored ? t("draftRestored") : null);
  const [busy, setBusy] = useState<null | "preview" | "test" | "send">(null);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [asking, setAsking] = useState(false);
  const subjectHint = useId();

  // Keep the unsent mail over a reload; nothing stored while there is nothing to lose.
  useEffect(() => {
    if (isDirty(draft)) saveDraft({ mode, anchorId, selection, draft });
    else clearDraft();
  }, [draft, mode, anchorId, selection]);

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
    if (draft.scope === null || (scope.kind !== "All" && (scope.ids?.length ?? 0) === 0)) {
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
          const first = p.mailFields.find((f) => f.count > 0);
          return first ? { ...d, mailFields: [first.alias] } : d;
        });
      })
      .catch((e: unknown) => {
        if (ac.signal.aborted) return;
        setCounts(null);
        setCountError(e);
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

  const loadOutlookDraft = async () => {
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

  /** Marks the fields, then focuses and scrolls to the first; true when there is nothing to mark. */
  const showFieldErrors = (errors: FieldErrors): boolean => {
    setFieldErrors(errors);
    const first = firstError(errors);
    if (!first) return true;
    setStep("edit");
    requestAnimationFrame(() => {
      const box = rootRef.current?.querySelector<HTMLElement>(`[data-field="${first}"]`);
      const focusable = box?.querySelector<HTMLElement>(
        'input:not([disabled]), textarea, [contenteditable="true"], [role="textbox"], button:not([disabled])',
      );
      box?.scrollIntoView?.({ block: "center" });
      focusable?.focus();
    });
    return false;
  };
  const check = (): boolean => showFieldErrors(validateDraft(draft, counts?.fields ?? null, t));
  const fail = (e: unknown) => {
    setError(e);
    showFieldErrors(fieldErrorsFromApi(e, t));
  };
  // An edit clears its field's mark.
  useEffect(() => {
    setFieldErrors((fe) => {
      if (!hasErrors(fe)) return fe;
      const now = validateDraft(draft, counts?.fields ?? null, t);
      const next: FieldErrors = {};
      for (const k of Object.keys(fe) as (keyof FieldErrors)[]) if (now[k]) next[k] = fe[k];
      return next;
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [draft]);

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
      fail(e);
      return null;
    }
  };

  const onPreview = async () => {
    if (!draft.scope || draft.mailFields.length === 0) {
      check();
      return;
    }
    setBusy("preview");
    const p = await runPreview();
    setBusy(null);
    if (p) setStep("preview");
  };

  const onTest = async () => {
    if (!check()) return;
    setBusy("test");
    setError(null);
    setNotice(null);
    try {
      const r = await testSend(request);
      setNotice(t("testSent", { to: r.to }));
    } catch (e) {
      fail(e);
    } finally {
      setBusy(null);
    }
  };

  const [confirm, setConfirm] = useState<Confirm | null>(null);
  const [confirmError, setConfirmError] = useState<unknown>(null);
  const [submitting, setSubmitting] = useState(false);
  const stopFollowing = useRef<(() => void) | null>(null);
  useEffect(() => () => stopFollowing.current?.(), []);

  const onSend = async () => {
    if (!check()) return;
    setBusy("send");
    setError(null);
    setNotice(null);
    const names = [
      ...(anchor?.attachments.filter((a) => draft.recordAttachmentIds.includes(a.id)).map((a) => a.fileName) ?? []),
      ...draft.uploads.map((u) => u.name),
    ];
    const base = {
      phaseName: draft.phase ? (phases.find((x) => x.alias === draft.phase)?.name ?? draft.phase) : null,
      attachmentNames: names,
      zipped: draft.zip && !!draft.zipPassword && names.length > 0,
      logActivity: draft.logActivity,
    };
    const key = newIdempotencyKey();
    setConfirmError(null);
    try {
      if (await serverHolds()) {
        await submitHeld({ ...request, hold: true, idempotencyKey: key }, base);
      } else {
        const p = await previewMailing(request);
        setPreview(p);
        setPreviewRequest(request);
        setBusy(null);
        setConfirm({ key, request, heldId: null, facts: { ...base, held: null, preview: p } });
      }
    } catch (e) {
      const spellings = nearMissesOf(e);
      // Only near-miss spellings refused: ask, and "send as typed" resubmits this same request with them allowed.
      if (spellings) setNearMiss({ error: e, spellings, request: { ...request, hold: true, idempotencyKey: key }, base });
      else fail(e);
    } finally {
      setBusy(null);
    }
  };

  /** Hold: the server prepares the mailing and stops at Ready, so every number in the dialog is exact. */
  const submitHeld = async (held: MailingRequest, base: ConfirmBase) => {
    const r = await submitMailing(held);
    mailings.hold(r.id);
    setBusy(null);
    const first: MailingStatus = {
      id: r.id, mode, state: r.state, total: 0, sent: 0, failed: 0, skipped: 0, bounced: 0, pending: 0,
      createdAt: new Date().toISOString(), startedAt: null, finishedAt: null, etaSeconds: null, pausedReason: null,
      subject: draft.subject, cancelled: 0, waitReason: null, resumesAt: null,
    };
    setConfirm({ key: held.idempotencyKey ?? "", request: held, heldId: r.id, facts: { ...base, held: first, preview: null } });
    stopFollowing.current?.();
    stopFollowing.current = followMailing(r.id, (st) =>
      setConfirm((c) => (c && c.heldId === st.id ? { ...c, facts: { ...c.facts, held: { ...c.facts.held!, ...st } } } : c)),
    );
  };

  const [nearMiss, setNearMiss] = useState<NearMiss | null>(null);
  const onSendAsTyped = async () => {
    if (!nearMiss) return;
    const { request: held, base } = nearMiss;
    setNearMiss(null);
    setBusy("send");
    try {
      await submitHeld({ ...held, allowNearMissTags: true }, base);
    } catch (e) {
      fail(e);
    } finally {
      setBusy(null);
    }
  };
  const onFixNearMiss = () => {
    const e = nearMiss?.error;
    setNearMiss(null);
    if (e) fail(e);
  };

  const sentScope = (): SentScope => ({
    kind: draft.scope ?? "Checked",
    ids: draft.scope === "Checked" ? selection.checkedIds : draft.scope === "Displayed" ? selection.displayedIds : [],
  });

  const onYes = async () => {
    if (!confirm) return;
    setSubmitting(true);
    setConfirmError(null);
    try {
      let id: string;
      let state: MailingStatus["state"];
      if (confirm.heldId) {
        const st = await startMailing(confirm.heldId);
        id = confirm.heldId;
        state = st?.state ?? "Queued";
      } else {
        const r = await submitMailing({ ...confirm.request, idempotencyKey: confirm.key });
        id = r.id;
        state = r.state;
      }
      stopFollowing.current?.();
      stopFollowing.current = null;
      mailings.track(id, state, draft.subject);
      setConfirm(null);
      clearDraft();
      onSubmitted(id, sentScope());
    } catch (e) {
      setConfirmError(e);
    } finally {
      setSubmitting(false);
    }
  };

  const onNo = () => {
    const held = confirm?.heldId;
    stopFollowing.current?.();
    stopFollowing.current = null;
    setConfirm(null);
    // A held mailing never sends without start; cancelling it just tidies the list (it stays out of "my mailings").
    if (held) void controlMailing(held, "cancel").catch(() => undefined);
  };

  const recordIds = draft.scope === "All" ? null : draft.scope === "Checked" ? selection.checkedIds : selection.displayedIds;
  const showDraftButton = env.office.host === "outlook" && env.office.compose && canUseDraft();
  const withAddress = counts
    ? draft.mailFields.some((a) => (counts.fields.find((c) => c.alias === a)?.count ?? 0) > 0)
    : draft.mailFields.length > 0;
  const canSend = draft.scope !== null && withAddress && !counting;
  const subjectLength = draft.subject.length;
  const fe = (k: keyof FieldErrors) => fieldErrors[k]?.join(" ");

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
      {hasErrors(fieldErrors) && !error && (
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
        <Section title={t("stepScope")}>
          <ScopeStep value={draft.scope} selection={selection} onChange={(k) => update({ scope: k })} error={fe("scope")} />
        </Section>
        <Section title={t("stepRecipients")}>
          <MailFieldsPicker
            fields={recipientFields}
            counts={counts?.fields ?? null}
            records={counts?.records ?? null}
            counting={counting}
            value={draft.mailFields}
            onChange={(v) => update({ mailFields: v })}
            error={fe("mailFields")}
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
            <Button icon={<DocumentArrowDownRegular />} onClick={() => void loadOutlookDraft()} style={{ alignSelf: "flex-start" }}>
              {t("useDraft")}
            </Button>
          )}
          {/* Above the subject, so the subject stays in view while a tag goes into it. */}
          <TagInserter resources={info.tagResources} target={target} onInsert={insertTag} />
          <Field
            label={t("subject")}
            required
            data-field="subject"
            validationState={fe("subject") ? "error" : subjectLength > LONG_SUBJECT ? "warning" : "none"}
            validationMessage={
              fe("subject") ?? (subjectLength > LONG_SUBJECT ? t("subjectLong", { n: formatNumber(subjectLength), max: MAX_SUBJECT }) : undefined)
            }
            hint={subjectLength <= LONG_SUBJECT ? { children: t("subjectLength", { n: formatNumber(subjectLength), max: MAX_SUBJECT }), id: subjectHint } : undefined}
          >
            <Input
              ref={subjectInput}
              value={draft.subject}
              onChange={(_, d) => update({ subject: d.value })}
              onFocus={() => setTarget("subject")}
              data-testid="subject"
            />
          </Field>
          <Field
            label={t("body")}
            hint={t("bodyHint")}
            required
            data-field="body"
            validationState={fe("body") ? "error" : "none"}
            validationMessage={fe("body")}
          >
            {(fieldProps) => (
              <BodyEditor
                ref={body}
                value={draft.body}
                onChange={(html) => update({ body: html })}
                label={t("body")}
                describedBy={(fieldProps as { "aria-describedby"?: string })["aria-describedby"]}
                onFocus={() => setTarget("body")}
                invalid={!!fe("body")}
              />
            )}
          </Field>
        </Section>
        <Section title={t("stepAttachments")} testId="attachments-section">
          <AttachmentsPanel info={info} anchor={anchor} draft={draft} update={update} onError={setError} passwordError={fe("zipPassword")} />
        </Section>
        <Section title={t("stepPhase")} testId="phase-section">
          <PhasePanel info={info} draft={draft} update={update} onPhases={setPhases} onError={setError} />
        </Section>
      </div>

      {step === "preview" && preview && <PreviewPanel preview={preview} request={previewRequest} recordIds={recordIds} />}

      <div className={s.actions}>
        {step === "edit" && (
          <Button
            icon={<EyeRegular />}
            className={s.iconOnlyNarrow}
            aria-label={t("preview")}
            onClick={() => void onPreview()}
            disabled={busy !== null || draft.scope === null}
            data-testid="preview-button"
          >
            <span className={s.label}>{t("preview")}</span>
          </Button>
        )}
        <Button
          icon={<BeakerRegular />}
          className={s.iconOnlyNarrow}
          aria-label={t("testSend")}
          onClick={() => void onTest()}
          disabled={busy !== null || !canSend}
          data-testid="test-button"
        >
          <span className={s.label}>{t("testSend")}</span>
        </Button>
        <Button
          appearance="primary"
          icon={<SendRegular />}
          onClick={() => void onSend()}
          disabled={busy !== null || !canSend}
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
        onNo={onNo}
      />
      <AskDialog
        open={nearMiss !== null}
        title={t("nearMissTitle")}
        body={
          <>
            <Text as="p" block>{t("nearMissBody")}</Text>
            <ul data-testid="near-miss-list" style={{ margin: 0, paddingInlineStart: 18 }}>
              {nearMiss?.spellings.map((x, i) => {
                const where = t("nearMissWhere", { part: x.part === "subject" ? t("partSubject") : t("partBody"), line: x.line ?? 1 });
                const found = x.args?.found ?? x.tag ?? "";
                const suggestion = x.args?.suggestion ?? "";
                return (
                  <li key={`${x.part}-${x.line}-${x.column}-${i}`}>
                    {suggestion ? t("nearMissItem", { found, where, suggestion }) : t("nearMissItemPlain", { found, where })}
                  </li>
                );
              })}
            </ul>
          </>
        }
        yes={t("nearMissSend")}
        no={t("nearMissFix")}
        onYes={() => void onSendAsTyped()}
        onNo={onFixNearMiss}
        testId="ask-near-miss"
      />
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
