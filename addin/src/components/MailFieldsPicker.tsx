import { useId, type FC } from "react";
import { Checkbox, Spinner, Text, makeStyles, tokens } from "@fluentui/react-components";
import type { HrbcField, MailFieldCount } from "../api/types";
import { useI18n } from "../i18n";

const useStyles = makeStyles({ list: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalXXS } });

/** The recipient resource's mail fields, each with how many records of the scope have an address in it (docs/ui.md, 2. Compose). */
export const MailFieldsPicker: FC<{
  fields: HrbcField[];
  counts: MailFieldCount[] | null;
  records: number | null;
  counting: boolean;
  value: string[];
  onChange: (v: string[]) => void;
  error?: string;
}> = ({ fields, counts, records, counting, value, onChange, error }) => {
  const { t, formatNumber } = useI18n();
  const s = useStyles();
  const hintId = useId();
  const errorId = useId();
  // Not inside a Fluent Field: a Field gives every checkbox in it the same id.
  return (
    <div data-field="mailFields">
      <div
        className={s.list}
        role="group"
        aria-label={t("stepRecipients")}
        aria-describedby={error ? `${errorId} ${hintId}` : hintId}
        data-testid="mail-fields"
      >
        {fields.map((f) => {
          const c = counts?.find((x) => x.alias === f.alias);
          const label =
            c && records != null
              ? t("mailFieldCount", { label: f.label, count: formatNumber(c.count), records: formatNumber(records) })
              : t("mailFieldCountUnknown", { label: f.label });
          return (
            <Checkbox
              key={f.alias}
              checked={value.includes(f.alias)}
              onChange={(_, d) => onChange(d.checked ? [...value, f.alias] : value.filter((a) => a !== f.alias))}
              label={label}
              data-alias={f.alias}
              aria-invalid={error ? true : undefined}
            />
          );
        })}
        {counting && <Spinner size="extra-tiny" label={t("countingFields")} />}
        {fields.length === 0 && !counting && <Text>—</Text>}
      </div>
      {error && (
        <Text id={errorId} role="alert" size={200} block style={{ color: tokens.colorPaletteRedForeground1 }} data-testid="mail-fields-error">
          {error}
        </Text>
      )}
      <Text id={hintId} size={200} block style={{ color: tokens.colorNeutralForeground3 }}>
        {t("recipientsHint")}
      </Text>
    </div>
  );
};
