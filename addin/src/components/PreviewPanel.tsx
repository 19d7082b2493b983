import { useEffect, useMemo, useState, type FC } from "react";
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
import type { MailingRequest, PreviewMessage, PreviewResponse, PreviewWarning, SkippedRecord } from "../api/types";
import { useI18n, type I18n } from "../i18n";
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

/** Server warnings in the user's language, by code; the server's English text otherwise. */
export function warningText(w: PreviewWarning, t: I18n["t"]): string {
  const count = w.count;
  switch (w.code) {
    case "EmptyTag":
      return t("warnEmptyTag", { tag: /\{\{[^}]+\}\}/.exec(w.message)?.[0] ?? "", count });
    case "InvalidAddress":
      return t("warnInvalidAddress", { count });
    case "NoAddress":
      return t("warnNoAddress", { count });
    case "RecordNotFound":
      return t("warnRecordNotFound", { count });
    case "DuplicateAddress":
      return t("warnDuplicateAddress", { count });
    case "NearMissTag":
      return t("warnNearMissTag", { found: w.args?.found ?? "", suggestion: w.args?.suggestion ?? "" });
    default:
      return w.message;
  }
}

const SKIP_TEXT = { InvalidAddress: "skipInvalidAddress", NoAddress: "skipNoAddress", RecordNotFound: "skipRecordNotFound" } as const;
type SkipCode = keyof typeof SKIP_TEXT;
const isSkip = (code: string): code is SkipCode => code in SKIP_TEXT;

/** One skipped record named: 「吉田 恵：メールアドレスが無効なため送信しません（tanaka7.example.com）」. */
export function skippedText(code: SkipCode, r: SkippedRecord, t: I18n["t"]): string {
  // The one the message was for (the job's recruiter in 推薦), else the listed record, else its id.
  const name = r.recipientName || r.recordName || `#${r.recordId}`;
  return t(SKIP_TEXT[code], { name, address: r.address ?? "" });
}

type Skip = { code: SkipCode; record: SkippedRecord };

/** The named skips of a preview's warnings, by record id. */
function skipsOf(warnings: PreviewWarning[], into = new Map<number, Skip[]>()): Map<number, Skip[]> {
  for (const w of warnings) {
    if (!isSkip(w.code)) continue;
    for (const r of w.records ?? []) into.set(r.recordId, [...(into.get(r.recordId) ?? []).filter((x) => x.code !== w.code), { code: w.code, record: r }]);
  }
  return into;
}

const frameDoc = (html: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><base target="_blank"><style>body{font-family:"Segoe UI","Meiryo",sans-serif;font-size:14px;margin:8px;overflow-wrap:anywhere}</style></head><body>${html}</body></html>`;

/** Steps through the recipients' messages rendered as they will be sent, with the warnings (docs/ui.md, 3. Preview and test send). */
export const PreviewPanel: FC<{
  preview: PreviewResponse;
  request: MailingRequest;
  /** The records to step through (the ids of a Checked/Displayed scope); null = the server's samples. */
  recordIds: number[] | null;
}> = ({ preview, request, recordIds }) => {
  const { t, formatNumber } = useI18n();
  const s = useStyles();
  const initial = useMemo(() => {
    const m = new Map<number, PreviewMessage[]>();
    for (const sample of preview.samples) m.set(sample.recordId, [...(m.get(sample.recordId) ?? []), sample]);
    // The server sends the first few deliveries: the last record in them may be cut short.
    const last = preview.samples[preview.samples.length - 1];
    if (last && preview.samples.length >= 5 && recordIds) m.delete(last.recordId);
    return m;
  }, [preview, recordIds]);
  const [cache, setCache] = useState(initial);
  const order = useMemo(
    () => recordIds ?? [...new Set(preview.samples.map((x) => x.recordId))],
    [recordIds, preview.samples],
  );
  const [index, setIndex] = useState(0);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const recordId = order[index];

  const [skips, setSkips] = useState(() => skipsOf(preview.warnings));
  useEffect(() => setCache(initial), [initial]);
  useEffect(() => setSkips(skipsOf(preview.warnings)), [preview]);

  useEffect(() => {
    if (recordId === undefined || cache.has(recordId)) return;
    let live = true;
    setLoading(true);
    setError(null);
    previewMailing({ ...request, previewRecordId: recordId })
      .then((r) => {
        if (!live) return;
        setCache((c) => new Map(c).set(recordId, r.samples.filter((x) => x.recordId === recordId)));
        // A record without a message: its warning names it (the step's preview covers this record alone).
        setSkips((m) => skipsOf(r.warnings, new Map(m)));
      })
      .catch((e: unknown) => live && setError(e))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [recordId, cache, request]);

  const messages = recordId !== undefined ? cache.get(recordId) : undefined;

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
      <ErrorBar error={error} />
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
