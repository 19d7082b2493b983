import { useId, type FC, type ReactNode } from "react";
import { makeStyles, tokens } from "@fluentui/react-components";

const useStyles = makeStyles({
  section: {
    display: "flex",
    flexDirection: "column",
    gap: tokens.spacingVerticalS,
    paddingBottom: tokens.spacingVerticalM,
    borderBottom: `1px solid ${tokens.colorNeutralStroke2}`,
  },
  h: { margin: 0, fontSize: tokens.fontSizeBase400, fontWeight: tokens.fontWeightSemibold },
});

/** A numbered step of the composer, headed so screen readers can jump between steps. */
export const Section: FC<{ title: string; children: ReactNode; testId?: string }> = ({ title, children, testId }) => {
  const s = useStyles();
  const id = useId();
  return (
    <section className={s.section} aria-labelledby={id} data-testid={testId}>
      <h2 id={id} className={s.h}>
        {title}
      </h2>
      {children}
    </section>
  );
};
