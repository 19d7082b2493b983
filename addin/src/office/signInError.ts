// Why a sign-in did not give the pane a token. Kept apart from auth.ts (which imports MSAL) so that ErrorBar can
// render it in the pane's language without pulling MSAL into the demo's bundle.

/**
 * - `cancelled`: the user closed the sign-in window (Office dialog event 12006, MSAL `user_cancelled`);
 * - `blocked`: the window could not open (dialog error 12009 or 12011, a blocked popup);
 * - `alreadyOpen`: another dialog of this add-in is still open (12007, also after one retry);
 * - `failed`: anything else, with its code (an MSAL / AADSTS error code or an Office error number).
 */
export type SignInFailure = "cancelled" | "blocked" | "alreadyOpen" | "failed";

const ENGLISH: Record<SignInFailure, string> = {
  cancelled: "Sign-in cancelled",
  blocked: "The sign-in window was blocked",
  alreadyOpen: "Another add-in dialog is already open",
  failed: "Sign-in failed",
};

export class SignInError extends Error {
  readonly kind: SignInFailure;
  /** The Office error number or the MSAL error code, as text; null when there is none. */
  readonly code: string | null;
  /** What the sign-in page or Office said (English, for the administrator); never contains a token. */
  readonly detail: string | null;

  constructor(kind: SignInFailure, code?: string | number | null, detail?: string | null) {
    const c = code === undefined || code === null || code === "" ? null : String(code);
    super(c ? `${ENGLISH[kind]} (${c})` : ENGLISH[kind]);
    this.name = "SignInError";
    this.kind = kind;
    this.code = c;
    this.detail = detail ? detail.slice(0, 500) : null;
  }
}
