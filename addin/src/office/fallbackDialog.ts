// The sign-in page that Outlook clients without nested app authentication open in an Office dialog
// (fallbackauthdialog.html, opened by createDialogTokenProvider in auth.ts). It signs in with MSAL's redirect flow
// — redirectUri is this page's own address — and hands the ACCESS token to the pane with
// Office.context.ui.messageParent as JSON: { status: "success", accessToken, expiresOn } or
// { status: "error", code, message }. Nothing here logs; a token is only ever passed to messageParent.
import {
  createStandardPublicClientApplication,
  type AuthenticationResult,
  type IPublicClientApplication,
} from "@azure/msal-browser";
import { loadRuntimeConfig, type RuntimeConfig } from "../config";
import { apiScope, type DialogMessage } from "./auth";
import { initOfficeDialog } from "./loader";

/** The part of MSAL's PublicClientApplication the dialog uses. */
export type DialogPca = Pick<
  IPublicClientApplication,
  "handleRedirectPromise" | "acquireTokenRedirect" | "acquireTokenSilent" | "getAllAccounts" | "getActiveAccount" | "setActiveAccount"
>;

export type MessageParent = (message: string) => void;

export function successMessage(result: AuthenticationResult): string {
  const message: DialogMessage = { status: "success", accessToken: result.accessToken, expiresOn: result.expiresOn?.getTime() ?? null };
  return JSON.stringify(message);
}

/** An error as the pane expects it: MSAL's errorCode (or the error's name) and its message, never a token. */
export function errorMessage(e: unknown, fallbackCode = "sign_in_failed"): string {
  const r = typeof e === "object" && e !== null ? (e as Record<string, unknown>) : {};
  const code =
    typeof r.errorCode === "string" && r.errorCode
      ? r.errorCode
      : typeof r.name === "string" && r.name && r.name !== "Error"
        ? r.name
        : fallbackCode;
  const text = typeof r.errorMessage === "string" && r.errorMessage ? r.errorMessage : typeof r.message === "string" ? r.message : String(e);
  const message: DialogMessage = { status: "error", code, message: text.slice(0, 500) };
  return JSON.stringify(message);
}

/**
 * The dialog's work once MSAL and Office are ready: a result coming back from the sign-in page is sent to the pane;
 * without one, a cached account is tried silently, and otherwise the page goes to Microsoft's sign-in
 * (acquireTokenRedirect) and comes back here. Any error is sent to the pane as { status: "error" }.
 */
export async function runFallbackDialog(
  pca: DialogPca,
  apiAppId: string,
  messageParent: MessageParent,
): Promise<"sent" | "redirecting" | "failed"> {
  const scopes = [apiScope(apiAppId)];
  try {
    // Processed on this page (its address is the redirect URI), not after a navigation back to where it started.
    let result = await pca.handleRedirectPromise({ navigateToLoginRequestUrl: false });
    const account = result ? null : (pca.getActiveAccount() ?? pca.getAllAccounts()[0] ?? null);
    if (!result && account) {
      try {
        result = await pca.acquireTokenSilent({ scopes, account });
      } catch {
        /* the session ran out or consent is needed: sign in interactively */
      }
    }
    if (!result) {
      await pca.acquireTokenRedirect(account ? { scopes, account } : { scopes });
      return "redirecting";
    }
    if (result.account) pca.setActiveAccount(result.account);
    messageParent(successMessage(result));
    return "sent";
  } catch (e) {
    messageParent(errorMessage(e));
    return "failed";
  }
}

export interface FallbackDialogDeps {
  /** Office's messageParent, or null outside an Office dialog (default: Office.js loaded as the pane does). */
  messageParent?: MessageParent | null;
  loadConfig?: () => Promise<RuntimeConfig>;
  createPca?: (config: { clientId: string; authority: string; redirectUri: string }) => Promise<DialogPca>;
  /** This page's address (default window.location). */
  location?: Pick<Location, "origin" | "pathname">;
  doc?: Document;
}

const defaultCreatePca: NonNullable<FallbackDialogDeps["createPca"]> = ({ clientId, authority, redirectUri }) =>
  createStandardPublicClientApplication({
    auth: { clientId, authority, redirectUri },
    // Each dialog is a new window: localStorage lets the next dialog sign in silently with the cached session.
    cache: { cacheLocation: "localStorage" },
  });

function showNotInOffice(doc: Document): void {
  const status = doc.getElementById("status");
  if (status) {
    status.textContent =
      "This page is part of the BulkMail add-in and only works inside Outlook. / このページは Outlook の BulkMail アドイン専用です。";
  }
}

/** Boots fallbackauthdialog.html. */
export async function startFallbackDialog(deps: FallbackDialogDeps = {}): Promise<"sent" | "redirecting" | "failed" | "no-office"> {
  const doc = deps.doc ?? document;
  const messageParent = deps.messageParent !== undefined ? deps.messageParent : await initOfficeDialog();
  if (!messageParent) {
    showNotInOffice(doc);
    return "no-office";
  }
  try {
    const config = await (deps.loadConfig ?? loadRuntimeConfig)();
    if (!config.clientId || !config.apiAppId) {
      messageParent(errorMessage({ errorCode: "not_configured", message: "The server has no Entra ID client id for the add-in (Addin:ClientId, Addin:ApiAppId)." }));
      return "failed";
    }
    const loc = deps.location ?? window.location;
    const pca = await (deps.createPca ?? defaultCreatePca)({
      clientId: config.clientId,
      authority: config.authority,
      // This page without its query: the address registered as the SPA redirect URI.
      redirectUri: `${loc.origin}${loc.pathname}`,
    });
    return await runFallbackDialog(pca, config.apiAppId, messageParent);
  } catch (e) {
    messageParent(errorMessage(e));
    return "failed";
  }
}
