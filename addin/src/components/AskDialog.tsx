import type { FC, ReactNode } from "react";
import { useFocusOnOpen } from "./useFocusOnOpen";
import { Button, Dialog, DialogActions, DialogBody, DialogContent, DialogSurface, DialogTitle } from "@fluentui/react-components";

/** A yes/no question before something that cannot be undone (discard, cancel a mailing, delete a template). Focus
 * starts on the safe answer. */
export const AskDialog: FC<{
  open: boolean;
  title: string;
  body?: ReactNode;
  yes: string;
  no: string;
  onYes: () => void;
  onNo: () => void;
  testId?: string;
}> = ({ open, title, body, yes, no, onYes, onNo, testId }) => {
  const noRef = useFocusOnOpen(open);
  return (
  <Dialog open={open} modalType="alert" onOpenChange={(_, d) => !d.open && onNo()}>
    <DialogSurface data-testid={testId}>
      <DialogBody>
        <DialogTitle>{title}</DialogTitle>
        {body && <DialogContent>{body}</DialogContent>}
        <DialogActions fluid>
          <Button appearance="primary" onClick={onYes} data-testid="ask-yes">
            {yes}
          </Button>
          <Button onClick={onNo} ref={noRef} data-testid="ask-no">
            {no}
          </Button>
        </DialogActions>
      </DialogBody>
    </DialogSurface>
  </Dialog>
  );
};
