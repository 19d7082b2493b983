import { useEffect, useRef, useState, type FC } from "react";
import { Button, MessageBar, MessageBarActions, MessageBarBody, Spinner, makeStyles } from "@fluentui/react-components";
import { ArrowUndoRegular } from "@fluentui/react-icons";
import { useI18n } from "../i18n";
import { announceAt, secondsLeft } from "../model/schedule";

const useStyles = makeStyles({
  srOnly: { position: "absolute", width: "1px", height: "1px", overflow: "hidden", clipPath: "inset(50%)", whiteSpace: "nowrap", margin: 0 },
});

/**
 * The undo window after Start (docs/ui.md, 4. Confirmation): 「送信を取り消す（残り 27 秒）」 counting down to the deadline
 * (the server's undoUntil in this browser's clock), shown on every screen until it ends. The button's text changes
 * every second; screen readers hear the count at the start, every 10 s and at 5 s (a polite live region), not each tick.
 * The focus moves to Undo when the bar appears.
 */
export const UndoBar: FC<{
  subject: string;
  deadline: number;
  busy: boolean;
  onUndo: () => void;
  /** The window closed (the countdown reached 0): the mailing goes on. */
  onExpire: () => void;
}> = ({ subject, deadline, busy, onUndo, onExpire }) => {
  const { t } = useI18n();
  const s = useStyles();
  const [first] = useState(() => secondsLeft(deadline, Date.now()));
  const [left, setLeft] = useState(first);
  const [announced, setAnnounced] = useState(() => t("undoAnnounce", { subject, n: first }));
  const buttonRef = useRef<HTMLButtonElement>(null);
  const expire = useRef(onExpire);
  useEffect(() => {
    expire.current = onExpire;
  }, [onExpire]);

  useEffect(() => {
    buttonRef.current?.focus();
  }, []);

  // The clock is the external system: a tick four times a second keeps the shown second right without drifting.
  useEffect(() => {
    let last = first;
    const h = setInterval(() => {
      const n = secondsLeft(deadline, Date.now());
      if (n === last) return;
      last = n;
      setLeft(n);
      if (announceAt(n, first)) setAnnounced(t("undoAnnounce", { subject, n }));
      if (n === 0) {
        clearInterval(h);
        expire.current();
      }
    }, 250);
    return () => clearInterval(h);
  }, [deadline, first, subject, t]);

  return (
    <MessageBar intent="warning" layout="multiline" data-testid="undo-bar">
      <MessageBarBody>{t("undoPending", { subject })}</MessageBarBody>
      <MessageBarActions>
        <Button appearance="primary" icon={busy ? <Spinner size="extra-tiny" /> : <ArrowUndoRegular />} onClick={onUndo} disabled={busy || left === 0} ref={buttonRef} data-testid="undo-button">
          {t("undoButton", { n: left })}
        </Button>
      </MessageBarActions>
      <span className={s.srOnly} aria-live="polite" data-testid="undo-live">
        {announced}
      </span>
    </MessageBar>
  );
};
