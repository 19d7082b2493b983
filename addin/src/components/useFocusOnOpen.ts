import { useEffect, useRef } from "react";

/**
 * Focuses the safe answer of a dialog when it opens. Fluent's own first-focus picks the first button (Yes) and, when
 * it finds none yet (the surface still mounting), focuses the surface itself: then tabster's modalizer never becomes
 * active and, 250 ms later, marks the whole dialog aria-hidden — the "Unable to find role=button name No" that failed
 * the Composer test once in thirty runs. Focusing inside the surface ourselves activates the modalizer every time.
 */
export function useFocusOnOpen<T extends HTMLElement = HTMLButtonElement>(open: boolean) {
  const ref = useRef<T>(null);
  useEffect(() => {
    if (!open) return;
    let tries = 0;
    let timer: ReturnType<typeof setTimeout>;
    const focus = () => {
      const el = ref.current;
      if (el && el.isConnected) {
        el.focus();
        if (document.activeElement === el) return;
      }
      if (++tries < 20) timer = setTimeout(focus, 25);
    };
    timer = setTimeout(focus, 0);
    return () => clearTimeout(timer);
  }, [open]);
  return ref;
}
