import { useState, type RefObject } from "react";
import type { MailFieldCount } from "../../api/types";
import { keepMarks } from "../../model/composer";
import type { Draft } from "../../model/draft";
import type { I18n } from "../../i18n";
import { firstError, hasErrors, validateDraft, type FieldErrors } from "../../model/validation";

/** The fields marked wrong (by the pane's check or the server's problem); an edit clears the marks it fixes. */
export function useFieldMarks(draft: Draft, counts: MailFieldCount[] | null, t: I18n["t"], root: RefObject<HTMLElement | null>, onMarked: () => void) {
  const [marks, setMarks] = useState<{ errors: FieldErrors; draft: Draft }>({ errors: {}, draft });
  let errors = marks.errors;
  // Adjusted while rendering: the edited draft is the event.
  if (marks.draft !== draft) {
    errors = hasErrors(marks.errors) ? keepMarks(marks.errors, validateDraft(draft, counts, t)) : marks.errors;
    setMarks({ errors, draft });
  }

  /** Marks the fields, then focuses and scrolls to the first; true when there is nothing to mark. */
  const show = (next: FieldErrors): boolean => {
    setMarks({ errors: next, draft });
    const first = firstError(next);
    if (!first) return true;
    onMarked();
    requestAnimationFrame(() => {
      const box = root.current?.querySelector<HTMLElement>(`[data-field="${first}"]`);
      const focusable = box?.querySelector<HTMLElement>(
        'input:not([disabled]), textarea, [contenteditable="true"], [role="textbox"], button:not([disabled])',
      );
      box?.scrollIntoView?.({ block: "center" });
      focusable?.focus();
    });
    return false;
  };
  return { fieldErrors: errors, show };
}
