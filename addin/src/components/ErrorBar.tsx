import type { FC } from "react";
import { MessageBar, MessageBarBody, MessageBarTitle, MessageBarActions, Button } from "@fluentui/react-components";
import { DismissRegular } from "@fluentui/react-icons";
import { ApiError } from "../api/client";
import { useI18n, type StringKey } from "../i18n";
import { SignInError, type SignInFailure } from "../office/signInError";

const SIGN_IN_TEXT: Record<SignInFailure, StringKey> = {
  cancelled: "signInCancelled",
  blocked: "signInBlocked",
  alreadyOpen: "signInAlreadyOpen",
  failed: "signInFailed",
};

/** Shows an API error (problem details), a sign-in error or any other error in words the user can act on. */
export const ErrorBar: FC<{ error: unknown; onDismiss?: () => void; sending?: boolean }> = ({ error, onDismiss, sending }) => {
  const { t } = useI18n();
  if (!error) return null;
  let title = t("errorTitle");
  let lines: string[] = [];
  if (error instanceof ApiError) {
    if (error.network) {
      lines = [t("networkError")];
    } else {
      // A mailing's input errors get the pane's own title: it says that nothing was sent. Otherwise the code's text in
      // the pane's language (the server's words when a code is unknown).
      const invalid = sending === true && error.status === 400 && (error.templateErrors.length > 0 || Object.keys(error.fieldErrors).length > 0);
      title = invalid ? t("validationTitle") : error.titleText;
      const positioned = new Set<string>();
      for (const e of error.templateErrors) {
        const part = e.part === "subject" ? t("partSubject") : e.part === "body" ? t("partBody") : e.part;
        const text = error.templateText(e);
        // Messages state the problem only: the place is added here, once.
        const where = e.line != null ? `${t("errorAt", { part, line: e.line, column: e.column ?? 1 })}: ` : "";
        lines.push(where + text);
        positioned.add(text);
      }
      for (const m of error.fieldTexts) if (!positioned.has(m)) lines.push(m);
      if (lines.length === 0 && error.detail) lines.push(error.detailText);
    }
  } else if (error instanceof SignInError) {
    // The token provider's errors (src/office/auth.ts) in the pane's language; the sign-in page's own words (English,
    // for the administrator) only when it failed.
    title = t("signInErrorTitle");
    lines = [t(SIGN_IN_TEXT[error.kind], { code: error.code ?? "?" })];
    if (error.kind === "failed" && error.detail) lines.push(error.detail);
  } else if (error instanceof Error) {
    lines = [error.message];
  } else {
    lines = [String(error)];
  }
  lines = [...new Set(lines)];
  return (
    <MessageBar intent="error" layout="multiline" role="alert">
      <MessageBarBody>
        <MessageBarTitle>{title}</MessageBarTitle>
        {lines.length === 1 ? (
          <span> {lines[0]}</span>
        ) : (
          <ul style={{ margin: "4px 0 0", paddingInlineStart: 18 }}>
            {lines.map((l) => (
              <li key={l}>{l}</li>
            ))}
          </ul>
        )}
      </MessageBarBody>
      {onDismiss && (
        <MessageBarActions
          containerAction={<Button appearance="transparent" aria-label={t("close")} icon={<DismissRegular />} onClick={onDismiss} />}
        />
      )}
    </MessageBar>
  );
};
