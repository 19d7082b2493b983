import type { FC } from "react";
import { Field, Radio, RadioGroup } from "@fluentui/react-components";
import type { ScopeKind } from "../api/types";
import { useI18n } from "../i18n";
import { scopeCount } from "../model/draft";
import type { Selection } from "../model/search";

/** All / Displayed / Checked, each with its number (docs/ui.md, 2. Compose). Nothing is chosen unless records are checked. */
export const ScopeStep: FC<{ value: ScopeKind | null; selection: Selection; onChange: (k: ScopeKind) => void; error?: string }> = ({
  value,
  selection,
  onChange,
  error,
}) => {
  const { t, formatNumber } = useI18n();
  const n = (k: ScopeKind) => formatNumber(scopeCount(k, selection));
  return (
    <Field validationState={error ? "error" : "none"} validationMessage={error} data-field="scope">
      <RadioGroup value={value ?? ""} onChange={(_, d) => onChange(d.value as ScopeKind)} aria-label={t("scopeLabel")} data-testid="scope">
        <Radio value="All" label={t("scopeAll", { n: n("All") })} />
        <Radio value="Displayed" label={t("scopeDisplayed", { n: n("Displayed") })} disabled={selection.displayedIds.length === 0} />
        <Radio value="Checked" label={t("scopeChecked", { n: n("Checked") })} disabled={selection.checkedIds.length === 0} />
      </RadioGroup>
    </Field>
  );
};
