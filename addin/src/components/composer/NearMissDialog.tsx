import type { FC } from "react";
import { Text } from "@fluentui/react-components";
import { useI18n } from "../../i18n";
import { AskDialog } from "../AskDialog";
import type { NearMiss } from "./useSendFlow";

/** "Did you mean …?" for tag spellings the server refused as near misses: send as typed, or fix them (focus). */
export const NearMissDialog: FC<{ nearMiss: NearMiss | null; onSend: () => void; onFix: () => void }> = ({ nearMiss, onSend, onFix }) => {
  const { t } = useI18n();
  return (
    <AskDialog
      open={nearMiss !== null}
      title={t("nearMissTitle")}
      body={
        <>
          <Text as="p" block>
            {t("nearMissBody")}
          </Text>
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
      onYes={onSend}
      onNo={onFix}
      testId="ask-near-miss"
    />
  );
};
