// The pages' own behaviour, on top of htmx and the NHS.UK frontend; every page works without it.
// - start the NHS.UK components, again on content htmx swaps in (error summaries take focus);
// - draw Vega-Lite charts from their JSON blocks (Vega's interpreter, no eval: the CSP holds);
// - announce what a swap changed through one persistent status region;
// - give a hidden tab's live stream back (browsers allow six HTTP/1.1 connections per site),
//   and catch up when the tab is shown again;
// - keep the keyboard on Play and Pause as they replace each other;
// - the print buttons.
import { initAll } from "/assets/nhsuk/nhsuk-frontend.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();

function drawCharts(root) {
  if (typeof window.vegaEmbed !== "function") return;
  root.querySelectorAll("[data-chart-spec]").forEach((element) => {
    const source = document.getElementById(element.dataset.chartSpec);
    if (!source || element.dataset.drawn) return;
    element.dataset.drawn = "yes";
    // The picture, not its container, is the image: the container also holds the export links.
    const label = element.getAttribute("aria-label");
    element.removeAttribute("role");
    element.removeAttribute("aria-label");
    window
      .vegaEmbed(element, JSON.parse(source.textContent), {
        actions: { export: true, source: false, compiled: false, editor: false },
        ast: true,
        expr: window.vega.expressionInterpreter,
        defaultStyle: false,
        renderer: "svg",
        tooltip: false,
      })
      .then(() => {
        const svg = element.querySelector("svg");
        if (svg && label) {
          svg.setAttribute("role", "img");
          svg.setAttribute("aria-label", label);
        }
      });
  });
}

function bindPrintButtons(root) {
  root.querySelectorAll("[data-print]").forEach((button) => {
    if (button.dataset.printBound) return;
    button.dataset.printBound = "yes";
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  });
}

drawCharts(document);
bindPrintButtons(document);

document.body.addEventListener("htmx:load", (event) => {
  drawCharts(event.target);
  bindPrintButtons(event.target);
});

// Play and Pause take each other's place (pressed, or at a replay's last frame): the keyboard
// stays on whichever appeared, instead of falling back to the top of the page.
const TOGGLES = new Map([["play", "pause"], ["pause", "play"]]);
let focusedToggle = null;
document.body.addEventListener("htmx:beforeCleanupElement", (event) => {
  const element = event.target;
  if (element === document.activeElement && TOGGLES.has(element.id)) focusedToggle = element.id;
});

function keepFocusOnToggle() {
  const was = focusedToggle;
  focusedToggle = null;
  const active = document.activeElement;
  if (!was || (active && active !== document.body)) return; // htmx kept it (same id) or it moved on
  const next = document.getElementById(TOGGLES.get(was)) || document.getElementById(was);
  if (next) next.focus();
}

document.body.addEventListener("htmx:afterSettle", (event) => {
  keepFocusOnToggle();
  const target = event.detail.target || event.target;
  if (!(target instanceof Element)) return;
  initAll({ scope: target.isConnected ? target : document.body });
  const summary = document.querySelector(".nhsuk-error-summary");
  if (summary && target.contains(summary)) summary.focus();
  const news = target.matches("[data-announce]") ? target : target.querySelector("[data-announce]");
  const status = document.getElementById("live-status");
  if (news && status) status.textContent = news.textContent.replace(/\s+/g, " ").trim();
});

const sleeping = new Map();

document.addEventListener("visibilitychange", () => {
  if (typeof window.htmx === "undefined") return;
  if (document.hidden) {
    document.querySelectorAll("[data-live]").forEach((element) => {
      const marker = document.createComment("live stream paused while the tab is hidden");
      element.before(marker);
      sleeping.set(marker, element.cloneNode(true));
      window.htmx.remove(element); // htmx-ext-sse closes the EventSource on cleanup
    });
    return;
  }
  sleeping.forEach((copy, marker) => {
    marker.replaceWith(copy);
    window.htmx.process(copy);
    const refresh = copy.querySelector("[hx-trigger]");
    if (refresh) window.htmx.trigger(refresh, "sse:changed"); // what happened meanwhile
  });
  sleeping.clear();
});
