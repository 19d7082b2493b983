import { useId, useRef, useState, type FC } from "react";
import { OptOutFooter } from "./OptOutFooter";
import { Button, Field, Input } from "@fluentui/react-components";
import { DocumentArrowDownRegular } from "@fluentui/react-icons";
import type { MailingMode } from "../../api/types";
import { useI18n } from "../../i18n";
import { insertAt } from "../../model/composer";
import { sanitizeHtml, type Draft } from "../../model/draft";
import { MODES } from "../../model/modes";
import { LONG_SUBJECT, MAX_SUBJECT } from "../../model/validation";
import { canUseDraft, readComposeDraft } from "../../office/mailbox";
import { useEnv } from "../../state/env";
import { BodyEditor, type BodyEditorHandle } from "../BodyEditor";
import { Section } from "../Section";
import { TagInserter } from "../TagInserter";
import { TemplatePicker } from "../TemplatePicker";

/** Where a tag goes (the subject or the body, whichever had the focus last), and the Outlook draft as the message. */
function useMessageEditor(draft: Draft, update: (patch: Partial<Draft>) => void, onNotice: (text: string) => void, onError: (e: unknown) => void) {
  const { t } = useI18n();
  const body = useRef<BodyEditorHandle>(null);
  const subject = useRef<HTMLInputElement>(null);
  const [target, setTarget] = useState<"subject" | "body">("body");

  const insertTag = (tag: string) => {
    if (target === "subject") {
      const el = subject.current;
      const start = el?.selectionStart ?? draft.subject.length;
      const { text, caret } = insertAt(draft.subject, start, el?.selectionEnd ?? start, tag);
      update({ subject: text });
      requestAnimationFrame(() => {
        el?.focus();
        el?.setSelectionRange(caret, caret);
      });
    } else {
      body.current?.insertText(tag);
    }
  };

  const loadOutlookDraft = async () => {
    try {
      const d = await readComposeDraft();
      update({ subject: d.subject, body: sanitizeHtml(d.body), templateId: null });
      onNotice(t("draftLoaded"));
    } catch (e) {
      onError(e);
    }
  };
  return { body, subject, target, setTarget, insertTag, loadOutlookDraft };
}

/** The message: a saved template, the Outlook draft, tags, subject and body. */
export const MessageSection: FC<{
  mode: MailingMode;
  draft: Draft;
  update: (patch: Partial<Draft>) => void;
  fieldError: (k: "subject" | "body") => string | undefined;
  onNotice: (text: string) => void;
  onError: (e: unknown) => void;
}> = ({ mode, draft, update, fieldError, onNotice, onError }) => {
  const { t, formatNumber } = useI18n();
  const env = useEnv();
  const subjectHint = useId();
  const { body: bodyRef, subject: subjectRef, target, setTarget, insertTag, loadOutlookDraft } = useMessageEditor(draft, update, onNotice, onError);
  const showDraftButton = env.office.host === "outlook" && env.office.compose && canUseDraft();
  const subjectLength = draft.subject.length;
  const subjectError = fieldError("subject");
  const bodyError = fieldError("body");

  return (
    <Section title={t("stepMessage")} testId="message-section">
      <TemplatePicker
        mode={mode}
        subject={draft.subject}
        body={draft.body}
        onPick={(tpl) => update({ subject: tpl.subject, body: sanitizeHtml(tpl.body), templateId: tpl.id })}
        onMessage={onNotice}
        onError={onError}
      />
      {showDraftButton && (
        <Button icon={<DocumentArrowDownRegular />} onClick={() => void loadOutlookDraft()} style={{ alignSelf: "flex-start" }}>
          {t("useDraft")}
        </Button>
      )}
      {/* Above the subject, so the subject stays in view while a tag goes into it. */}
      <TagInserter resources={MODES[mode].tagResources} target={target} onInsert={insertTag} />
      <Field
        label={t("subject")}
        required
        data-field="subject"
        validationState={subjectError ? "error" : subjectLength > LONG_SUBJECT ? "warning" : "none"}
        validationMessage={
          subjectError ?? (subjectLength > LONG_SUBJECT ? t("subjectLong", { n: formatNumber(subjectLength), max: MAX_SUBJECT }) : undefined)
        }
        hint={subjectLength <= LONG_SUBJECT ? { children: t("subjectLength", { n: formatNumber(subjectLength), max: MAX_SUBJECT }), id: subjectHint } : undefined}
      >
        <Input
          ref={subjectRef}
          value={draft.subject}
          onChange={(_, d) => update({ subject: d.value })}
          onFocus={() => setTarget("subject")}
          data-testid="subject"
        />
      </Field>
      <Field label={t("body")} hint={t("bodyHint")} required data-field="body" validationState={bodyError ? "error" : "none"} validationMessage={bodyError}>
        {(fieldProps) => (
          <BodyEditor
            ref={bodyRef}
            value={draft.body}
            onChange={(html) => update({ body: html })}
            label={t("body")}
            describedBy={(fieldProps as { "aria-describedby"?: string })["aria-describedby"]}
            onFocus={() => setTarget("body")}
            invalid={!!bodyError}
          />
        )}
      </Field>
      <OptOutFooter mode={mode} draft={draft} update={update} />
    </Section>
  );
};
