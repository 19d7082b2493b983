import { useEffect, useState, type FC } from "react";
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
  ArrowDownloadRegular,
  ArrowRepeatAllRegular,
  CalendarEditRegular,
  DeleteRegular,
  DismissCircleRegular,
  PauseRegular,
  PlayRegular,
} from "@fluentui/react-icons";
import { downloadResults } from "../api/client";
import { isFinished, isRunning, isWeekDay, type MailingAction, type MailingState } from "../api/types";
import { useI18n, type StringKey } from "../i18n";
import { codeText } from "../i18n/strings";
import { decidedOf, etaSecondsAt, messagesOf, secondsUntil, type LiveStatus } from "../model/mailings";
import { useMailings } from "../state/mailings";
import { AskDialog } from "./AskDialog";
import { ChangeTimeDialog } from "./ChangeTimeDialog";
import { DeliveriesList } from "./DeliveriesList";
import { DAY_KEY } from "./composer/ScheduleSection";
import { formatWhen } from "../model/schedule";
import { useServerFeatures } from "../state/queries";
import { formatEta } from "./formatEta";
import { modeLabelKey } from "./modeLabels";

const useStyles = makeStyles({
  head: { display: "flex", justifyContent: "space-between", alignItems: "center", gap: tokens.spacingHorizontalS, flexWrap: "wrap" },
  card: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalXS },
  title: { overflowWrap: "anywhere" },
  counts: { display: "flex", flexWrap: "wrap", gap: `0 ${tokens.spacingHorizontalM}`, fontSize: tokens.fontSizeBase200 },
  actions: { display: "flex", flexWrap: "wrap", gap: tokens.spacingHorizontalXS },
  cancelledBar: { backgroundColor: tokens.colorNeutralForeground3 },
  skipped: { color: tokens.colorNeutralForeground3 },
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
  // Cancelled is its own state: dark, never the green of success.
  Cancelled: "important",
  Failed: "danger",
};

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

/** Re-renders every few seconds while a mailing runs, so the ETA counts down between the server's updates. */
function useNow(active: boolean, ms = 5000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const h = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(h);
  }, [active, ms]);
  return now;
}

/** One mailing: title (its subject), state, progress of messages decided, counts, why it waits, ETA, controls. */
/** Waits of a scheduled mailing: when it begins (not "resumes"). */
const BEGINS: ReadonlySet<string> = new Set(["Scheduled", "UndoWindow"]);

export const MailingCard: FC<{ m: LiveStatus; onError: (e: unknown) => void }> = ({ m, onError }) => {
  const { t, lang, formatDate, formatNumber } = useI18n();
  const { act, remove } = useMailings();
  const s = useStyles();
  const [busy, setBusy] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const [askingDelete, setAskingDelete] = useState(false);
  const [list, setList] = useState<"replied" | "bounced" | null>(null);
  const [changing, setChanging] = useState(false);
  // Each opening starts from the status as it is then (the dialog stays mounted, so Fluent opens and closes it).
  const [changeKey, setChangeKey] = useState(0);
  // A Scheduled mailing that has sent nothing yet: its time can change (a Start replaces the schedule).
  const reschedulable = m.state === "Scheduled" && m.waitCode === "Scheduled" && m.sent === 0;
  const features = useServerFeatures();
  const listId = `${m.id}-deliveries`;
  const tz = m.window?.timeZone;
  const when = (iso: string | null | undefined) => formatWhen(iso, lang, tz);
  const subject = m.subject || m.id;
  const decided = decidedOf(m);
  const messages = messagesOf(m);
  const value = messages > 0 ? Math.min(1, decided / messages) : isFinished(m.state) ? 1 : 0;
  const running = isRunning(m.state);
  const now = useNow(running);
  // The ETA counts down from when the status arrived (a status handed in without that time: from the first render).
  const [mounted] = useState(() => Date.now());
  const waitLeft = secondsUntil(m.resumesAt, now);
  const eta = etaSecondsAt(m, m.receivedAt ?? mounted, now);
  const waitArgs = {
    ...(m.waitArgs ?? {}),
    counted: m.counted != null ? formatNumber(m.counted) : undefined,
    total: m.scopeTotal != null ? formatNumber(m.scopeTotal) : undefined,
    seconds: m.waitArgs?.seconds ?? (waitLeft != null ? Math.ceil(waitLeft) : undefined),
  };
  const waitText = running ? (codeText(lang, m.waitCode, waitArgs) ?? m.waitReason ?? null) : null;
  const pausedText = m.state === "Paused" ? (codeText(lang, m.pausedCode, m.pausedArgs ?? {}) ?? m.pausedReason ?? null) : null;

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
  const del = async () => {
    setBusy("delete");
    try {
      await remove(m.id);
    } catch (e) {
      onError(e);
      setBusy(null);
    }
  };
  // A held mailing (Ready, never started) and a finished one can go; a running one must be cancelled first.
  const deletable = isFinished(m.state) || m.state === "Ready";
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
  const n = (k: StringKey, v: number | undefined | null) => (v ? <span>{t(k, { n: formatNumber(v) })}</span> : null);

  return (
    <li data-mailing-id={m.id} data-state={m.state}>
      <Card className={s.card} aria-label={subject}>
        <div className={s.head}>
          <Text weight="semibold" className={s.title} data-testid="mailing-title">
            {subject}
          </Text>
          <Badge
            color={STATE_COLOR[m.state]}
            appearance="tint"
            aria-label={t("stateLabel", { state: t(STATE_KEY[m.state]) })}
            data-testid="mailing-state"
          >
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
          color={m.state === "Failed" ? "error" : m.state === "Completed" ? "success" : "brand"}
          bar={m.state === "Cancelled" ? { className: s.cancelledBar } : undefined}
          thickness="large"
          aria-label={t("progress", { subject })}
          aria-valuetext={t("progressText", { decided: formatNumber(decided), messages: formatNumber(messages) })}
          data-testid="mailing-progress"
        />
        <Text size={200} data-testid="mailing-progress-text">
          {t("progressText", { decided: formatNumber(decided), messages: formatNumber(messages) })}
        </Text>
        <div className={s.counts} data-testid="mailing-counts">
          <span>{t("countSent", { n: formatNumber(m.sent) })}</span>
          {n("countFailed", m.failed)}
          {n("countBounced", m.bounced)}
          {n("countCancelled", m.cancelled)}
          {n("countPending", m.pending)}
          {n("countReplied", m.replied)}
        </div>
        {m.state === "Scheduled" && m.sendAt && <Text size={200} data-testid="mailing-send-at">{t("sendAtLine", { at: when(m.sendAt) })}</Text>}
        {m.window && !isFinished(m.state) && (
          <Text size={200} data-testid="mailing-window">
            {t("windowLine", {
              days: m.window.days.map((d) => (isWeekDay(d) ? t(DAY_KEY[d]) : d)).join(lang === "ja" ? "・" : ", "),
              from: m.window.from,
              to: m.window.to,
              tz: m.window.timeZone,
            })}
            {m.window.skipHolidays ? t("windowHolidays") : ""}
          </Text>
        )}
        {m.skipped > 0 && (
          <Text size={200} data-testid="mailing-skipped" className={s.skipped}>
            {t("countSkipped", { n: formatNumber(m.skipped) })}
          </Text>
        )}
        {running && eta != null && (
          <Text size={200} data-testid="mailing-eta">
            {t("eta", { time: formatEta(eta, t) })}
            {m.finishesAt ? ` · ${t("finishesAt", { at: m.state === "Scheduled" ? when(m.finishesAt) : formatDate(m.finishesAt) })}` : ""}
          </Text>
        )}
        {pausedText && <Text size={200}>{t("pausedBecause", { reason: pausedText })}</Text>}
        {waitText && (
          <Text size={200} data-testid="mailing-wait" data-wait-code={m.waitCode ?? undefined}>
            {t("waiting", { reason: waitText })}
            {m.resumesAt
              ? ` · ${BEGINS.has(m.waitCode ?? "") ? t("startsAt", { at: when(m.resumesAt) }) : m.waitCode === "OutsideWindow" ? t("resumesAt", { at: when(m.resumesAt) }) : t("resumesAt", { at: formatDate(m.resumesAt) })}`
              : ""}
          </Text>
        )}
        {features?.deliveries && ((m.replied ?? 0) > 0 || m.bounced > 0) && (
          <div className={s.actions}>
            {(m.replied ?? 0) > 0 && (
              <Button
                size="small"
                appearance={list === "replied" ? "primary" : "secondary"}
                aria-expanded={list === "replied"}
                aria-controls={list === "replied" ? listId : undefined}
                onClick={() => setList(list === "replied" ? null : "replied")}
                data-testid="show-replied"
              >
                {t("showReplied", { n: formatNumber(m.replied ?? 0) })}
              </Button>
            )}
            {m.bounced > 0 && (
              <Button
                size="small"
                appearance={list === "bounced" ? "primary" : "secondary"}
                aria-expanded={list === "bounced"}
                aria-controls={list === "bounced" ? listId : undefined}
                onClick={() => setList(list === "bounced" ? null : "bounced")}
                data-testid="show-bounced"
              >
                {t("showBounced", { n: formatNumber(m.bounced) })}
              </Button>
            )}
          </div>
        )}
        {list && (
          <div id={listId}>
            <DeliveriesList key={list} mailingId={m.id} filter={list} headingId={`${listId}-h`} />
          </div>
        )}
        <div className={s.actions} role="group" aria-label={t("actionsFor", { subject })}>
          {running && (
            <Button size="small" icon={<PauseRegular />} onClick={() => void run("pause")} disabled={busy !== null}>
              {t("pause")}
            </Button>
          )}
          {m.state === "Paused" && (
            <Button size="small" icon={<PlayRegular />} onClick={() => void run("resume")} disabled={busy !== null}>
              {t("resume")}
            </Button>
          )}
          {reschedulable && (
            <Button size="small" icon={<CalendarEditRegular />} onClick={() => {
                setChangeKey((k) => k + 1);
                setChanging(true);
              }}
              disabled={busy !== null}
              data-testid="change-time-button">
              {t("changeTime")}
            </Button>
          )}
          {!isFinished(m.state) && (
            <Button size="small" icon={<DismissCircleRegular />} onClick={() => setAsking(true)} disabled={busy !== null} data-testid="cancel-mailing">
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
          {deletable && (
            <Button
              size="small"
              appearance="subtle"
              icon={<DeleteRegular />}
              onClick={() => setAskingDelete(true)}
              disabled={busy !== null}
              data-testid="delete-mailing"
            >
              {t("deleteMailing")}
            </Button>
          )}
          {busy && <Spinner size="extra-tiny" aria-label={t("loading")} />}
        </div>
      </Card>
      {reschedulable && <ChangeTimeDialog key={changeKey} m={m} open={changing} onClose={() => setChanging(false)} />}
      <AskDialog
        open={asking}
        title={t("cancelTitle", { subject })}
        body={t("cancelBody")}
        yes={t("cancelYes")}
        no={t("keepSending")}
        onYes={() => {
          setAsking(false);
          void run("cancel");
        }}
        onNo={() => setAsking(false)}
        testId="ask-cancel"
      />
      <AskDialog
        open={askingDelete}
        title={t("deleteMailingTitle", { subject })}
        body={t("deleteMailingBody")}
        yes={t("deleteYes")}
        no={t("keepMailing")}
        onYes={() => {
          setAskingDelete(false);
          void del();
        }}
        onNo={() => setAskingDelete(false)}
        testId="ask-delete-mailing"
      />
    </li>
  );
};

