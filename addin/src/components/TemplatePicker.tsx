import { useState, type FC } from "react";
import { Button, Dropdown, Field, Input, Option, makeStyles, tokens } from "@fluentui/react-components";
import { DeleteRegular, SaveEditRegular, SaveRegular } from "@fluentui/react-icons";
import type { MailingMode, SavedTemplate } from "../api/types";
import { useI18n } from "../i18n";
import { useTemplateMutations, useTemplates } from "../state/queries";
import { AskDialog } from "./AskDialog";
import { ErrorBar } from "./ErrorBar";
import { useDismissable } from "./useDismissable";

const NONE: SavedTemplate[] = [];

const useStyles = makeStyles({
  row: { display: "flex", flexWrap: "wrap", gap: tokens.spacingHorizontalS, alignItems: "end" },
  grow: { flexGrow: 1, minWidth: "140px" },
});

/** Saved templates of this mode: pick one to fill subject and body, or save the current ones as a new template. */
export const TemplatePicker: FC<{
  mode: MailingMode;
  subject: string;
  body: string;
  onPick: (t: SavedTemplate) => void;
  onMessage: (text: string) => void;
  onError: (e: unknown) => void;
}> = ({ mode, subject, body, onPick, onMessage, onError }) => {
  const { t } = useI18n();
  const s = useStyles();
  const [selected, setSelected] = useState<string>("");
  const [saving, setSaving] = useState(false);
  const [name, setName] = useState("");
  const [asking, setAsking] = useState(false);
  const list = useTemplates(mode);
  const templates = list.data ?? NONE;
  const { create, update, remove: del } = useTemplateMutations();
  const [listError, dismissListError] = useDismissable(list.error);

  const current = templates.find((x) => x.id === selected);

  const save = async () => {
    try {
      const created = await create.mutateAsync({ name: name.trim(), mode, subject, body });
      setSaving(false);
      setName("");
      setSelected(created.id);
      onMessage(t("templateSaved", { name: created.name }));
    } catch (e) {
      onError(e);
    }
  };

  const overwrite = async () => {
    if (!current) return;
    try {
      const saved = await update.mutateAsync({ id: current.id, t: { name: current.name, mode: current.mode ?? mode, subject, body } });
      onMessage(t("templateOverwritten", { name: saved.name }));
    } catch (e) {
      onError(e);
    }
  };

  const remove = async () => {
    setAsking(false);
    if (!current) return;
    try {
      await del.mutateAsync(current.id);
      setSelected("");
      onMessage(t("templateDeleted"));
    } catch (e) {
      onError(e);
    }
  };

  return (
    <div>
      <ErrorBar error={listError} onDismiss={dismissListError} />
      <div className={s.row}>
        <Field label={t("template")} className={s.grow}>
          <Dropdown
            value={current?.name ?? t("noTemplate")}
            selectedOptions={[selected]}
            onOptionSelect={(_, d) => {
              const id = d.optionValue ?? "";
              setSelected(id);
              const tpl = templates.find((x) => x.id === id);
              if (tpl) onPick(tpl);
            }}
            data-testid="template-picker"
          >
            <Option value="">{t("noTemplate")}</Option>
            {templates.map((x) => (
              <Option key={x.id} value={x.id}>
                {x.name}
              </Option>
            ))}
          </Dropdown>
        </Field>
        {current && (
          <Button icon={<SaveEditRegular />} onClick={() => void overwrite()} data-testid="overwrite-template">
            {t("overwriteTemplate", { name: current.name })}
          </Button>
        )}
        {current && (
          <Button icon={<DeleteRegular />} aria-label={t("deleteTemplate")} title={t("deleteTemplate")} onClick={() => setAsking(true)} />
        )}
        {!saving && (
          <Button icon={<SaveRegular />} onClick={() => setSaving(true)}>
            {t("saveAsTemplate")}
          </Button>
        )}
      </div>
      {saving && (
        <div className={s.row} style={{ marginTop: tokens.spacingVerticalS }}>
          <Field label={t("templateName")} className={s.grow} required>
            <Input value={name} onChange={(_, d) => setName(d.value)} maxLength={100} />
          </Field>
          <Button appearance="primary" onClick={() => void save()} disabled={!name.trim()}>
            {t("save")}
          </Button>
          <Button onClick={() => setSaving(false)}>{t("cancel")}</Button>
        </div>
      )}
      <AskDialog
        open={asking}
        title={t("deleteTemplateTitle", { name: current?.name ?? "" })}
        yes={t("deleteYes")}
        no={t("cancel")}
        onYes={() => void remove()}
        onNo={() => setAsking(false)}
        testId="ask-delete-template"
      />
    </div>
  );
};
