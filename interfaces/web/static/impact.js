// Start the NHS.UK frontend's components, and draw any Vega-Lite charts on the page (also after
// htmx swaps content in). Charts run Vega's expression interpreter: no eval, so the CSP holds.
import { initAll } from "/assets/nhsuk/nhsuk-frontend.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();

function drawCharts(root) {
  if (typeof window.vegaEmbed !== "function") return;
  root.querySelectorAll("[data-chart-spec]").forEach((element) => {
    const source = document.getElementById(element.dataset.chartSpec);
    if (!source || element.dataset.drawn) return;
    element.dataset.drawn = "yes";
    window.vegaEmbed(element, JSON.parse(source.textContent), {
      actions: { export: true, source: false, compiled: false, editor: false },
      ast: true,
      expr: window.vega.expressionInterpreter,
      defaultStyle: false,
      renderer: "svg",
      tooltip: false,
    });
  });
}

drawCharts(document);
document.body.addEventListener("htmx:load", (event) => drawCharts(event.target));
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
