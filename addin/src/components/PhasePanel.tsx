import { useEffect, useState, type FC } from "react";
import { Dropdown, Field, Option, Switch, Textarea, makeStyles, tokens } from "@fluentui/react-components";
import { getPhases } from "../api/client";
import type { HrbcPhase } from "../api/types";
import { useI18n } from "../i18n";
import type { Draft } from "../model/draft";
import type { ModeInfo } from "../model/modes";

const useStyles = makeStyles({ root: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalS } });

/** Phase update after sending (Process phases in the matching modes, Resume/Recruiter otherwise) and the activity log. */
export const PhasePanel: FC<{
  info: ModeInfo;
  draft: Draft;
  update: (patch: Partial<Draft>) => void;
  onPhases?: (p: HrbcPhase[]) => void;
  onError: (e: unknown) => void;
}> = ({ info, draft, update, onPhases, onError }) => {
  const { t } = useI18n();
  const s = useStyles();
  const [phases, setPhases] = useState<HrbcPhase[]>([]);
  useEffect(() => {
    const ac = new AbortController();
    getPhases(info.phaseResource, ac.signal).then(
      (p) => {
        setPhases(p);
        onPhases?.(p);
      },
      (e: unknown) => {
        if (!ac.signal.aborted) onError(e);
      },
    );
    return () => ac.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [info.phaseResource]);
  const current = phases.find((p) => p.alias === draft.phase);
  return (
    <div className={s.root}>
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
