import { type FC } from "react";
import { Button, Spinner, Text, makeStyles, tokens } from "@fluentui/react-components";
import type { DeliveriesFilter } from "../api/types";
import { useI18n } from "../i18n";
import { formatWhen } from "../model/schedule";
import { useDeliveries } from "../state/queries";
import { ErrorBar } from "./ErrorBar";

const useStyles = makeStyles({
  list: { listStyleType: "none", margin: 0, padding: 0, display: "flex", flexDirection: "column", gap: tokens.spacingVerticalXXS },
  item: { display: "flex", flexDirection: "column", fontSize: tokens.fontSizeBase200, overflowWrap: "anywhere" },
  meta: { color: tokens.colorNeutralForeground3 },
});

/** 返信あり / Who replied (or 不達 / Bounced) of one mailing: its deliveries from the server, a page at a time. */
export const DeliveriesList: FC<{ mailingId: string; filter: Exclude<DeliveriesFilter, "all">; headingId: string }> = ({ mailingId, filter, headingId }) => {
  const { t, lang } = useI18n();
  const s = useStyles();
  const q = useDeliveries(mailingId, filter, true);
  const items = q.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section aria-labelledby={headingId} data-testid={`deliveries-${filter}`}>
      <Text as="h3" id={headingId} size={200} weight="semibold" style={{ margin: 0 }}>
        {filter === "replied" ? t("repliedList") : t("bouncedList")}
      </Text>
      <ErrorBar error={q.error} />
      {q.isPending && <Spinner size="extra-tiny" label={t("loading")} />}
      {!q.isPending && items.length === 0 && !q.error && <Text size={200}>{t("noDeliveries")}</Text>}
      <ul className={s.list}>
        {items.map((d) => (
          <li key={d.deliveryId} className={s.item}>
            <span>
              {d.recordName ?? `#${d.recordId}`}
              {d.address ? ` <${d.address}>` : ""}
            </span>
            <span className={s.meta}>
              {filter === "replied"
                ? t("repliedAt", { at: formatWhen(d.repliedAt, lang) })
                : [d.bounceKind === "Hard" ? t("bounceHard") : d.bounceKind === "Soft" ? t("bounceSoft") : null, d.bounceReason, formatWhen(d.bouncedAt, lang)]
                    .filter(Boolean)
                    .join(" · ")}
            </span>
          </li>
        ))}
      </ul>
      {q.hasNextPage && (
        <Button size="small" appearance="subtle" onClick={() => void q.fetchNextPage()} disabled={q.isFetchingNextPage}>
          {q.isFetchingNextPage ? <Spinner size="extra-tiny" /> : t("showMore")}
        </Button>
      )}
    </section>
  );
};
