// Self-contained SVG charts for docs/bench.md: no plotting dependency, readable on GitHub.

const COLORS = ["#8a8f98", "#d9822b", "#9db7e8", "#2f6fdf", "#3a9d5d", "#b04fc4"];
const WIDTH = 640;
const HEIGHT = 300;
const PLOT = { left: 70, right: 20, top: 40, bottom: 50 };

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function frame(title: string, body: string, legend: Array<{ name: string; color: string }>, yLabel: string, width = WIDTH): string {
  const step = Math.max(130, ...legend.map((l) => 30 + 6 * l.name.length));
  const items = legend
    .map(
      ({ name, color }, i) =>
        `<rect x="${PLOT.left + i * step}" y="22" width="10" height="10" fill="${color}"/><text x="${PLOT.left + 14 + i * step}" y="31">${escape(name)}</text>`,
    )
    .join("");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${HEIGHT}" width="${width}" height="${HEIGHT}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${PLOT.left}" y="14" font-weight="bold">${escape(title)}</text>${items}`,
    `<text x="14" y="${(PLOT.top + HEIGHT - PLOT.bottom) / 2}" transform="rotate(-90 14 ${(PLOT.top + HEIGHT - PLOT.bottom) / 2})" text-anchor="middle">${escape(yLabel)}</text>`,
    body,
    "</svg>\n",
  ].join("");
}

export interface BarGroup {
  label: string;
  bars: Array<{ name: string; value: number | undefined }>;
}

/** Grouped bars, one colour per bar name, each labelled with its value. */
export function barChart({ title, yLabel, groups }: { title: string; yLabel: string; groups: BarGroup[] }): string {
  const names = [...new Set(groups.flatMap((g) => g.bars.filter((b) => b.value !== undefined).map((b) => b.name)))];
  const max = Math.max(...groups.flatMap((g) => g.bars.map((b) => b.value ?? 0)), 1e-9);
  const barWidth = 26;
  const groupWidth = names.length * (barWidth + 4) + 30;
  const width = Math.max(WIDTH, PLOT.left + PLOT.right + groups.length * groupWidth);
  const plotHeight = HEIGHT - PLOT.top - PLOT.bottom;
  const bottom = HEIGHT - PLOT.bottom;
  const body = groups
    .map((group, g) => {
      const x0 = PLOT.left + g * groupWidth;
      const bars = names
        .map((name, i) => {
          const value = group.bars.find((b) => b.name === name)?.value;
          if (value === undefined) return "";
          const h = (value / max) * (plotHeight - 14);
          const x = x0 + i * (barWidth + 4);
          return `<rect x="${x}" y="${bottom - h}" width="${barWidth}" height="${h}" fill="${COLORS[i % COLORS.length]}"/><text x="${x + barWidth / 2}" y="${bottom - h - 3}" text-anchor="middle" font-size="9">${fmt(value)}</text>`;
        })
        .join("");
      return `${bars}<text x="${x0 + (names.length * (barWidth + 4)) / 2}" y="${bottom + 16}" text-anchor="middle">${escape(group.label)}</text>`;
    })
    .join("");
  const axis = `<line x1="${PLOT.left - 6}" y1="${bottom}" x2="${width - PLOT.right}" y2="${bottom}" stroke="#444"/>`;
  return frame(
    title,
    axis + body,
    names.map((name, i) => ({ name, color: COLORS[i % COLORS.length]! })),
    yLabel,
    width,
  );
}

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

/** Lines with markers, one per series, on linear axes. */
export function lineChart({ title, xLabel, yLabel, series }: { title: string; xLabel: string; yLabel: string; series: Series[] }): string {
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  const ys = series.flatMap((s) => s.points.map(([, y]) => y));
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const [yMin, yMax] = [Math.min(0, ...ys), Math.max(...ys)];
  const plotWidth = WIDTH - PLOT.left - PLOT.right;
  const plotHeight = HEIGHT - PLOT.top - PLOT.bottom;
  const sx = (x: number) => PLOT.left + ((x - xMin) / (xMax - xMin || 1)) * plotWidth;
  const sy = (y: number) => HEIGHT - PLOT.bottom - ((y - yMin) / (yMax - yMin || 1)) * (plotHeight - 10);
  const ticks = (min: number, max: number) => Array.from({ length: 5 }, (_, i) => min + ((max - min) * i) / 4);
  const grid = [
    ...ticks(yMin, yMax).map(
      (y) =>
        `<line x1="${PLOT.left}" y1="${sy(y)}" x2="${WIDTH - PLOT.right}" y2="${sy(y)}" stroke="#eee"/><text x="${PLOT.left - 6}" y="${sy(y) + 4}" text-anchor="end">${fmt(y)}</text>`,
    ),
    ...ticks(xMin, xMax).map((x) => `<text x="${sx(x)}" y="${HEIGHT - PLOT.bottom + 16}" text-anchor="middle">${fmt(x)}</text>`),
    `<text x="${PLOT.left + plotWidth / 2}" y="${HEIGHT - 12}" text-anchor="middle">${escape(xLabel)}</text>`,
  ].join("");
  const color = (i: number) => COLORS[(i + 3) % COLORS.length]!;
  const lines = series
    .map((s, i) => {
      const path = s.points.map(([x, y], j) => `${j ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
      const marks = s.points.map(([x, y]) => `<circle cx="${sx(x)}" cy="${sy(y)}" r="3" fill="${color(i)}"/>`).join("");
      return `<path d="${path}" fill="none" stroke="${color(i)}" stroke-width="2"/>${marks}`;
    })
    .join("");
  return frame(
    title,
    grid + lines,
    series.map((s, i) => ({ name: s.name, color: color(i) })),
    yLabel,
  );
}
