import type { FC } from "react";
import { Button, makeStyles, tokens, Tooltip } from "@fluentui/react-components";
import { useI18n } from "../i18n";
import { useMailings, type IndicatorState } from "../state/mailings";

const useStyles = makeStyles({
  dot: {
    display: "inline-block",
    width: "10px",
    height: "10px",
    borderRadius: tokens.borderRadiusCircular,
    flexShrink: 0,
  },
  idle: { backgroundColor: tokens.colorNeutralStroke1 },
  running: {
    backgroundColor: tokens.colorPaletteDarkOrangeBorderActive,
    animationName: { "0%": { opacity: 1, transform: "scale(1)" }, "50%": { opacity: 0.35, transform: "scale(0.8)" }, "100%": { opacity: 1, transform: "scale(1)" } },
    animationDuration: "1.2s",
    animationIterationCount: "infinite",
    "@media (prefers-reduced-motion: reduce)": { animationName: "none" },
  },
  paused: { backgroundColor: tokens.colorPaletteDarkOrangeBorderActive },
  // Waiting for its time: calm blue, no pulse.
  scheduled: { backgroundColor: tokens.colorBrandBackground },
  done: { backgroundColor: tokens.colorPaletteGreenBorderActive },
  // Cancelled is not success: its own neutral dark colour, never green.
  cancelled: { backgroundColor: tokens.colorNeutralForeground3 },
  failed: { backgroundColor: tokens.colorPaletteRedBorderActive },
  label: { overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap", maxWidth: "150px" },
});

/** Header indicator: orange and pulsing while a mailing runs, blue while all that run wait for their time (Scheduled), green when sent, grey when cancelled, red when failed.
 * Counts messages decided (sent + failed + bounced) of messages to send; skips are not progress. Opens the status screen. */
export const StatusIndicator: FC<{ onOpen: () => void }> = ({ onOpen }) => {
  const { t, formatNumber } = useI18n();
  const { indicator } = useMailings();
  const s = useStyles();
  const n = { done: formatNumber(indicator.done), total: formatNumber(indicator.total) };
  const sent = { sent: formatNumber(indicator.sent) };
  const TEXT: Record<IndicatorState, string> = {
    running: t("indicatorRunning", n),
    scheduled: t("indicatorScheduled", n),
    paused: t("indicatorPaused", n),
    done: t("indicatorDone", sent),
    cancelled: t("indicatorCancelled", sent),
    failed: t("indicatorFailed", sent),
    idle: t("indicatorIdle"),
  };
  const text = TEXT[indicator.state];
  return (
    <Tooltip content={text} relationship="description">
      <Button
        appearance="subtle"
        size="small"
        onClick={onOpen}
        aria-label={t("indicatorLabel", { state: text })}
        data-testid="status-indicator"
        data-state={indicator.state}
        icon={<span className={`${s.dot} ${s[indicator.state]}`} aria-hidden="true" />}
      >
        <span className={s.label} aria-live="polite">
          {text}
        </span>
      </Button>
    </Tooltip>
  );
};
