import { useState, type FC } from "react";
import { Button, Spinner, Text, makeStyles, tokens } from "@fluentui/react-components";
import { ArrowClockwiseRegular } from "@fluentui/react-icons";
import { useI18n } from "../i18n";
import { useMailings } from "../state/mailings";
import { ErrorBar } from "./ErrorBar";
import { MailingCard } from "./MailingCard";

export { formatEta } from "./formatEta";

const useStyles = makeStyles({
  root: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalM },
  head: { display: "flex", justifyContent: "space-between", alignItems: "center", gap: tokens.spacingHorizontalS, flexWrap: "wrap" },
  list: { listStyleType: "none", margin: 0, padding: 0, display: "flex", flexDirection: "column", gap: tokens.spacingVerticalS },
});

/** 一括処理実行状況: the user's mailings with progress, ETA, counts and controls (docs/ui.md, 5. Status). */
export const StatusScreen: FC = () => {
  const { t } = useI18n();
  const s = useStyles();
  const { mailings, loading, error, refresh } = useMailings();
  const [actionError, setActionError] = useState<unknown>(null);
  return (
    <section className={s.root} aria-labelledby="status-title" data-testid="status-screen">
      <div className={s.head}>
        <Text as="h1" id="status-title" size={500} weight="semibold" style={{ margin: 0 }}>
          {t("statusTitle")}
        </Text>
        <Button icon={<ArrowClockwiseRegular />} onClick={() => void refresh()} size="small">
          {t("refresh")}
        </Button>
      </div>
      <ErrorBar error={error} />
      <ErrorBar error={actionError} onDismiss={() => setActionError(null)} />
      {loading && <Spinner size="tiny" label={t("loading")} />}
      {!loading && mailings.length === 0 && <Text>{t("noMailings")}</Text>}
      <ul className={s.list}>
        {mailings.map((m) => (
          <MailingCard key={m.id} m={m} onError={setActionError} />
        ))}
      </ul>
    </section>
  );
};
