import type { FC } from "react";
import { Checkbox, Text, makeStyles, tokens } from "@fluentui/react-components";
import type { MailingMode } from "../../api/types";
import { useI18n } from "../../i18n";
import { footerDefault, type Draft } from "../../model/draft";

const useStyles = makeStyles({
  root: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalXS },
  hint: { color: tokens.colorPaletteDarkOrangeForeground1 },
});

/** 配信停止リンクとフッター (docs/opt-out.md): ticked by the mode's default until the user chooses; unticked in a
 * newsletter mode, a hint says the law asks for it in advertising mail. */
export const OptOutFooter: FC<{ mode: MailingMode; draft: Draft; update: (patch: Partial<Draft>) => void }> = ({ mode, draft, update }) => {
  const { t } = useI18n();
  const s = useStyles();
  const byDefault = footerDefault(mode);
  const on = draft.optOutFooter ?? byDefault;
  return (
    <div className={s.root}>
      <Checkbox
        checked={on}
        onChange={(_, d) => update({ optOutFooter: d.checked === true })}
        label={t("optOutFooter")}
        aria-describedby={!on && byDefault ? "opt-out-footer-hint" : undefined}
        data-testid="opt-out-footer"
      />
      {!on && byDefault && (
        <Text id="opt-out-footer-hint" size={200} className={s.hint} role="note" data-testid="opt-out-footer-hint">
          {t("optOutFooterHint")}
        </Text>
      )}
    </div>
  );
};
