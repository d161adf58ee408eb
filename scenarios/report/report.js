// fksim HTML report: draws a run's ladder when its section is opened; a click shows a message.
// Everything taken from the data reaches the page through textContent or attributes, never as markup.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("fksim-data").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const LANE = 160, GUTTER = 96, ROW = 22, TOP = 10;
  const details = document.getElementById("details");

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function seconds(t) { return t.toFixed(6) + " s"; }

  // Lanes: handsets, then the base or its DECT managers, then the server, then any other party.
  function laneRank(name) {
    if (name.startsWith("handset:")) return 0;
    if (name === "base" || /^dm\d+$/.test(name)) return 1;
    if (name === "server") return 2;
    return 3;
  }
  function laneOrder(a, b) {
    const ra = laneRank(a), rb = laneRank(b);
    if (ra !== rb) return ra - rb;
    const na = /^dm(\d+)$/.exec(a), nb = /^dm(\d+)$/.exec(b);
    if (na && nb) return Number(na[1]) - Number(nb[1]);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function bytesOf(b64) {
    const text = atob(b64);
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }
  function hexdump(bytes) {
    const lines = [];
    for (let off = 0; off < bytes.length; off += 16) {
      const row = bytes.slice(off, off + 16);
      const hex = Array.from(row, (b) => b.toString(16).padStart(2, "0")).join(" ");
      const ascii = Array.from(row, (b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join("");
      lines.push(off.toString(16).padStart(4, "0") + "  " + hex.padEnd(48) + "  " + ascii);
    }
    return lines.join("\n");
  }
  function fieldsTable(obj, skip) {
    const table = el("table");
    for (const [key, value] of Object.entries(obj)) {
      if (skip.includes(key) || value === null || value === undefined) continue;
      const tr = el("tr");
      tr.append(el("td", {}, key), el("td", {}, typeof value === "object" ? JSON.stringify(value) : String(value)));
      table.append(tr);
    }
    return table;
  }

  function showMessage(run, index) {
    const m = run.messages[index];
    details.replaceChildren();
    details.dataset.kind = "message";
    details.dataset.index = String(index);
    details.append(el("h2", {}, m.name + (m.lost ? "  [lost]" : "")));
    details.append(el("p", { class: "route" }, seconds(m.t) + "  " + m.layer.toUpperCase() + "  " + m.from + " \u2192 " + m.to));
    details.append(el("h3", {}, "Decoded"));
    const d = m.decoded;
    if (m.layer === "dect") {
      details.append(fieldsTable(d, ["t", "layer", "from", "to", "ies", "hex"]));
      for (const ie of d.ies || []) {
        const rest = {};
        for (const [k, v] of Object.entries(ie)) if (k !== "name" && k !== "id") rest[k] = v;
        details.append(el("h3", { class: "ie" }, ie.id + " " + ie.name));
        details.append(fieldsTable(rest, []));
      }
    } else {
      details.append(fieldsTable(d, ["t", "layer", "from", "to"]));
    }
    if (m.bytes !== undefined) {
      const bytes = bytesOf(m.bytes);
      if (m.layer === "sip") {
        details.append(el("h3", {}, "Message"));
        details.append(el("pre", { class: "sip-text" }, new TextDecoder("utf-8").decode(bytes)));
      }
      details.append(el("h3", {}, "Bytes (" + bytes.length + ")"));
      details.append(el("pre", { class: "hexdump" }, hexdump(bytes)));
    } else if (d.hex) {
      details.append(el("h3", {}, "Bytes"));
      details.append(el("pre", { class: "hexdump" }, d.hex));
    }
  }
  function showExpectation(e) {
    details.replaceChildren();
    details.dataset.kind = "expectation";
    details.append(el("h2", { class: e.passed ? "ok" : "bad" }, (e.passed ? "PASS" : "FAIL") + "  expectation [" + e.index + "]"));
    details.append(el("p", {}, "at " + (e.at === null ? "end" : e.at + " s")));
    details.append(el("pre", {}, e.message));
  }

  function draw(run, container) {
    const names = new Set();
    for (const m of run.messages) { names.add(m.from); names.add(m.to); }
    if (!names.has("server")) names.add("server");
    const lanes = Array.from(names).sort(laneOrder);
    const x = new Map(lanes.map((name, i) => [name, GUTTER + i * LANE + LANE / 2]));
    const width = Math.max(GUTTER + lanes.length * LANE, 760);   // room for the expectation bands' text

    // Rows in time order: notices and expectations placed after the messages of their instant.
    const end = run.sim_time;
    const rows = [];
    const marks = run.expectations.map((e) => ({ kind: "expect", t: e.at === null ? end : e.at, e }))
      .concat(run.notices.map((n) => ({ kind: "notice", t: n.t, n })))
      .sort((a, b) => a.t - b.t);
    let k = 0;
    run.messages.forEach((m, i) => {
      while (k < marks.length && marks[k].t < m.t) rows.push(marks[k++]);
      rows.push({ kind: "message", i, m });
    });
    while (k < marks.length) rows.push(marks[k++]);

    const header = el("div", { class: "lanes", style: "width:" + width + "px" });
    for (const name of lanes) header.append(el("span", { style: "left:" + x.get(name) + "px" }, name));
    const height = TOP + rows.length * ROW + 10;
    const root = svg("svg", { class: "ladder-svg", width: String(width), height: String(height),
                              viewBox: "0 0 " + width + " " + height });
    const defs = svg("defs");
    for (const layer of ["sip", "dect"]) {
      const marker = svg("marker", { id: "head-" + layer + "-" + container.dataset.run, viewBox: "0 0 10 10",
                                     refX: "10", refY: "5", markerWidth: "9", markerHeight: "9", markerUnits: "userSpaceOnUse",
                                     orient: "auto-start-reverse" });
      marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: layer === "sip" ? "#1565c0" : "#7b1fa2" }));
      defs.append(marker);
    }
    root.append(defs);
    for (const name of lanes) {
      root.append(svg("line", { class: "lifeline", x1: x.get(name), x2: x.get(name), y1: 0, y2: height }));
    }
    const fragment = document.createDocumentFragment();
    rows.forEach((row, r) => {
      const y = TOP + r * ROW + ROW / 2 + 4;
      if (row.kind === "message") {
        const m = row.m;
        const x1 = x.get(m.from), x2 = x.get(m.to);
        const g = svg("g", { class: "arrow " + m.layer + (m.lost ? " lost" : ""), "data-index": String(row.i),
                             tabindex: "0", role: "button" });
        g.append(svg("title", {}, m.name + " " + m.summary));
        g.append(svg("text", { class: "time", x: "4", y: String(y + 4) }, m.t.toFixed(6)));
        g.append(svg("line", { class: "wire", x1, x2, y1: y, y2: y,
                               "marker-end": "url(#head-" + m.layer + "-" + container.dataset.run + ")" }));
        const left = Math.min(x1, x2);
        const extra = m.layer === "sip" && m.decoded.body ? " \u00b7 " + m.decoded.body : "";
        let label = m.name + extra;
        const room = Math.floor((Math.abs(x2 - x1) - 12) / 6.7);
        if (label.length > room && room > 8) label = label.slice(0, room - 1) + "\u2026";
        g.append(svg("text", { class: "name", x: String(left + 6), y: String(y - 3) }, label + (m.lost ? " [lost]" : "")));
        if (m.lost) {
          const cx = x2 + (x1 < x2 ? -14 : 14);
          g.append(svg("path", { class: "lostmark", d: `M${cx - 4},${y - 4} L${cx + 4},${y + 4} M${cx - 4},${y + 4} L${cx + 4},${y - 4}` }));
        }
        g.append(svg("rect", { class: "hit", x: "0", y: String(y - ROW / 2 - 3), width: String(width), height: String(ROW) }));
        fragment.append(g);
      } else if (row.kind === "expect") {
        const e = row.e;
        const g = svg("g", { class: "expect " + (e.passed ? "pass" : "fail"), "data-expect": String(e.index), tabindex: "0" });
        g.append(svg("rect", { x: "2", y: String(y - 13), width: String(width - 4), height: String(ROW - 3), rx: "3" }));
        const label = (e.passed ? "\u2713 PASS" : "\u2717 FAIL") + " [" + e.index + "] at " + (e.at === null ? "end" : e.at + "s") + ": " + e.message;
        g.append(svg("text", { x: "8", y: String(y + 2) }, label));
        fragment.append(g);
      } else {
        const g = svg("g", { class: "notice" });
        g.append(svg("text", { x: String(GUTTER), y: String(y + 2) }, row.n.t.toFixed(6) + "  " + row.n.from + ": " + row.n.text));
        fragment.append(g);
      }
    });
    root.append(fragment);
    root.addEventListener("click", (event) => select(run, root, event.target));
    root.addEventListener("keydown", (event) => { if (event.key === "Enter") select(run, root, event.target); });
    const ladder = el("div", { class: "ladder" });
    const inner = el("div", { style: "position:relative;width:" + width + "px" });
    inner.append(header, root);
    ladder.append(inner);
    container.append(ladder);
  }

  function select(run, root, target) {
    const arrow = target.closest ? target.closest("g.arrow, g.expect") : null;
    if (!arrow) return;
    for (const old of document.querySelectorAll("g.selected")) old.classList.remove("selected");
    arrow.classList.add("selected");
    if (arrow.classList.contains("arrow")) showMessage(run, Number(arrow.dataset.index));
    else showExpectation(run.expectations.find((e) => String(e.index) === arrow.dataset.expect));
  }

  function section(run, index) {
    const box = el("details", { class: "run", id: "run-" + index, "data-run": String(index) });
    const summary = el("summary");
    summary.append(el("span", { class: "verdict " + (run.passed ? "pass" : "fail") }, run.passed ? "pass" : "FAIL"),
                   document.createTextNode(run.title + " [" + run.model + "]"));
    box.append(summary);
    const held = run.expectations.filter((e) => e.passed).length;
    box.append(el("div", { class: "meta" }, run.file + " \u00b7 model " + run.model + " \u00b7 seed " + run.seed + " \u00b7 " +
      run.messages.length + " messages \u00b7 " + held + "/" + run.expectations.length + " expectations held \u00b7 " +
      run.sim_time.toFixed(1) + " s simulated"));
    if (run.error) box.append(el("div", { class: "error" }, run.error));
    const legend = el("div", { class: "legend" });
    legend.append(el("span", { class: "dect" }, "\u2014 DECT NWK"), document.createTextNode("   "),
                  el("span", { class: "sip" }, "\u2014 SIP"), document.createTextNode("   - - lost datagram"));
    box.append(legend);
    let drawn = false;
    box.addEventListener("toggle", () => {
      if (box.open && !drawn) { drawn = true; draw(run, box); box.dataset.drawn = "true"; }
    });
    return box;
  }

  const main = document.getElementById("runs");
  if (DATA.skipped.length) {
    const p = el("p", { class: "hint" }, "Skipped (the model cannot run the file): " +
      DATA.skipped.map((s) => s.file + " on " + s.model + " (" + s.why + ")").join("; "));
    main.append(p);
  }
  DATA.runs.forEach((run, i) => main.append(section(run, i)));
  const firstFailed = DATA.runs.findIndex((r) => !r.passed);
  const open = DATA.runs.length === 1 ? 0 : firstFailed;
  if (open >= 0) document.getElementById("run-" + open).open = true;
  document.body.dataset.ready = "true";
})();
