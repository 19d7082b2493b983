import { useMemo, useState, type FC } from "react";
import { useQuery } from "@tanstack/react-query";
import {
  Button,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Spinner,
  Text,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import { ChevronLeftRegular, ChevronRightRegular } from "@fluentui/react-icons";
import { previewMailing } from "../api/client";
import type { MailingRequest, PreviewResponse } from "../api/types";
import { useI18n } from "../i18n";
import { frameDoc, isSkip, previewOrder, samplesByRecord, skippedText, skipsOf, warningText, type SkipCode } from "../model/preview";

export { skippedText, warningText } from "../model/preview";
import { keys } from "../state/queryClient";
import { ErrorBar } from "./ErrorBar";

const useStyles = makeStyles({
  root: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalM },
  nav: { display: "flex", alignItems: "center", justifyContent: "space-between", gap: tokens.spacingHorizontalS },
  message: {
    border: `1px solid ${tokens.colorNeutralStroke2}`,
    borderRadius: tokens.borderRadiusMedium,
    padding: tokens.spacingHorizontalS,
    display: "flex",
    flexDirection: "column",
    gap: tokens.spacingVerticalXS,
  },
  meta: { overflowWrap: "anywhere" },
  frame: { width: "100%", minHeight: "220px", border: `1px solid ${tokens.colorNeutralStroke2}`, backgroundColor: "#fff" },
  warnList: { margin: 0, paddingInlineStart: "18px" },
});

/** Steps through the recipients' messages rendered as they will be sent, with the warnings (docs/ui.md, 3. Preview and test send). */
export const PreviewPanel: FC<{
  preview: PreviewResponse;
  request: MailingRequest;
  /** The records to step through (the ids of a Checked/Displayed scope); null = the server's samples. */
  recordIds: number[] | null;
}> = ({ preview, request, recordIds }) => {
  const { t, formatNumber } = useI18n();
  const s = useStyles();
  const initial = useMemo(() => samplesByRecord(preview, recordIds), [preview, recordIds]);
  const order = useMemo(() => previewOrder(preview, recordIds), [recordIds, preview]);
  const [index, setIndex] = useState(0);
  const recordId = order[index];
  // A record the server's samples do not cover is previewed on its own (kept per request and record).
  const known = recordId !== undefined ? initial.get(recordId) : undefined;
  const one = useQuery({
    queryKey: keys.previewOf(request, recordId ?? -1),
    queryFn: ({ signal }) =>
      previewMailing({ ...request, previewRecordId: recordId! }, signal).then((r) => ({
        messages: r.samples.filter((x) => x.recordId === recordId),
        warnings: r.warnings,
      })),
    enabled: recordId !== undefined && known === undefined,
    staleTime: Infinity,
  });
  const messages = known ?? one.data?.messages;
  // A record without a message: a warning names it (the step's own preview covers this record alone).
  const skips = useMemo(() => skipsOf(one.data?.warnings ?? [], skipsOf(preview.warnings)), [one.data, preview.warnings]);
  const loading = known === undefined && one.isFetching;

  return (
    <div className={s.root} data-testid="preview">
      <Text>
        {t("previewSummary", {
          messages: formatNumber(preview.messages),
          records: formatNumber(preview.records),
          skipped: formatNumber(preview.skipped),
        })}
      </Text>
      {!preview.complete && (
        <Text size={200}>{t("previewIncomplete", { records: formatNumber(preview.records), total: formatNumber(preview.scopeTotal) })}</Text>
      )}
      {preview.confirmation?.optOutFooter != null && (
        <Text size={200} data-testid="preview-footer">
          {preview.confirmation.optOutFooter ? t("previewFooterOn") : t("previewFooterOff")}
        </Text>
      )}
      {preview.warnings.length > 0 && (
        <MessageBar intent="warning" layout="multiline">
          <MessageBarBody>
            <MessageBarTitle>{t("warnings")}</MessageBarTitle>
            <ul className={s.warnList} data-testid="preview-warnings">
              {preview.warnings.map((w) => (
                <li key={w.code + w.message} data-code={w.code}>
                  {warningText(w, t)}
                  {isSkip(w.code) && (w.records?.length ?? 0) > 0 ? (
                    <ul className={s.warnList} data-testid={`skipped-${w.code}`}>
                      {w.records!.map((r) => (
                        <li key={r.recordId + (r.mailField ?? "")}>
                          <Text size={200}>{skippedText(w.code as SkipCode, r, t)}</Text>
                        </li>
                      ))}
                    </ul>
                  ) : (
                    w.examples.length > 0 && <Text size={200}> ({w.examples.join("; ")})</Text>
                  )}
                </li>
              ))}
            </ul>
          </MessageBarBody>
        </MessageBar>
      )}

      {order.length > 0 && (
        <nav className={s.nav} aria-label={t("recipientOf", { i: index + 1, n: order.length })}>
          <Button
            icon={<ChevronLeftRegular />}
            aria-label={t("previousRecipient")}
            disabled={index === 0}
            onClick={() => setIndex((i) => Math.max(0, i - 1))}
          />
          <Text aria-live="polite" data-testid="recipient-position">
            {t("recipientOf", { i: formatNumber(index + 1), n: formatNumber(order.length) })}
          </Text>
          <Button
            icon={<ChevronRightRegular />}
            aria-label={t("nextRecipient")}
            disabled={index >= order.length - 1}
            onClick={() => setIndex((i) => Math.min(order.length - 1, i + 1))}
            data-testid="next-recipient"
          />
        </nav>
      )}
      <ErrorBar error={known === undefined ? one.error : null} />
      {loading && <Spinner size="tiny" label={t("loading")} />}
      {messages && messages.length === 0 && (
        <div data-testid="record-skipped">
          {(recordId !== undefined ? (skips.get(recordId) ?? []) : []).map((x) => (
            <Text as="p" block key={x.code + (x.record.mailField ?? "")}>
              {skippedText(x.code, x.record, t)}
            </Text>
          ))}
          {!(recordId !== undefined && skips.has(recordId)) && <Text>{t("noMessagesForRecord")}</Text>}
        </div>
      )}
      {messages?.map((m) => (
        <article key={m.seq} className={s.message} aria-label={m.address ?? m.recipientName ?? String(m.recordId)}>
          <Text className={s.meta}>
            <strong>{t("to")}:</strong> {m.recipientName ?? ""} &lt;{m.address}&gt;
          </Text>
          <Text className={s.meta}>
            <strong>{t("subject")}:</strong> <span data-testid="preview-subject">{m.subject}</span>
          </Text>
          {m.emptyTags.length > 0 && (
            <Text size={200} className={s.meta}>
              {t("emptyTags", { tags: m.emptyTags.map((x) => `{{${x}}}`).join(", ") })}
            </Text>
          )}
          <iframe
            className={s.frame}
            title={t("renderedBody", { address: m.address ?? "" })}
            sandbox=""
            srcDoc={frameDoc(m.htmlBody)}
          />
        </article>
      ))}
    </div>
  );
};
