// bondkd molecule view. All trace text enters the DOM through textContent only.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("bondkd-data").textContent);
  var nodes = new vis.DataSet(data.nodes);
  var edges = new vis.DataSet(data.edges);
  var container = document.getElementById("graph");
  var network = new vis.Network(container, { nodes: nodes, edges: edges }, data.options);
  // Read by the browser tests and handy from the console.
  var view = { network: network, nodes: nodes, edges: edges, settled: false, shown: null };
  window.bondkdView = view;

  function settle(by) {
    if (view.settledBy) return;
    view.settledBy = by;
    network.setOptions({ physics: { enabled: false } });
    network.fit({ animation: false });
    // Room for the reflection arcs that bow above the first row.
    network.moveTo({ scale: network.getScale() * 0.92, animation: false });
    // Settled means drawn in the final place, not only computed.
    network.once("afterDrawing", function () {
      view.settledAt = performance.now();
      view.settled = true;
      document.body.setAttribute("data-settled", "true");
    });
    network.redraw();
  }
  network.once("stabilizationIterationsDone", function () { settle("stabilization"); });
  // A graph without edges may never report stabilisation.
  network.once("afterDrawing", function () {
    window.setTimeout(function () { settle("first draw"); }, 0);
  });

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function bondLine(b, other, arrow) {
    var li = el("li", "bond " + b.type);
    var link = el("button", "step-link", "step " + other);
    link.type = "button";
    link.addEventListener("click", function () {
      focusStep(other);
    });
    li.appendChild(el("span", "arrow", arrow + " "));
    li.appendChild(link);
    li.appendChild(el("span", "bond-type", " " + data.bondLabels[b.type] + " "));
    li.appendChild(el("b", null, b.energy.toFixed(3)));
    var c = b.components, parts = [];
    ["attention", "semantic", "coherence"].forEach(function (k) {
      if (c[k] !== null && c[k] !== undefined) parts.push(k.slice(0, 3) + " " + c[k].toFixed(2));
    });
    if (parts.length) li.appendChild(el("span", "muted", " (" + parts.join(", ") + ")"));
    return li;
  }

  function showStep(index) {
    var s = data.steps[index];
    if (!s) return;
    view.shown = index;
    var panel = document.getElementById("panel");
    panel.replaceChildren();
    var head = el("div", "panel-head");
    head.appendChild(el("h2", null, "Step " + s.index));
    head.appendChild(el("span", "badge role " + s.role, data.roleLabels[s.role]));
    panel.appendChild(head);
    panel.appendChild(el("p", "muted", "characters " + s.start + "–" + s.end));
    panel.appendChild(el("div", "step-text", s.text));
    var out = data.bonds.filter(function (b) { return b.source === index; });
    var inc = data.bonds.filter(function (b) { return b.target === index; });
    panel.appendChild(el("h3", null, "Builds on (" + out.length + ")"));
    var ul = el("ul", "bonds");
    out.forEach(function (b) { ul.appendChild(bondLine(b, b.target, "→")); });
    panel.appendChild(ul);
    panel.appendChild(el("h3", null, "Used by (" + inc.length + ")"));
    ul = el("ul", "bonds");
    inc.forEach(function (b) { ul.appendChild(bondLine(b, b.source, "←")); });
    panel.appendChild(ul);
  }

  function focusStep(index) {
    network.selectNodes([index]);
    network.focus(index, { scale: Math.max(network.getScale(), 0.8), animation: false });
    showStep(index);
  }
  view.showStep = showStep;

  network.on("hoverNode", function (p) { showStep(p.node); });
  network.on("click", function (p) {
    if (p.nodes.length) showStep(p.nodes[0]);
  });

  document.querySelectorAll("input[data-bond-type]").forEach(function (box) {
    box.addEventListener("change", function () {
      var type = box.getAttribute("data-bond-type");
      edges.update(
        data.edges
          .filter(function (e) { return e.bondType === type; })
          .map(function (e) { return { id: e.id, hidden: !box.checked }; })
      );
    });
  });
})();
