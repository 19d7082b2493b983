import { useState, type FC } from "react";
import {
  Badge,
  Button,
  Card,
  ProgressBar,
  Spinner,
  Text,
  makeStyles,
  tokens,
  type BadgeProps,
} from "@fluentui/react-components";
import {
  ArrowClockwiseRegular,
  ArrowDownloadRegular,
  ArrowRepeatAllRegular,
  DismissCircleRegular,
  PauseRegular,
  PlayRegular,
} from "@fluentui/react-icons";
import { downloadResults } from "../api/client";
import { isFinished, isRunning, type MailingAction, type MailingState, type MailingStatus } from "../api/types";
import { useI18n, type I18n, type StringKey } from "../i18n";
import { useMailings } from "../state/mailings";
import { ErrorBar } from "./ErrorBar";
import { modeLabelKey } from "./SearchPanel";

const useStyles = makeStyles({
  root: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalM },
  head: { display: "flex", justifyContent: "space-between", alignItems: "center", gap: tokens.spacingHorizontalS, flexWrap: "wrap" },
  list: { listStyleType: "none", margin: 0, padding: 0, display: "flex", flexDirection: "column", gap: tokens.spacingVerticalS },
  card: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalXS },
  title: { overflowWrap: "anywhere" },
  counts: { display: "flex", flexWrap: "wrap", gap: `0 ${tokens.spacingHorizontalM}`, fontSize: tokens.fontSizeBase200 },
  actions: { display: "flex", flexWrap: "wrap", gap: tokens.spacingHorizontalXS },
});

const STATE_KEY: Record<MailingState, StringKey> = {
  Preparing: "statePreparing",
  Ready: "stateReady",
  Scheduled: "stateScheduled",
  Queued: "stateQueued",
  Sending: "stateSending",
  Paused: "statePaused",
  Completed: "stateCompleted",
  Cancelled: "stateCancelled",
  Failed: "stateFailed",
};
const STATE_COLOR: Record<MailingState, BadgeProps["color"]> = {
  Preparing: "warning",
  Ready: "informative",
  Scheduled: "informative",
  Queued: "warning",
  Sending: "warning",
  Paused: "informative",
  Completed: "success",
  Cancelled: "subtle",
  Failed: "danger",
};

export function formatEta(seconds: number, t: I18n["t"]): string {
  if (seconds < 60) return t("etaSeconds", { n: Math.max(1, Math.round(seconds)) });
  if (seconds < 3600) return t("etaMinutes", { n: Math.ceil(seconds / 60) });
  const h = Math.floor(seconds / 3600);
  return t("etaHours", { h, m: Math.ceil((seconds % 3600) / 60) });
}

function saveBlob(blob: Blob, fileName: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  a.style.display = "none";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const MailingCard: FC<{ m: MailingStatus; onError: (e: unknown) => void }> = ({ m, onError }) => {
  const { t, lang, formatDate, formatNumber } = useI18n();
  const { act } = useMailings();
  const s = useStyles();
  const [busy, setBusy] = useState<string | null>(null);
  const subject = m.subject || m.id;
  const done = m.total - m.pending;
  const value = m.total > 0 ? done / m.total : isFinished(m.state) ? 1 : 0;

  const run = async (a: MailingAction) => {
    setBusy(a);
    try {
      await act(m.id, a);
    } catch (e) {
      onError(e);
    } finally {
      setBusy(null);
    }
  };
  const download = async (l: "ja" | "en") => {
    setBusy("download");
    try {
      const { blob, fileName } = await downloadResults(m.id, l);
      saveBlob(blob, fileName);
    } catch (e) {
      onError(e);
    } finally {
      setBusy(null);
    }
  };
  const n = (k: StringKey, v: number | undefined) => (v ? <span>{t(k, { n: formatNumber(v) })}</span> : null);

  return (
    <li data-mailing-id={m.id} data-state={m.state}>
      <Card className={s.card} aria-label={subject}>
        <div className={s.head}>
          <Text weight="semibold" className={s.title}>
            {subject}
          </Text>
          <Badge color={STATE_COLOR[m.state]} appearance="tint" aria-label={t("stateLabel", { state: t(STATE_KEY[m.state]) })}>
            {t(STATE_KEY[m.state])}
          </Badge>
        </div>
        <Text size={200}>
          {t(modeLabelKey(m.mode))} · {t("created", { date: formatDate(m.createdAt) })}
          {m.finishedAt ? ` · ${t("finished", { date: formatDate(m.finishedAt) })}` : ""}
        </Text>
        <ProgressBar
          value={value}
          max={1}
          color={m.state === "Failed" ? "error" : isFinished(m.state) ? "success" : "brand"}
          thickness="large"
          aria-label={t("progress", { subject })}
          aria-valuetext={`${formatNumber(done)} / ${formatNumber(m.total)}`}
        />
        <div className={s.counts} data-testid="mailing-counts">
          <span>{t("countSent", { n: formatNumber(m.sent) })}</span>
          {n("countFailed", m.failed)}
          {n("countSkipped", m.skipped)}
          {n("countBounced", m.bounced)}
          {n("countCancelled", m.cancelled)}
          {n("countPending", m.pending)}
        </div>
        {isRunning(m.state) && m.etaSeconds != null && <Text size={200}>{t("eta", { time: formatEta(m.etaSeconds, t) })}</Text>}
        {m.state === "Paused" && m.pausedReason && <Text size={200}>{t("pausedBecause", { reason: m.pausedReason })}</Text>}
        {isRunning(m.state) && m.waitReason && <Text size={200}>{t("waiting", { reason: m.waitReason })}</Text>}
        <div className={s.actions} role="group" aria-label={t("actionsFor", { subject })}>
          {isRunning(m.state) && (
            <Button size="small" icon={<PauseRegular />} onClick={() => void run("pause")} disabled={busy !== null}>
              {t("pause")}
            </Button>
          )}
          {m.state === "Paused" && (
            <Button size="small" icon={<PlayRegular />} onClick={() => void run("resume")} disabled={busy !== null}>
              {t("resume")}
            </Button>
          )}
          {!isFinished(m.state) && (
            <Button size="small" icon={<DismissCircleRegular />} onClick={() => void run("cancel")} disabled={busy !== null}>
              {t("cancelMailing")}
            </Button>
          )}
          {m.failed > 0 && isFinished(m.state) && (
            <Button size="small" icon={<ArrowRepeatAllRegular />} onClick={() => void run("retry-failed")} disabled={busy !== null}>
              {t("retryFailed")}
            </Button>
          )}
          <Button
            size="small"
            appearance={isFinished(m.state) ? "primary" : "secondary"}
            icon={<ArrowDownloadRegular />}
            onClick={() => void download(lang)}
            disabled={busy !== null}
            data-testid="download-csv"
          >
            {t("download")}
          </Button>
          {lang === "ja" && (
            <Button size="small" appearance="subtle" onClick={() => void download("en")} disabled={busy !== null}>
              {t("downloadOther")}
            </Button>
          )}
          {busy && <Spinner size="extra-tiny" aria-label={t("loading")} />}
        </div>
      </Card>
    </li>
  );
};

/** 一括処理実行状況: the user's mailings with progress, ETA, counts and controls (MISSION §5, §6.3). */
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
