import { describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { SearchPanel } from "./SearchPanel";
import { mockFetch } from "../test/fetchMock";
import { renderPane } from "../test/render";

const page = (start: number, count: number, total: number) => ({
  resource: "resumes",
  total,
  start,
  count,
  items: Array.from({ length: count }, (_, i) => ({
    id: 10001 + start + i,
    name: `候補者 ${start + i + 1}`,
    subtitle: `コウホシャ ${start + i + 1}`,
    fields: {
      "Resume.P_Id": String(10001 + start + i),
      "Resume.P_Phase": "活動中",
      "Resume.P_Owner": "営業 太郎",
      "Resume.P_UpdateDate": "2026/11/20 10:00:00",
      "Resume.P_DateOfBirth": "1990/01/15",
    },
  })),
});

function routes() {
  return mockFetch({
    "GET /api/hrbc/resumes": (c) => {
      const u = new URL(c.url, "http://x");
      const start = Number(u.searchParams.get("start") ?? 0);
      return page(start, Math.min(20, 45 - start), 45);
    },
    "GET /api/hrbc/phases": () => [{ alias: "Option.P_ResumePhase_Active", name: "活動中", id: 1, order: 1, resource: "Resume" }],
  });
}

describe("SearchPanel", () => {
  it("shows a page at a time, and select all checks only what is displayed", async () => {
    const { calls } = routes();
    const onBulk = vi.fn();
    const user = userEvent.setup({ delay: null });
    renderPane(<SearchPanel resource="resumes" anchor={null} onBulk={onBulk} />);
    await screen.findByText("候補者 1");
    expect(screen.getByTestId("counts")).toHaveTextContent("0 checked · 20 displayed · 45 total");

    await user.click(screen.getByRole("button", { name: "Show more" }));
    await screen.findByText("候補者 40");
    expect(screen.getByTestId("counts")).toHaveTextContent("0 checked · 40 displayed · 45 total");
    expect(new URL(calls.filter((c) => c.url.includes("/resumes"))[1]!.url, "http://x").searchParams.get("start")).toBe("20");

    await user.click(screen.getByRole("checkbox", { name: "Select all displayed" }));
    expect(screen.getByTestId("counts")).toHaveTextContent("40 checked · 40 displayed · 45 total");

    await user.click(screen.getByRole("checkbox", { name: "Check 候補者 2" }));
    expect(screen.getByTestId("counts")).toHaveTextContent("39 checked");

    await user.click(screen.getByRole("button", { name: /Bulk mail/ }));
    const items = await screen.findAllByRole("menuitem");
    expect(items.map((i) => i.textContent)).toEqual(["Newsletter to candidates"]);
    await user.click(items[0]!);
    expect(onBulk).toHaveBeenCalledTimes(1);
    const [mode, sel] = onBulk.mock.calls[0]!;
    expect(mode).toBe("Resumes");
    expect(sel.displayedIds).toHaveLength(40);
    expect(sel.checkedIds).toHaveLength(39);
    expect(sel.total).toBe(45);
  });

  it("tells records apart by ID, phase, age, owner and updated date, and unticks what was just mailed", async () => {
    routes();
    const user = userEvent.setup({ delay: null });
    const { rerender } = renderPane(<SearchPanel resource="resumes" anchor={null} onBulk={vi.fn()} />, { lang: "ja" });
    await screen.findByText("候補者 1");
    const meta = screen.getAllByTestId("row-meta")[0]!;
    expect(meta).toHaveTextContent(/ID 10001 · 活動中 · \d+ 歳 · 担当者：営業 太郎 · 更新 2026\/11\/20/);
    const box = screen.getByRole("checkbox", { name: "候補者 1 を選択" });
    expect(box).toHaveAccessibleDescription(meta.textContent!);

    await user.click(box);
    await user.click(screen.getByRole("checkbox", { name: "候補者 2 を選択" }));
    await user.click(screen.getByRole("checkbox", { name: "候補者 3 を選択" }));
    expect(screen.getByTestId("counts")).toHaveTextContent("チェック 3 件");
    rerender(<SearchPanel resource="resumes" anchor={null} onBulk={vi.fn()} untick={{ ids: [10001, 10002], key: 1 }} />);
    await waitFor(() => expect(screen.getByTestId("counts")).toHaveTextContent("チェック 1 件"));
    expect(screen.getByRole("checkbox", { name: "候補者 3 を選択" })).toBeChecked();
    expect(screen.getByTestId("unticked")).toHaveTextContent("送信した 2 件のチェックを外しました。");
  });

  it("searches with keywords and the phase condition", async () => {
    const { calls } = routes();
    const user = userEvent.setup({ delay: null });
    renderPane(<SearchPanel resource="resumes" anchor={null} onBulk={vi.fn()} />);
    await screen.findByText("候補者 1");
    await user.type(screen.getByRole("textbox", { name: "Keywords" }), "鈴木");
    await user.click(screen.getByRole("combobox", { name: "Phase" }));
    await user.click(await screen.findByRole("option", { name: "活動中" }));
    await user.click(screen.getByRole("button", { name: "Search" }));
    await waitFor(() => expect(calls.filter((c) => c.url.includes("/resumes")).length).toBe(2));
    const u = new URL(calls.filter((c) => c.url.includes("/resumes"))[1]!.url, "http://x");
    expect(u.searchParams.get("keywords")).toBe("鈴木");
    expect(u.searchParams.get("condition")).toBe("Resume.P_Phase:or=Option.P_ResumePhase_Active");
  });

  it("offers the two matching modes in a job's resume list", async () => {
    routes();
    const user = userEvent.setup({ delay: null });
    renderPane(<SearchPanel resource="resumes" anchor="job" onBulk={vi.fn()} />, { lang: "ja" });
    await screen.findByText("候補者 1");
    await user.click(screen.getByRole("button", { name: /一括メール/ }));
    const menu = await screen.findByRole("menu");
    expect(within(menu).getAllByRole("menuitem").map((i) => i.getAttribute("data-mode"))).toEqual(["JobToResumes", "ResumesToRecruiter"]);
  });

  it("starts a job's resume list from the job's shared option values as removable conditions, not from every record", async () => {
    const { calls } = mockFetch({
      "GET /api/hrbc/jobs/30004/match": () => ({
        resource: "resumes",
        conditions: [
          {
            field: "Resume.P_ExpectArea", label: "希望勤務地", anchorField: "Job.P_Area", anchorLabel: "勤務地", optionRoot: "Option.P_Area",
            options: [{ alias: "Option.P_Tokyo", name: "東京都" }, { alias: "Option.P_Osaka", name: "大阪府" }],
          },
          {
            field: "Resume.P_ExpectJobCategory", label: "希望職種", anchorField: "Job.P_JobCategory", anchorLabel: "職種", optionRoot: "Option.P_JobCategory",
            options: [{ alias: "Option.P_Engineer", name: "エンジニア" }],
          },
        ],
      }),
      "GET /api/hrbc/resumes": () => page(0, 3, 3),
      "GET /api/hrbc/phases": () => [],
    });
    const onBulk = vi.fn();
    const user = userEvent.setup({ delay: null });
    renderPane(<SearchPanel resource="resumes" anchor="job" anchorId={30004} onBulk={onBulk} />, { lang: "ja" });
    const group = await screen.findByTestId("match-conditions");
    expect(group).toHaveTextContent("JOBから引き継いだ条件");
    for (const chip of ["希望勤務地：東京都", "希望勤務地：大阪府", "希望職種：エンジニア"]) expect(within(group).getByText(chip)).toBeInTheDocument();
    const searches = () => calls.filter((c) => c.url.includes("/api/hrbc/resumes")).map((c) => new URL(c.url, "http://x").searchParams.get("condition"));
    // The first (and only) load already carries the conditions: the unfiltered list is never asked for.
    await waitFor(() => expect(searches()).toEqual(["Resume.P_ExpectArea:or=Option.P_Tokyo:Option.P_Osaka,Resume.P_ExpectJobCategory:or=Option.P_Engineer"]));

    await user.click(within(group).getByRole("button", { name: "希望勤務地：大阪府 外す" }));
    await waitFor(() => expect(searches().at(-1)).toBe("Resume.P_ExpectArea:or=Option.P_Tokyo,Resume.P_ExpectJobCategory:or=Option.P_Engineer"));
    expect(within(screen.getByTestId("match-conditions")).queryByText("希望勤務地：大阪府")).not.toBeInTheDocument();

    // Keywords and the phase go with them; All sends the same condition.
    await user.type(screen.getByRole("textbox", { name: "キーワード" }), "田中");
    await user.click(screen.getByRole("button", { name: "検索" }));
    await waitFor(() => expect(calls.at(-1)!.url).toContain("keywords=%E7%94%B0%E4%B8%AD"));
    await user.click(within(screen.getByTestId("match-conditions")).getByRole("button", { name: "希望職種：エンジニア 外す" }));
    await waitFor(() => expect(searches().at(-1)).toBe("Resume.P_ExpectArea:or=Option.P_Tokyo"));
    await user.click(screen.getByRole("button", { name: /一括メール/ }));
    await user.click(await screen.findByRole("menuitem", { name: /JOB打診/ }));
    expect(onBulk.mock.calls[0]![1].query).toEqual({ keywords: "田中", condition: "Resume.P_ExpectArea:or=Option.P_Tokyo" });
  });

  it("shows the API's problem details when the search fails", async () => {
    mockFetch({
      "GET /api/hrbc/phases": () => [],
      "GET /api/hrbc/resumes": () =>
        new Response(JSON.stringify({ title: "The search has invalid parameters.", status: 400, errors: { keywords: ["keywords must be at most 100 characters"] } }), {
          status: 400,
          headers: { "Content-Type": "application/problem+json" },
        }),
    });
    renderPane(<SearchPanel resource="resumes" anchor={null} onBulk={vi.fn()} />);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The search has invalid parameters.");
    expect(alert).toHaveTextContent("keywords must be at most 100 characters");
  });
});
