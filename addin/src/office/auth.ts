// Sign-in inside Outlook for the API's scope api://<apiAppId>/access_as_user. The ACCESS token (never the ID token)
// is sent to the API as the bearer. In demo mode there is no sign-in and no header (main.tsx never loads this file).
//
// - Outlook with nested app authentication (requirement set NestedAppAuth 1.1): MSAL.js
//   createNestablePublicClientApplication, acquireTokenSilent then acquireTokenPopup.
// - Older Outlook (classic Outlook on Windows before NAA, Outlook 2019/2021): a popup from the task pane is blocked
//   there, so the pane opens fallbackauthdialog.html with the Office dialog API; that page signs in with MSAL's
//   redirect flow (src/office/fallbackDialog.ts) and sends the access token back with messageParent.
import {
  createNestablePublicClientApplication,
  type AuthenticationResult,
  type IPublicClientApplication,
} from "@azure/msal-browser";
import { SignInError } from "./signInError";

export { SignInError, type SignInFailure } from "./signInError";

export interface AuthSettings {
  clientId: string;
  apiAppId: string;
  authority?: string;
}

export const apiScope = (apiAppId: string): string =>
  apiAppId.startsWith("api://") ? `${apiAppId.replace(/\/$/, "")}/access_as_user` : `api://${apiAppId}/access_as_user`;

/** A cached token is used until this long before it expires. */
const EXPIRY_MARGIN_MS = 5 * 60_000;

export type PcaFactory = (s: AuthSettings) => Promise<IPublicClientApplication>;

const defaultFactory: PcaFactory = (s) =>
  createNestablePublicClientApplication({
    auth: { clientId: s.clientId, authority: s.authority ?? "https://login.microsoftonline.com/common" },
  });

const errorCode = (e: unknown): string | null => {
  if (typeof e !== "object" || e === null) return null;
  const r = e as { errorCode?: unknown; name?: unknown };
  return typeof r.errorCode === "string" && r.errorCode ? r.errorCode : typeof r.name === "string" ? r.name : null;
};

/** MSAL's interactive failures as SignInError, so that the pane can say what happened in its language. */
function interactiveError(e: unknown): SignInError {
  if (e instanceof SignInError) return e;
  const code = errorCode(e);
  if (code === "user_cancelled") return new SignInError("cancelled", code);
  if (code === "popup_window_error" || code === "empty_window_error") return new SignInError("blocked", code);
  const detail = typeof e === "object" && e !== null ? (e as { errorMessage?: unknown; message?: unknown }) : null;
  const text = typeof detail?.errorMessage === "string" ? detail.errorMessage : typeof detail?.message === "string" ? detail.message : null;
  return new SignInError("failed", code ?? "unknown_error", text);
}

/** A token provider for api/client.ts with nested app authentication: caches the token until five minutes before it expires. */
export function createNaaTokenProvider(settings: AuthSettings, factory: PcaFactory = defaultFactory): () => Promise<string> {
  const scopes = [apiScope(settings.apiAppId)];
  let pca: Promise<IPublicClientApplication> | null = null;
  let cached: AuthenticationResult | null = null;
  return async () => {
    const now = Date.now();
    if (cached?.accessToken && cached.expiresOn && cached.expiresOn.getTime() - EXPIRY_MARGIN_MS > now) return cached.accessToken;
    pca ??= factory(settings);
    const app = await pca;
    let result: AuthenticationResult;
    try {
      const account = app.getActiveAccount() ?? app.getAllAccounts()[0];
      result = await app.acquireTokenSilent({ scopes, ...(account ? { account } : {}) });
    } catch {
      // Consent needed, or no cached sign-in: Office shows Microsoft's sign-in in a popup.
      try {
        result = await app.acquireTokenPopup({ scopes });
      } catch (e) {
        throw interactiveError(e);
      }
    }
    if (result.account) app.setActiveAccount(result.account);
    cached = result;
    return result.accessToken;
  };
}

// ---- The Office dialog fallback ---------------------------------------------------------------------------------

/** What fallbackauthdialog.html sends to the pane with messageParent (JSON). */
export type DialogMessage =
  | { status: "success"; accessToken: string; expiresOn: number | null }
  | { status: "error"; code: string; message: string };

/** The part of Office.js the sign-in uses (the global `Office` by default; tests pass a mock). */
export type OfficeApi = Pick<typeof Office, "context" | "EventType" | "AsyncResultStatus">;

export interface TokenProviderDeps {
  /** Office.js; `globalThis.Office` when absent. */
  office?: OfficeApi;
  /** Builds the NAA client (tests pass a fake). */
  naaFactory?: PcaFactory;
  /** The dialog page's full HTTPS address; by default fallbackauthdialog.html next to the pane's page, with ?office=1. */
  dialogUrl?: string;
  /** How long to wait before the one retry when Office says a dialog is already open (12007). */
  retryDelayMs?: number;
}

export const DIALOG_OPTIONS: Office.DialogOptions = { height: 60, width: 30, promptBeforeOpen: false };

/** Office dialog errors (https://learn.microsoft.com/office/dev/add-ins/develop/dialog-handle-errors-events). */
export const DialogErrors = {
  /** The page could not be found or loaded. */
  pageNotFound: 12002,
  /** The page is not HTTPS. */
  notHttps: 12003,
  /** The user closed the dialog. */
  closedByUser: 12006,
  /** A dialog is already open from this host window. */
  alreadyOpen: 12007,
  /** The user (or a popup blocker) ignored the dialog. */
  ignored: 12009,
  /** The browser's configuration blocks the dialog (Outlook on the web). */
  blockedByBrowser: 12011,
} as const;

export const defaultDialogUrl = (pageUrl: string = window.location.href): string =>
  new URL("fallbackauthdialog.html?office=1", pageUrl).href;

/** Whether Outlook supports nested app authentication (false when Office.js is absent or cannot tell). */
export function supportsNaa(office: OfficeApi | undefined): boolean {
  try {
    return office?.context?.requirements?.isSetSupported("NestedAppAuth", "1.1") === true;
  } catch {
    return false;
  }
}

/** Parses a message from the dialog page; a SignInError for an error report or anything unexpected. */
export function parseDialogMessage(message: string): { accessToken: string; expiresOn: number | null } | SignInError {
  let m: unknown;
  try {
    m = JSON.parse(message);
  } catch {
    return new SignInError("failed", "invalid_dialog_message");
  }
  if (typeof m !== "object" || m === null) return new SignInError("failed", "invalid_dialog_message");
  const r = m as Record<string, unknown>;
  if (r.status === "success" && typeof r.accessToken === "string" && r.accessToken) {
    return { accessToken: r.accessToken, expiresOn: typeof r.expiresOn === "number" && Number.isFinite(r.expiresOn) ? r.expiresOn : null };
  }
  if (r.status === "error") {
    const code = typeof r.code === "string" && r.code ? r.code : "unknown_error";
    const text = typeof r.message === "string" ? r.message : null;
    return new SignInError(code === "user_cancelled" ? "cancelled" : "failed", code, text);
  }
  return new SignInError("failed", "invalid_dialog_message");
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function displayDialog(office: OfficeApi, url: string): Promise<Office.Dialog> {
  return new Promise((resolve, reject) => {
    try {
      office.context.ui.displayDialogAsync(url, DIALOG_OPTIONS, (result) => {
        if (result.status === office.AsyncResultStatus.Failed) reject(result.error?.code ?? 0);
        else resolve(result.value);
      });
    } catch (e) {
      reject(new SignInError("failed", "dialog_unavailable", e instanceof Error ? e.message : String(e)));
    }
  });
}

/** Opens the dialog; on 12007 (a dialog still open) waits and tries once more. Failures become SignInError. */
async function openDialog(office: OfficeApi, url: string, retryDelayMs: number): Promise<Office.Dialog> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await displayDialog(office, url);
    } catch (e) {
      if (e instanceof SignInError) throw e;
      const code = typeof e === "number" ? e : 0;
      if (code === DialogErrors.alreadyOpen && attempt === 0) {
        await sleep(retryDelayMs);
        continue;
      }
      if (code === DialogErrors.alreadyOpen) throw new SignInError("alreadyOpen", code);
      if (code === DialogErrors.ignored || code === DialogErrors.blockedByBrowser) throw new SignInError("blocked", code);
      throw new SignInError("failed", code || "dialog_failed");
    }
  }
}

/** Waits for the dialog's one message (or its closing), then closes it. */
function waitForDialog(office: OfficeApi, dialog: Office.Dialog, expectedOrigin: string): Promise<{ accessToken: string; expiresOn: number | null }> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (outcome: { accessToken: string; expiresOn: number | null } | SignInError) => {
      if (done) return;
      done = true;
      try {
        dialog.close();
      } catch {
        /* already closed */
      }
      if (outcome instanceof SignInError) reject(outcome);
      else resolve(outcome);
    };
    dialog.addEventHandler(office.EventType.DialogMessageReceived, (arg) => {
      if (!("message" in arg)) return;
      // DialogOrigin 1.1 tells where the message came from (undefined on older clients): only our own page counts.
      if (arg.origin && arg.origin !== expectedOrigin) return;
      finish(parseDialogMessage(String(arg.message)));
    });
    dialog.addEventHandler(office.EventType.DialogEventReceived, (arg) => {
      if (!("error" in arg)) return;
      finish(arg.error === DialogErrors.closedByUser ? new SignInError("cancelled", arg.error) : new SignInError("failed", arg.error));
    });
  });
}

/**
 * A token provider that signs in through the Office dialog (fallbackauthdialog.html). One dialog at a time: calls
 * made while it is open share its result. The token is cached until five minutes before it expires.
 */
export function createDialogTokenProvider(deps: TokenProviderDeps = {}): () => Promise<string> {
  const retryDelayMs = deps.retryDelayMs ?? 1500;
  let cached: { accessToken: string; expiresOn: number | null } | null = null;
  let pending: Promise<string> | null = null;

  const signIn = async (): Promise<string> => {
    const office = deps.office ?? globalThis.Office;
    if (!office?.context?.ui) throw new SignInError("failed", "office_unavailable");
    const url = deps.dialogUrl ?? defaultDialogUrl();
    const dialog = await openDialog(office, url, retryDelayMs);
    const result = await waitForDialog(office, dialog, new URL(url).origin);
    cached = result;
    return result.accessToken;
  };

  return () => {
    if (cached?.expiresOn && cached.expiresOn - EXPIRY_MARGIN_MS > Date.now()) return Promise.resolve(cached.accessToken);
    pending ??= signIn().finally(() => {
      pending = null;
    });
    return pending;
  };
}

/** The pane's token provider: NAA when Outlook supports it (NestedAppAuth 1.1), the Office dialog otherwise. */
export function createTokenProvider(settings: AuthSettings, deps: TokenProviderDeps = {}): () => Promise<string> {
  const office = deps.office ?? globalThis.Office;
  return supportsNaa(office) ? createNaaTokenProvider(settings, deps.naaFactory) : createDialogTokenProvider(deps);
}
