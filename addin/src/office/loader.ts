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

/** Waits for Office.onReady (bounded by a time-out) and describes the host. Office.js absent → host "none". */
export async function initOffice(options: { load?: boolean; timeoutMs?: number } = {}): Promise<OfficeEnvironment> {
  const timeoutMs = options.timeoutMs ?? 10000;
  if (typeof globalThis.Office === "undefined" && (options.load ?? looksLikeOfficeHost())) {
    await injectOfficeJs(document, timeoutMs);
  }
  const office = globalThis.Office;
  if (typeof office === "undefined" || typeof office.onReady !== "function") return NO_HOST;
  const info = await Promise.race([
    office.onReady().catch(() => null),
    new Promise<null>((r) => setTimeout(() => r(null), timeoutMs)),
  ]);
  if (!info || info.host !== office.HostType.Outlook) return NO_HOST;
  return {
    host: "outlook",
    displayLanguage: office.context?.displayLanguage ?? null,
    compose: isComposeItem(),
  };
}
