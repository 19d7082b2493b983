import type { FC } from "react";
import { Button, Card, Text, makeStyles, tokens } from "@fluentui/react-components";
import { ArrowLeftRegular, AttachRegular } from "@fluentui/react-icons";
import type { HrbcRecord } from "../api/types";
import { useI18n } from "../i18n";
import type { AnchorKind } from "../model/modes";

const useStyles = makeStyles({
  card: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalXS },
  files: { display: "flex", alignItems: "center", gap: tokens.spacingHorizontalXS, overflowWrap: "anywhere" },
});

/** The job or resume a matching list starts from. */
export const AnchorHeader: FC<{ kind: AnchorKind; record: HrbcRecord; onBack: () => void }> = ({ kind, record, onBack }) => {
  const { t } = useI18n();
  const s = useStyles();
  return (
    <>
      <Button appearance="subtle" icon={<ArrowLeftRegular />} onClick={onBack} style={{ alignSelf: "flex-start" }}>
        {t("backToSearch")}
      </Button>
      <Card className={s.card} data-testid="anchor" data-anchor-id={record.id}>
        <Text size={200}>{kind === "job" ? t("anchorJob") : t("anchorResume")}</Text>
        <Text as="h1" size={500} weight="semibold" style={{ margin: 0, overflowWrap: "anywhere" }}>
          {record.name}
        </Text>
        {record.subtitle && <Text>{record.subtitle}</Text>}
        <Text size={200} className={s.files}>
          <AttachRegular aria-hidden="true" />
          {record.attachments.length > 0
            ? t("anchorFiles", { files: record.attachments.map((a) => a.fileName).join(", ") })
            : t("noFiles")}
        </Text>
      </Card>
      <Text as="h2" size={400} weight="semibold" style={{ margin: 0 }}>
        {kind === "job" ? t("matchingResumes") : t("matchingJobs")}
      </Text>
    </>
  );
};
