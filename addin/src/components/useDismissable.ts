import { useState } from "react";

/** A query's or mutation's error as an ErrorBar shows it: dismissed, it stays hidden until a different error comes. */
export function useDismissable(error: unknown): [shown: unknown, dismiss: () => void] {
  const [dismissed, setDismissed] = useState<unknown>(null);
  return [error && error !== dismissed ? error : null, () => setDismissed(error)];
}
