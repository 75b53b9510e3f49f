/**
 * The page's markup: no inline script or style (the CSP forbids both), everything from assets/.
 * `assets` is where they are relative to the page's own URL: "assets/" at "/", "rag/assets/" at
 * "/rag" (mounted in another app, the server cannot know its prefix).
 */
export const pageHtml = (assets: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>rerank-rag</title>
<link rel="icon" href="${assets}icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${assets}app.css">
<script type="module" src="${assets}app.js"></script>
</head>
<body>
<a class="skip" href="#question">Skip to the question</a>
<header>
  <h1>rerank-rag</h1>
  <p id="pipeline" class="muted">Loading the pipeline…</p>
</header>
<main>
  <div id="conversation" aria-label="Conversation"></div>
  <form id="ask-form" aria-label="Ask the documents">
    <div id="token-row" class="token-row" hidden>
      <label for="token">Access token</label>
      <input id="token" type="password" autocomplete="off">
    </div>
    <label for="question">Your question</label>
    <textarea id="question" name="question" rows="2" required placeholder="Ask about the indexed documents"></textarea>
    <div class="controls">
      <label class="check"><input type="checkbox" id="rerank" checked> Re-rank</label>
      <label for="reranker">Re-ranker</label>
      <select id="reranker"></select>
      <button type="submit" id="ask">Ask</button>
      <button type="button" id="new-chat" class="secondary">New conversation</button>
    </div>
    <p class="muted small">Enter asks, Shift+Enter adds a line. Changing the re-rank settings asks the last question again.</p>
  </form>
  <p id="status" class="sr-only" role="status" aria-live="polite"></p>
</main>
</body>
</html>
`;
