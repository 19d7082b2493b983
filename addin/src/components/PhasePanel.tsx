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
  const current = phases.find((p) => p.alias === draft.phase);
  const replyPhase = draft.replyPhase ?? null;
  const replyCurrent = phases.find((p) => p.alias === replyPhase);
  return (
    <div className={s.root}>
      <ErrorBar error={phasesQuery.error} />
      <Field label={t("phaseUpdate")}>
        <Dropdown
          value={current?.name ?? t("noPhaseUpdate")}
          selectedOptions={[draft.phase ?? ""]}
          onOptionSelect={(_, d) => update({ phase: d.optionValue || null })}
          data-testid="phase-picker"
        >
          <Option value="">{t("noPhaseUpdate")}</Option>
          {phases.map((p) => (
            <Option key={p.alias} value={p.alias}>
              {p.name}
            </Option>
          ))}
        </Dropdown>
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
          <Dropdown
            value={replyCurrent?.name ?? t("noReplyPhase")}
            selectedOptions={[replyPhase ?? ""]}
            onOptionSelect={(_, d) => update({ replyPhase: d.optionValue || null })}
            data-testid="reply-phase-picker"
          >
            <Option value="">{t("noReplyPhase")}</Option>
            {phases.map((p) => (
              <Option key={p.alias} value={p.alias}>
                {p.name}
              </Option>
            ))}
          </Dropdown>
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
