import { useId, useRef, type FC } from "react";
import { useIsMutating, useMutation } from "@tanstack/react-query";
import {
  Button,
  Checkbox,
  Field,
  Input,
  Radio,
  RadioGroup,
  Spinner,
  Switch,
  Text,
  makeStyles,
  tokens,
} from "@fluentui/react-components";
import { AttachRegular, DismissRegular, DocumentRegular } from "@fluentui/react-icons";
import { uploadFile } from "../api/client";
import type { HrbcRecord, UploadedFile, ZipEncryption } from "../api/types";
import { useI18n } from "../i18n";
import type { Draft } from "../model/draft";
import type { ModeInfo } from "../model/modes";

const useStyles = makeStyles({
  root: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalS },
  files: { listStyleType: "none", margin: 0, padding: 0, display: "flex", flexDirection: "column", gap: tokens.spacingVerticalXXS },
  file: { display: "flex", alignItems: "center", gap: tokens.spacingHorizontalXS, overflowWrap: "anywhere" },
  hiddenInput: { position: "absolute", width: "1px", height: "1px", overflow: "hidden", clipPath: "inset(50%)", whiteSpace: "nowrap" },
});

export const formatSize = (bytes: number, locale: string): string => {
  const units = ["B", "KB", "MB", "GB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: i === 0 ? 0 : 1 }).format(v)} ${units[i]}`;
};

/** The anchor record's HRBC files (where the mode allows them), uploads, and the password zip (docs/ui.md, 2. Compose). */
export const AttachmentsPanel: FC<{
  info: ModeInfo;
  anchor: HrbcRecord | null;
  draft: Draft;
  update: (patch: Partial<Draft>) => void;
  onError: (e: unknown) => void;
  /** The zip password's error, shown under it. */
  passwordError?: string;
}> = ({ info, anchor, draft, update, onError, passwordError }) => {
  const { t, locale } = useI18n();
  const s = useStyles();
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const upload = useMutation({ mutationKey: ["upload"], mutationFn: (f: File) => uploadFile(f) });
  const uploading = useIsMutating({ mutationKey: ["upload"] });
  const anchorName = info.anchor === "job" ? t("anchorJob") : t("anchorResume");
  const anchorFiles = info.anchorAttachments && anchor ? anchor.attachments : [];
  const hasFiles = draft.recordAttachmentIds.length > 0 || draft.uploads.length > 0;

  const onFiles = async (files: FileList | null) => {
    if (!files || files.length === 0) return;
    const list = Array.from(files);
    const added: UploadedFile[] = [];
    // One at a time: each file is its own upload (a failed one is reported, the others still go).
    for (const f of list) {
      try {
        added.push(await upload.mutateAsync(f));
      } catch (e) {
        onError(e);
      }
    }
    if (added.length > 0) update({ uploads: [...draft.uploads, ...added] });
    if (input.current) input.current.value = "";
  };

  return (
    <div className={s.root}>
      {info.anchorAttachments && anchor ? (
        <fieldset style={{ border: "none", margin: 0, padding: 0 }}>
          <legend>
            <Text weight="semibold">{t("anchorFilesAllowed", { anchor: anchorName })}</Text>
          </legend>
          {anchorFiles.length === 0 ? (
            <Text size={200}>{t("anchorFilesNone", { anchor: anchorName })}</Text>
          ) : (
            anchorFiles.map((f) => (
              <Checkbox
                key={f.id}
                checked={draft.recordAttachmentIds.includes(f.id)}
                onChange={(_, d) =>
                  update({
                    recordAttachmentIds: d.checked
                      ? [...draft.recordAttachmentIds, f.id]
                      : draft.recordAttachmentIds.filter((x) => x !== f.id),
                  })
                }
                label={f.size != null ? `${f.fileName} (${formatSize(f.size, locale)})` : f.fileName}
                data-attachment-id={f.id}
              />
            ))
          )}
        </fieldset>
      ) : (
        <Text size={200}>{t("attachmentsOnlyUploads")}</Text>
      )}

      {draft.uploads.length > 0 && (
        <ul className={s.files} aria-label={t("uploadFiles")}>
          {draft.uploads.map((u) => (
            <li key={u.id} className={s.file}>
              <DocumentRegular aria-hidden="true" />
              <span>
                {u.name} ({formatSize(u.size, locale)})
              </span>
              <Button
                appearance="subtle"
                size="small"
                icon={<DismissRegular />}
                aria-label={t("removeFile", { name: u.name })}
                onClick={() => update({ uploads: draft.uploads.filter((x) => x.id !== u.id) })}
              />
            </li>
          ))}
        </ul>
      )}
      <div>
        <label htmlFor={`${id}-file`} className={s.hiddenInput}>
          {t("uploadFiles")}
        </label>
        <input
          id={`${id}-file`}
          ref={input}
          type="file"
          multiple
          className={s.hiddenInput}
          tabIndex={-1}
          data-testid="upload-input"
          onChange={(e) => void onFiles(e.target.files)}
        />
        <Button icon={<AttachRegular />} onClick={() => input.current?.click()} disabled={uploading > 0}>
          {t("uploadFiles")}
        </Button>
        {uploading > 0 && <Spinner size="extra-tiny" label={t("uploading")} />}
      </div>

      <Switch
        checked={draft.zip}
        onChange={(_, d) => update({ zip: d.checked })}
        label={t("zip")}
        disabled={!hasFiles}
        data-testid="zip-switch"
      />
      {draft.zip && hasFiles && (
        <>
          <Field
            label={t("zipPassword")}
            hint={t("zipPasswordHint")}
            required
            data-field="zipPassword"
            validationState={passwordError ? "error" : "none"}
            validationMessage={passwordError}
          >
            <Input
              type="password"
              value={draft.zipPassword}
              onChange={(_, d) => update({ zipPassword: d.value })}
              autoComplete="new-password"
              data-testid="zip-password"
            />
          </Field>
          <Field label={t("zipEncryption")}>
            <RadioGroup value={draft.zipEncryption} onChange={(_, d) => update({ zipEncryption: d.value as ZipEncryption })}>
              <Radio value="Aes256" label={t("zipAes")} />
              <Radio value="ZipCrypto" label={t("zipCrypto")} />
            </RadioGroup>
          </Field>
        </>
      )}
    </div>
  );
};
