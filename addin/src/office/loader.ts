// Loads Office.js only inside an Office host and reports what the page runs in. Outside Office (a plain browser:
// the demo and the end-to-end tests, no internet) the host is "none" and the pane renders at once.
export const OFFICE_JS_URL = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js";

export type HostKind = "outlook" | "none";

export interface OfficeEnvironment {
  host: HostKind;
  /** Office's UI language (RFC 1766, e.g. "ja-JP"), or null outside Office. */
  displayLanguage: string | null;
  /** True when the pane was opened on a message being composed (the current draft can be used). */
  compose: boolean;
}

export const NO_HOST: OfficeEnvironment = { host: "none", displayLanguage: null, compose: false };

/**
 * Whether this page is probably inside Office: the manifest's URL carries ?office=1, Office desktop adds
 * _host_Info to the URL, Outlook on the web keeps it in window.name, and every Office web host uses an iframe.
 */
export function looksLikeOfficeHost(win: Window = window): boolean {
  try {
    const params = new URLSearchParams(win.location.search);
    if (params.get("office") === "0") return false;
    if (params.get("office") === "1" || params.has("_host_Info")) return true;
    if (typeof win.name === "string" && win.name.includes("_host_Info")) return true;
    return win.self !== win.top;
  } catch {
    return true; // a cross-origin parent: an Office web host
  }
}

/** Adds the Office.js script; resolves true when it loaded, false on error or time-out (never rejects). */
export function injectOfficeJs(doc: Document = document, timeoutMs = 8000, src = OFFICE_JS_URL): Promise<boolean> {
  return new Promise((resolve) => {
    const script = doc.createElement("script");
    script.src = src;
    script.async = true;
    const timer = setTimeout(() => resolve(false), timeoutMs);
    script.onload = () => {
      clearTimeout(timer);
      resolve(true);
    };
    script.onerror = () => {
      clearTimeout(timer);
      resolve(false);
    };
    doc.head.appendChild(script);
  });
}

function isComposeItem(): boolean {
  const item = globalThis.Office?.context?.mailbox?.item as unknown as { subject?: unknown } | undefined;
  const subject = item?.subject as { getAsync?: unknown } | string | undefined;
  return typeof subject === "object" && subject !== null && typeof subject.getAsync === "function";
}

/** Loads Office.js when asked to and waits for Office.onReady (bounded by a time-out); null without Office. */
async function readyOffice(load: boolean, timeoutMs: number): Promise<{ office: typeof Office; info: { host: Office.HostType | null } } | null> {
  if (typeof globalThis.Office === "undefined" && load) {
    await injectOfficeJs(document, timeoutMs);
  }
  const office = globalThis.Office;
  if (typeof office === "undefined" || typeof office.onReady !== "function") return null;
  const info = await Promise.race([
    office.onReady().catch(() => null),
    new Promise<null>((r) => setTimeout(() => r(null), timeoutMs)),
  ]);
  return info ? { office, info } : null;
}

/** Waits for Office.onReady (bounded by a time-out) and describes the host. Office.js absent → host "none". */
export async function initOffice(options: { load?: boolean; timeoutMs?: number } = {}): Promise<OfficeEnvironment> {
  const ready = await readyOffice(options.load ?? looksLikeOfficeHost(), options.timeoutMs ?? 10000);
  if (!ready || ready.info.host !== ready.office.HostType.Outlook) return NO_HOST;
  const office = ready.office;
  return {
    host: "outlook",
    displayLanguage: office.context?.displayLanguage ?? null,
    compose: isComposeItem(),
  };
}

const DIALOG_FLAG = "bulkmail.officeDialog";

/**
 * Whether the sign-in dialog page was opened by Office. The pane opens it with ?office=1; after the round trip to
 * Microsoft's sign-in page the address carries no marker any more, so the first load remembers it in this window's
 * sessionStorage.
 */
export function looksLikeOfficeDialog(win: Window = window): boolean {
  let remembered = false;
  try {
    remembered = win.sessionStorage.getItem(DIALOG_FLAG) === "1";
  } catch {
    /* storage unavailable */
  }
  if (!looksLikeOfficeHost(win)) return remembered && new URLSearchParams(win.location.search).get("office") !== "0";
  try {
    win.sessionStorage.setItem(DIALOG_FLAG, "1");
  } catch {
    /* storage unavailable */
  }
  return true;
}

/**
 * The sign-in dialog's side (fallbackauthdialog.html): loads Office.js the same way as the pane, waits for
 * Office.onReady and returns Office.context.ui.messageParent — or null outside an Office dialog.
 */
export async function initOfficeDialog(options: { load?: boolean; timeoutMs?: number } = {}): Promise<((message: string) => void) | null> {
  const ready = await readyOffice(options.load ?? looksLikeOfficeDialog(), options.timeoutMs ?? 10000);
  const ui = ready?.office.context?.ui;
  if (!ui || typeof ui.messageParent !== "function") return null;
  return (message: string) => ui.messageParent(message);
}
