import { useId, useState, type FC } from "react";
import { Button, Checkbox, Field, Input, Radio, RadioGroup, Select, Spinner, Text, makeStyles, tokens } from "@fluentui/react-components";
import { ChevronDownRegular, ChevronRightRegular } from "@fluentui/react-icons";
import { WEEK_DAYS, type MailingStatus, type WeekDay } from "../../api/types";
import { useI18n, type StringKey } from "../../i18n";
import { DEFAULT_TIME_ZONE, formatWhen, type ScheduleDraft, type ScheduleErrors } from "../../model/schedule";

const useStyles = makeStyles({
  root: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalS, border: "none", margin: 0, padding: 0, minWidth: 0 },
  legend: { fontWeight: tokens.fontWeightSemibold, padding: 0, marginBottom: tokens.spacingVerticalXS },
  row: { display: "flex", flexWrap: "wrap", gap: tokens.spacingHorizontalS, alignItems: "flex-end" },
  days: { display: "flex", flexWrap: "wrap", gap: `0 ${tokens.spacingHorizontalXS}`, border: "none", margin: 0, padding: 0 },
  error: { color: tokens.colorPaletteRedForeground1, fontSize: tokens.fontSizeBase200 },
  hint: { color: tokens.colorNeutralForeground3 },
  outcome: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalXXS },
});

export const DAY_KEY: Record<WeekDay, StringKey> = {
  Mon: "dayMon",
  Tue: "dayTue",
  Wed: "dayWed",
  Thu: "dayThu",
  Fri: "dayFri",
  Sat: "daySat",
  Sun: "daySun",
};

/** Time zones offered: Tokyo first (the default), this browser's own, UTC and a few where recruiters' clients sit. */
export function timeZoneOptions(current: string): string[] {
  let own: string | null;
  try {
    own = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    own = null;
  }
  const list = [DEFAULT_TIME_ZONE, own, current, "UTC", "Asia/Seoul", "Asia/Shanghai", "Asia/Singapore", "Europe/London", "America/New_York", "America/Los_Angeles"];
  return [...new Set(list.filter((x): x is string => !!x))];
}

/**
 * 送信タイミング / When, in the confirmation of a held mailing: now or at a date and time (wall time in the chosen time
 * zone, shown), and an optional sending window (days, from–to, Japanese holidays, time zone). The finish time and when
 * sending begins come from the server's dry run of this very schedule; a problem is shown under the control it names.
 */
export const ScheduleSection: FC<{
  value: ScheduleDraft;
  onChange: (patch: Partial<ScheduleDraft>) => void;
  errors: ScheduleErrors;
  /** The dry run's answer for the schedule shown (null before the first), and whether a newer one is on its way. */
  outcome: MailingStatus | null;
  checking: boolean;
  disabled?: boolean;
}> = ({ value, onChange, errors, outcome, checking, disabled }) => {
  const { t, lang } = useI18n();
  const s = useStyles();
  const id = useId();
  const err = (k: keyof ScheduleErrors) => errors[k]?.join(" ");
  const fieldProps = (k: keyof ScheduleErrors) =>
    err(k) ? { validationState: "error" as const, validationMessage: err(k) } : {};
  const tz = value.timeZone;
  const daysError = err("window.days");
  const at = (iso: string | null | undefined) => formatWhen(iso, lang, tz);
  // The undo window's length is an advanced setting: folded away unless set or refused.
  const [advanced, setAdvanced] = useState(() => value.undoSeconds !== "");
  const showAdvanced = advanced || !!err("undoSeconds");

  return (
    <fieldset className={s.root} data-testid="schedule">
      <legend className={s.legend}>{t("whenLegend")}</legend>
      <RadioGroup
        value={value.when}
        onChange={(_, d) => onChange({ when: d.value === "at" ? "at" : "now" })}
        layout="horizontal"
        aria-label={t("whenLegend")}
        disabled={disabled}
      >
        <Radio value="now" label={t("sendNow")} />
        <Radio value="at" label={t("sendAtTime")} />
      </RadioGroup>
      {value.when === "at" && (
        <div className={s.row}>
          <Field label={t("sendDate")} {...fieldProps("sendAt")}>
            <Input type="date" value={value.date} onChange={(_, d) => onChange({ date: d.value })} disabled={disabled} data-testid="send-date" />
          </Field>
          <Field label={t("sendTime")}>
            <Input type="time" value={value.time} onChange={(_, d) => onChange({ time: d.value })} disabled={disabled} data-testid="send-time" />
          </Field>
        </div>
      )}
      <Field label={t("timeZone")} hint={t("inTimeZone", { tz })} {...fieldProps("window.timeZone")}>
        <Select value={tz} onChange={(_, d) => onChange({ timeZone: d.value })} disabled={disabled} data-testid="time-zone">
          {timeZoneOptions(tz).map((z) => (
            <option key={z} value={z}>
              {z}
            </option>
          ))}
        </Select>
      </Field>
      <Checkbox
        checked={value.useWindow}
        onChange={(_, d) => onChange({ useWindow: d.checked === true })}
        label={t("useWindow")}
        disabled={disabled}
        data-testid="use-window"
      />
      {err("window") && (
        <Text className={s.error} role="alert">
          {err("window")}
        </Text>
      )}
      {value.useWindow && (
        <>
          <fieldset
            className={s.days}
            aria-invalid={daysError ? true : undefined}
            aria-describedby={daysError ? `${id}-days-error` : undefined}
            data-testid="window-days"
          >
            <legend className={s.legend}>{t("windowDays")}</legend>
            {WEEK_DAYS.map((d) => (
              <Checkbox
                key={d}
                label={t(DAY_KEY[d])}
                checked={value.days.includes(d)}
                disabled={disabled}
                onChange={(_, c) => onChange({ days: c.checked === true ? [...value.days, d] : value.days.filter((x) => x !== d) })}
              />
            ))}
          </fieldset>
          {daysError && (
            <Text id={`${id}-days-error`} className={s.error} role="alert">
              {daysError}
            </Text>
          )}
          <div className={s.row}>
            <Field label={t("windowFrom")} {...fieldProps("window.from")}>
              <Input type="time" value={value.from} onChange={(_, d) => onChange({ from: d.value })} disabled={disabled} data-testid="window-from" />
            </Field>
            <Field label={t("windowTo")} {...fieldProps("window.to")}>
              <Input type="time" value={value.to} onChange={(_, d) => onChange({ to: d.value })} disabled={disabled} data-testid="window-to" />
            </Field>
          </div>
          <Checkbox
            checked={value.skipHolidays}
            onChange={(_, d) => onChange({ skipHolidays: d.checked === true })}
            label={t("skipHolidays")}
            disabled={disabled}
          />
        </>
      )}
      <Button
        appearance="transparent"
        size="small"
        icon={showAdvanced ? <ChevronDownRegular /> : <ChevronRightRegular />}
        aria-expanded={showAdvanced}
        aria-controls={`${id}-advanced`}
        onClick={() => setAdvanced(!showAdvanced)}
        style={{ alignSelf: "flex-start" }}
        data-testid="schedule-advanced"
      >
        {t("scheduleAdvanced")}
      </Button>
      {showAdvanced && (
        <div id={`${id}-advanced`}>
          <Field label={t("undoSecondsLabel")} hint={t("undoSecondsHint")} {...fieldProps("undoSeconds")}>
            <Input
              type="number"
              min={0}
              max={600}
              value={value.undoSeconds}
              onChange={(_, d) => onChange({ undoSeconds: d.value })}
              disabled={disabled}
              data-testid="undo-seconds"
            />
          </Field>
        </div>
      )}
      <div className={s.outcome} aria-live="polite" data-testid="schedule-outcome">
        {checking && <Spinner size="extra-tiny" label={t("scheduleChecking")} />}
        {!checking && outcome?.resumesAt && (
          <Text data-testid="schedule-begins">{t("scheduleBegins", { at: at(outcome.resumesAt) })}</Text>
        )}
        {!checking && outcome?.finishesAt && (
          <Text weight="semibold" data-testid="schedule-finishes">
            {t("scheduleFinishes", { at: at(outcome.finishesAt) })}
          </Text>
        )}
        {value.useWindow && <Text size={200} className={s.hint}>{t("scheduleWaits")}</Text>}
      </div>
    </fieldset>
  );
};
