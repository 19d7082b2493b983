import { forwardRef, useEffect, useImperativeHandle, useRef, type FocusEvent } from "react";
import { makeStyles, tokens } from "@fluentui/react-components";

export interface BodyEditorHandle {
  /** Inserts text at the caret (or where the caret last was), or at the end. */
  insertText: (text: string) => void;
  focus: () => void;
}

const useStyles = makeStyles({
  editor: {
    minHeight: "160px",
    maxHeight: "50vh",
    overflowY: "auto",
    padding: `${tokens.spacingVerticalS} ${tokens.spacingHorizontalM}`,
    border: `1px solid ${tokens.colorNeutralStroke1}`,
    borderBottomColor: tokens.colorNeutralStrokeAccessible,
    borderRadius: tokens.borderRadiusMedium,
    backgroundColor: tokens.colorNeutralBackground1,
    fontFamily: tokens.fontFamilyBase,
    fontSize: tokens.fontSizeBase300,
    lineHeight: tokens.lineHeightBase300,
    overflowWrap: "anywhere",
    ":focus-visible": { outline: `2px solid ${tokens.colorBrandStroke1}`, outlineOffset: "1px" },
    "& p": { margin: "0 0 0.5em" },
  },
});

/**
 * The body as the recipient sees it (HTML), edited in place. Tags such as {{Person.P_Name}} are plain text in it.
 * `value` is HTML; the editor only rewrites its content when `value` changes from outside (template, draft).
 */
export const BodyEditor = forwardRef<
  BodyEditorHandle,
  { value: string; onChange: (html: string) => void; label: string; describedBy?: string; onFocus?: () => void; invalid?: boolean }
>(function BodyEditor({ value, onChange, label, describedBy, onFocus, invalid }, ref) {
  const s = useStyles();
  const el = useRef<HTMLDivElement>(null);
  const lastEmitted = useRef<string | null>(null);
  const savedRange = useRef<Range | null>(null);

  useEffect(() => {
    if (el.current && value !== lastEmitted.current) {
      el.current.innerHTML = value;
      lastEmitted.current = value;
    }
  }, [value]);

  const emit = () => {
    if (!el.current) return;
    const html = el.current.innerHTML;
    lastEmitted.current = html;
    onChange(html);
  };

  const saveRange = () => {
    const sel = typeof window.getSelection === "function" ? window.getSelection() : null;
    if (sel && sel.rangeCount > 0 && el.current?.contains(sel.getRangeAt(0).commonAncestorContainer)) {
      savedRange.current = sel.getRangeAt(0).cloneRange();
    }
  };

  useImperativeHandle(ref, () => ({
    insertText(text: string) {
      const root = el.current;
      if (!root) return;
      const node = document.createTextNode(text);
      const range = savedRange.current;
      if (range && root.contains(range.commonAncestorContainer)) {
        range.deleteContents();
        range.insertNode(node);
      } else {
        const last = root.lastElementChild;
        if (last && /^(P|DIV)$/.test(last.tagName)) last.appendChild(node);
        else root.appendChild(node);
      }
      const after = document.createRange();
      after.setStartAfter(node);
      after.collapse(true);
      savedRange.current = after;
      const sel = typeof window.getSelection === "function" ? window.getSelection() : null;
      if (sel && document.activeElement === root) {
        sel.removeAllRanges();
        sel.addRange(after);
      }
      emit();
    },
    focus() {
      el.current?.focus();
    },
  }));

  return (
    <div
      ref={el}
      className={s.editor}
      contentEditable
      suppressContentEditableWarning
      role="textbox"
      aria-multiline="true"
      aria-label={label}
      aria-describedby={describedBy}
      aria-invalid={invalid || undefined}
      tabIndex={0}
      data-testid="body-editor"
      onInput={emit}
      onBlur={(e: FocusEvent<HTMLDivElement>) => {
        saveRange();
        if (e.currentTarget.innerHTML !== lastEmitted.current) emit();
      }}
      onKeyUp={saveRange}
      onMouseUp={saveRange}
      onFocus={onFocus}
    />
  );
});
