// The hub console's only script (served by the hub, no build step). The pages work without it.
// - the partner table (table[data-live]) re-reads its JSON every few seconds and updates without a reload;
// - filter box and "only those needing attention" on the partner table;
// - forms with data-confirm ask before they are sent; "select all" on the dead-letter list.
"use strict";
(function () {
  var EVERY = 3000;

  function cell(tr, col, text, href) {
    var td = document.createElement("td");
    td.setAttribute("data-col", col);
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    } else {
      td.textContent = text;
    }
    tr.appendChild(td);
    return td;
  }

  function row(p) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-partner", p.partner);
    tr.setAttribute("data-category", p.category);
    var id = encodeURIComponent(p.partner);
    cell(tr, "partner", p.partner, "/partners/" + id);
    var st = cell(tr, "state", "");
    var badge = document.createElement("span");
    badge.className = "state state-" + p.category;
    badge.title = p.reasons.join(", ");
    badge.textContent = p.state;
    st.appendChild(badge);
    cell(tr, "inbox", p.inbox).className = "num";
    cell(tr, "held", String(p.held)).className = "num";
    cell(tr, "oldest", p.oldest).className = "num";
    cell(tr, "dead", String(p.dead), "/dlq?partner=" + id).className = "num";
    cell(tr, "eta", p.eta).className = "num";
    cell(tr, "until", p.window_until);
    return tr;
  }

  function applyFilter(table) {
    var box = document.getElementById("filter");
    var only = document.getElementById("attention");
    var text = box ? box.value.trim().toLowerCase() : "";
    var rows = table.tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var name = r.getAttribute("data-partner") || "";
      var hide = (text && name.indexOf(text) < 0) ||
        (only && only.checked && r.getAttribute("data-category") === "up");
      r.hidden = !!hide;
    }
  }

  function live(table) {
    var url = table.getAttribute("data-live");
    var mark = document.getElementById("live");
    function set(id, text) {
      var el = document.getElementById(id);
      if (el) { el.textContent = text; }
    }
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (resp) {
          if (resp.status === 401) { window.location.href = "/login?next=" + encodeURIComponent("/"); }
          if (!resp.ok) { throw new Error("HTTP " + resp.status); }
          return resp.json();
        })
        .then(function (doc) {
          var body = document.createElement("tbody");
          doc.partners.forEach(function (p) { body.appendChild(row(p)); });
          table.replaceChild(body, table.tBodies[0]);
          Object.keys(doc.summary).forEach(function (k) {
            var el = document.querySelector('[data-count="' + k + '"]');
            if (el) { el.textContent = String(doc.summary[k]); }
          });
          set("hubs", doc.hubs.length ? doc.hubs.join(", ") : "none (states unknown)");
          set("updated", doc.updated_eat);
          var err = document.getElementById("error");
          if (err) { err.hidden = !doc.error; err.textContent = doc.error || ""; }
          if (mark) { mark.hidden = false; mark.className = "live"; mark.textContent = "live"; }
          applyFilter(table);
        })
        .catch(function () {
          if (mark) { mark.hidden = false; mark.className = "live stale"; mark.textContent = "not updating"; }
        })
        .then(function () { window.setTimeout(tick, EVERY); });
    }
    window.setTimeout(tick, EVERY);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.querySelector("table[data-live]");
    if (table) {
      live(table);
      ["filter", "attention"].forEach(function (id) {
        var el = document.getElementById(id);
        if (el) { el.addEventListener("input", function () { applyFilter(table); }); }
        if (el) { el.addEventListener("change", function () { applyFilter(table); }); }
      });
    }
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (ev) {
        if (!window.confirm(f.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });
    var all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll('#dlq input[name="id"]').forEach(function (c) { c.checked = all.checked; });
      });
    }
  });
})();
