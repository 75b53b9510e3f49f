import { Hono } from "hono";
import { pageHtml } from "./page-html.js";
import { PAGE_JS } from "./page-script.js";
import { PAGE_CSS } from "./page-style.js";

/**
 * Scripts and styles only from this server, no inline code, no frames: a document's markup that
 * slipped into the page could still not run.
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Two stacked bars, the second shorter: a ranking. */
const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect x="2" y="3" width="12" height="4" rx="1" fill="#2563eb"/><rect x="2" y="9" width="8" height="4" rx="1" fill="#64748b"/></svg>';

/** The page and its assets, held in memory: the server reads no file to serve them, so it serves no other. */
export function pageRoutes(): Hono {
  const app = new Hono();
  const asset = (body: string, type: string) => () =>
    new Response(body, { headers: { "content-type": `${type}; charset=utf-8`, "content-security-policy": CSP, "cache-control": "no-cache" } });
  // Relative to the page's URL: at "/rag" a bare "assets/" would resolve to the host app's "/assets/".
  app.get("/", (c) => {
    const last = c.req.path.split("/").at(-1);
    return asset(pageHtml(last ? `${last}/assets/` : "assets/"), "text/html")();
  });
  app.get("/assets/app.js", asset(PAGE_JS, "text/javascript"));
  app.get("/assets/app.css", asset(PAGE_CSS, "text/css"));
  // Named by the page, so the browser asks for no /favicon.ico (a 404 in its console; outside the app when mounted).
  app.get("/assets/icon.svg", asset(ICON_SVG, "image/svg+xml"));
  return app;
}
