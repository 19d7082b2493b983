import type { FC } from "react";
import { Checkbox, Dropdown, Field, Option, Switch, Text, Textarea, makeStyles, tokens } from "@fluentui/react-components";
import { useI18n } from "../i18n";
import type { Draft } from "../model/draft";
import type { ModeInfo } from "../model/modes";
import { usePhases } from "../state/queries";
import { ErrorBar } from "./ErrorBar";

const useStyles = makeStyles({
  root: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalS },
  reply: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalS, border: "none", margin: 0, padding: 0, minWidth: 0 },
  legend: { fontWeight: tokens.fontWeightSemibold, padding: 0 },
});

/** Phase update after sending (Process phases in the matching modes, Resume/Recruiter otherwise) and the activity log. */
export const PhasePanel: FC<{
  info: ModeInfo;
  draft: Draft;
  update: (patch: Partial<Draft>) => void;
}> = ({ info, draft, update }) => {
  const { t } = useI18n();
  const s = useStyles();
  const phasesQuery = usePhases(info.phaseResource);
  const phases = phasesQuery.data ?? [];
  const replyPhase = draft.replyPhase ?? null;
  return (
    <div className={s.root}>
      <ErrorBar error={phasesQuery.error} />
      <Field label={t("phaseUpdate")}>
        <PhaseDropdown
          phases={phases}
          value={draft.phase ?? null}
          none={t("noPhaseUpdate")}
          onChange={(phase) => update({ phase })}
          testId="phase-picker"
        />
      </Field>
      {draft.phase && (
        <Field label={t("phaseMemo")}>
          <Textarea value={draft.phaseMemo} onChange={(_, d) => update({ phaseMemo: d.value })} resize="vertical" />
        </Field>
      )}
      <Switch checked={draft.logActivity} onChange={(_, d) => update({ logActivity: d.checked })} label={t("logActivity")} />
      {/* On reply (返信があったら): the same phases, set by the server when a recipient replies (onReply). */}
      <fieldset className={s.reply} data-testid="on-reply">
        <legend className={s.legend}>
          <Text weight="semibold">{t("onReplyTitle")}</Text>
        </legend>
        <Field label={t("replyPhase")}>
          <PhaseDropdown
            phases={phases}
            value={replyPhase}
            none={t("noReplyPhase")}
            onChange={(replyPhase) => update({ replyPhase })}
            testId="reply-phase-picker"
          />
        </Field>
        <Checkbox
          checked={draft.replyLogActivity === true}
          onChange={(_, d) => update({ replyLogActivity: d.checked === true })}
          label={t("replyLogActivity")}
          data-testid="reply-log-activity"
        />
      </fieldset>
    </div>
  );
};

/** A phase select with a "none" choice: the phase after sending and the phase on reply use the same list. */
function PhaseDropdown(props: {
  phases: readonly { alias: string; name: string }[];
  value: string | null;
  none: string;
  onChange: (alias: string | null) => void;
  testId: string;
}) {
  const { phases, value, none, onChange, testId } = props;
  return (
    <Dropdown
      value={phases.find((p) => p.alias === value)?.name ?? none}
      selectedOptions={[value ?? ""]}
      onOptionSelect={(_, d) => onChange(d.optionValue || null)}
      data-testid={testId}
    >
      <Option value="">{none}</Option>
      {phases.map((p) => (
        <Option key={p.alias} value={p.alias}>
          {p.name}
        </Option>
      ))}
    </Dropdown>
  );
}
