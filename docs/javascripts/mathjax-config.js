// MathJax 3 typesets the formulas that pymdownx.arithmatex (generic mode) wraps in
// <span class="arithmatex">\(…\)</span> and <div class="arithmatex">\[…\]</div>, and nothing else.
// MathJax itself (tex-svg.js, SVG output: no web fonts to fetch) is served from the site.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
  svg: { fontCache: "global" },
};
