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

/** The page and its two assets, held in memory: the server reads no file to serve them, so it serves no other. */
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
  return app;
}
