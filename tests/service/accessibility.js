// WCAG 2.1 AA checks of one rendered page, run in the browser by tests/service/test_accessibility.py.
// Returns a list of problems, each one line naming what failed and where; an empty list passes.
() => {
  const problems = [];
  const where = (el) => {
    const id = el.id ? `#${el.id}` : "";
    const cls = typeof el.className === "string" && el.className ? `.${el.className.trim().split(/\s+/).join(".")}` : "";
    const text = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 40);
    return `<${el.tagName.toLowerCase()}${id}${cls}> "${text}"`;
  };
  const parse = (color) => {
    const m = /rgba?\(([^)]+)\)/.exec(color || "");
    if (!m) return null;
    const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const blend = (top, bottom) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]);
  };
  const luminance = (c) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  // The colour behind an element: every ancestor's background composited from the root down.
  const behind = (el) => {
    const chain = [];
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) chain.push(e);
    let bg = [255, 255, 255, 1];
    for (const e of chain.reverse()) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) bg = blend(c, bg);
    }
    return bg;
  };
  const visible = (el) => {
    const style = getComputedStyle(el);
    return style.visibility !== "hidden" && style.display !== "none" && el.getClientRects().length > 0;
  };
  const shown = (el) => {
    // inside a closed <details> only the summary shows
    const details = el.closest("details");
    return !details || details.open || el.closest("summary") !== null;
  };

  // 1. a skip link is the first thing to focus, and it leads to the main content
  const first = document.body.querySelector(
    'a[href], button, input:not([type="hidden"]), select, textarea, [tabindex]:not([tabindex="-1"])'
  );
  if (!first || first.getAttribute("href") !== "#main" || !document.getElementById("main")) {
    problems.push(`skip link: the first focusable element is ${first ? where(first) : "none"}`);
  }
  if (!document.documentElement.lang) problems.push("the page has no lang");
  if (!document.title.trim()) problems.push("the page has no title");

  // 2. every field has a label
  for (const field of document.querySelectorAll("input, select, textarea")) {
    if (["hidden", "submit", "button", "reset"].includes(field.type)) continue;
    const labelled =
      (field.labels && [...field.labels].some((l) => l.textContent.trim())) ||
      (field.getAttribute("aria-label") || "").trim() ||
      (field.getAttribute("aria-labelledby") || "")
        .split(/\s+/)
        .some((id) => id && (document.getElementById(id)?.textContent || "").trim());
    if (!labelled) problems.push(`field without a label: ${field.outerHTML.slice(0, 80)}`);
  }

  // 3. headings start at one h1 and never skip a level going down
  const headings = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")];
  const levels = headings.map((h) => Number(h.tagName[1]));
  if (levels.filter((l) => l === 1).length !== 1 || levels[0] !== 1) {
    problems.push(`headings: expected one h1 first, got ${levels.join(" ")}`);
  }
  levels.forEach((level, i) => {
    if (i > 0 && level > levels[i - 1] + 1) {
      problems.push(`headings jump h${levels[i - 1]} → h${level} at ${where(headings[i])}`);
    }
  });

  // 4. text contrast ≥ 4.5:1 (≥ 3:1 for large text)
  for (const el of document.body.querySelectorAll("*")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !visible(el) || !shown(el)) continue;
    if (el.closest(".skip") && !el.matches(":focus")) continue;
    const style = getComputedStyle(el);
    const inSvg = el.closest("svg") !== null;
    const bg = behind(el);
    const ink = parse(inSvg ? style.fill : style.color);
    if (!ink) continue;
    const size = parseFloat(style.fontSize);
    const bold = Number(style.fontWeight) >= 700;
    const needed = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    const got = ratio(blend(ink, bg), bg);
    if (got < needed) problems.push(`text contrast ${got.toFixed(2)} < ${needed}: ${where(el)}`);
  }

  // 5. graphics and field edges ≥ 3:1 against what is next to them
  for (const bar of document.querySelectorAll("svg .bar")) {
    const fill = parse(getComputedStyle(bar).fill);
    const bg = behind(bar.closest("svg"));
    const got = ratio(fill, bg);
    if (got < 3) problems.push(`chart bar contrast ${got.toFixed(2)} < 3`);
    for (const whisker of bar.parentElement.querySelectorAll(".whisker")) {
      const stroke = parse(getComputedStyle(whisker).stroke);
      const worst = Math.min(ratio(stroke, bg), ratio(stroke, fill));
      if (worst < 3) problems.push(`chart whisker contrast ${worst.toFixed(2)} < 3`);
    }
  }
  for (const field of document.querySelectorAll("input, select, textarea, button")) {
    if (["hidden", "checkbox", "radio"].includes(field.type) || !visible(field) || !shown(field)) continue;
    const style = getComputedStyle(field);
    if (field.matches("button.link")) continue; // reads as a link: its text contrast is checked
    const around = behind(field.parentElement);
    const edge = parseFloat(style.borderTopWidth) > 0 ? ratio(parse(style.borderTopColor), around) : 0;
    const fill = parse(style.backgroundColor);
    const body = fill && fill[3] > 0 ? ratio(blend(fill, around), around) : 0;
    if (Math.max(edge, body) < 3) {
      problems.push(`field edge contrast ${Math.max(edge, body).toFixed(2)} < 3: ${where(field)}`);
    }
  }

  // 6. every image has a name
  for (const img of document.querySelectorAll('svg[role="img"], img')) {
    const named =
      (img.getAttribute("alt") || img.getAttribute("aria-label") || "").trim() ||
      (img.getAttribute("aria-labelledby") || "")
        .split(/\s+/)
        .some((id) => id && (document.getElementById(id)?.textContent || "").trim());
    if (!named) problems.push(`image without a name: ${img.outerHTML.slice(0, 80)}`);
  }
  return problems;
}
