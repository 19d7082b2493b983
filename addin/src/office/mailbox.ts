// The Outlook item the pane was opened on. Every Office.js mailbox call of the add-in lives here.

export interface ComposeDraft {
  subject: string;
  /** The body as HTML (Office.CoercionType.Html). */
  body: string;
}

function composeItem(): Office.MessageCompose | null {
  const item = globalThis.Office?.context?.mailbox?.item as unknown as Office.MessageCompose | undefined;
  if (!item || typeof item.subject !== "object" || typeof item.subject?.getAsync !== "function") return null;
  return item;
}

/** True when the current item is a message being composed. */
export function canUseDraft(): boolean {
  return composeItem() !== null;
}

function settle<T>(resolve: (v: T) => void, reject: (e: Error) => void) {
  return (r: Office.AsyncResult<T>) => {
    if (r.status === globalThis.Office.AsyncResultStatus.Succeeded) resolve(r.value);
    else reject(new Error(r.error?.message ?? "Office call failed"));
  };
}

/** The subject and HTML body of the message being composed (Mailbox 1.1 / 1.3). */
export async function readComposeDraft(): Promise<ComposeDraft> {
  const item = composeItem();
  if (!item) throw new Error("The current Outlook item is not a message being composed.");
  const subject = await new Promise<string>((resolve, reject) => item.subject.getAsync(settle(resolve, reject)));
  const body = await new Promise<string>((resolve, reject) =>
    item.body.getAsync(globalThis.Office.CoercionType.Html, settle(resolve, reject)),
  );
  return { subject, body };
}

/** The signed-in mailbox's address, or null outside Outlook. */
export function userEmail(): string | null {
  return globalThis.Office?.context?.mailbox?.userProfile?.emailAddress ?? null;
}
