import type { FC } from "react";
import type { ScopeKind } from "../../api/types";
import { useI18n } from "../../i18n";
import type { Selection } from "../../model/search";
import { ErrorBar } from "../ErrorBar";
import { MailFieldsPicker } from "../MailFieldsPicker";
import { ScopeStep } from "../ScopeStep";
import { Section } from "../Section";
import type { Recipients } from "./useRecipients";

/** Who gets the mail: all matching the search, the displayed or the checked records. */
export const ScopeSection: FC<{ value: ScopeKind | null; selection: Selection; onChange: (k: ScopeKind) => void; error?: string }> = ({
  value,
  selection,
  onChange,
  error,
}) => {
  const { t } = useI18n();
  return (
    <Section title={t("stepScope")}>
      <ScopeStep value={value} selection={selection} onChange={onChange} error={error} />
    </Section>
  );
};

/** Which of the recipients' mail fields the mail goes to, with how many records have an address in each. */
export const MailFieldsSection: FC<{ recipients: Recipients; value: string[]; onChange: (v: string[]) => void; error?: string }> = ({
  recipients,
  value,
  onChange,
  error,
}) => {
  const { t } = useI18n();
  return (
    <Section title={t("stepRecipients")}>
      <ErrorBar error={recipients.fieldsError} />
      <MailFieldsPicker
        fields={recipients.fields}
        counts={recipients.counts?.fields ?? null}
        records={recipients.counts?.records ?? null}
        counting={recipients.counting}
        value={value}
        onChange={onChange}
        error={error}
      />
      <ErrorBar error={recipients.countError} />
    </Section>
  );
};
