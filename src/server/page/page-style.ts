/** The page's stylesheet: light and dark from the system setting, one column on a phone. */
export const PAGE_CSS = `:root {
  --bg: #ffffff; --fg: #1b1f24; --muted: #59636e; --card: #f5f7f9; --border: #d0d7de;
  --accent: #0b5fcc; --accent-fg: #ffffff; --up: #1a7f37; --down: #b42318; --mark: #fff4c2; --error-bg: #fde8e8;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1216; --fg: #e6e9ed; --muted: #a0a9b4; --card: #181d23; --border: #353d47;
    --accent: #6aa7ff; --accent-fg: #0f1216; --up: #56d364; --down: #ff8080; --mark: #4a3f12; --error-bg: #3b1616;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
header, main { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1rem; }
h1 { font-size: 1.4rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 0 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .5rem; }
.muted { color: var(--muted); }
.small { font-size: .85rem; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: .5rem; background: var(--bg); padding: .25rem .5rem; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
form { border-top: 1px solid var(--border); padding: .75rem 0 .5rem; }
form > label { font-weight: 600; display: block; margin-bottom: .25rem; }
textarea, input, select, button { font: inherit; color: inherit; }
textarea { width: 100%; padding: .5rem; border: 1px solid var(--border); border-radius: .4rem; background: var(--card); resize: vertical; }
.controls { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin-top: .5rem; }
select, input[type=password] { padding: .35rem; border: 1px solid var(--border); border-radius: .4rem; background: var(--card); }
button { padding: .45rem 1rem; border-radius: .4rem; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg); cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
button:disabled { opacity: .6; cursor: progress; }
.check { display: inline-flex; gap: .35rem; align-items: center; }
.token-row { display: flex; gap: .5rem; align-items: center; margin-bottom: .5rem; }
.turn { border-bottom: 1px solid var(--border); padding: 1rem 0; }
.answer { white-space: pre-wrap; overflow-wrap: anywhere; }
.cite { font-weight: 600; text-decoration: none; padding: 0 .1rem; }
.cite:hover { text-decoration: underline; }
.notice { border-left: 4px solid var(--muted); padding: .5rem .75rem; background: var(--card); }
.error { border-left: 4px solid var(--down); padding: .5rem .75rem; background: var(--error-bg); }
.timings { font-size: .85rem; color: var(--muted); }
.cards { list-style: none; padding: 0; margin: 0; display: grid; gap: .5rem; }
.card { border: 1px solid var(--border); border-radius: .5rem; padding: .6rem .75rem; background: var(--card); }
.card:target, .card.flash { background: var(--mark); }
.card-title { font-weight: 600; overflow-wrap: anywhere; }
.move { font-size: .85rem; }
.move .up { color: var(--up); font-weight: 600; }
.move .down { color: var(--down); font-weight: 600; }
.chunk { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .9rem; margin: .4rem 0 0; }
details summary { cursor: pointer; color: var(--accent); font-size: .9rem; }
.compare { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.compare ol { padding-left: 1.6rem; margin: 0; font-size: .9rem; }
.compare li { overflow-wrap: anywhere; }
.compare li.kept { font-weight: 600; }
@media (max-width: 40rem) {
  .compare { grid-template-columns: 1fr; }
  body { font-size: 15px; }
}
`;
