import type { FC } from "react";
import { Dropdown, Field, Option, Switch, Textarea, makeStyles, tokens } from "@fluentui/react-components";
import { useI18n } from "../i18n";
import type { Draft } from "../model/draft";
import type { ModeInfo } from "../model/modes";
import { usePhases } from "../state/queries";
import { ErrorBar } from "./ErrorBar";

const useStyles = makeStyles({ root: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalS } });

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
    </div>
  );
};
