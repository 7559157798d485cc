/* DTFL published twin: tabs, scenario switch, the 2D map (MapLibre GL JS). No request leaves this folder. */
(function () {
  "use strict";
  var S = JSON.parse(document.getElementById("strings").textContent);
  var DTFL = (window.DTFL = { strings: S, scenario: "", site: null, map: null, marks: {} });

  DTFL.notice = function (message) {
    var box = document.getElementById("notice");
    box.textContent = message;
    box.hidden = false;
  };
  if (location.protocol === "file:") DTFL.notice(S.fileUrl);

  // --- tabs (WAI-ARIA tabs pattern: arrow keys move between tabs) ---
  var tabs = Array.prototype.slice.call(document.querySelectorAll("[role=tab]"));
  function selectTab(tab, focus) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    });
    var view = tab.id.replace("tab-", "");
    document.body.dataset.view = view;
    if (focus) tab.focus();
    if (view === "map" && DTFL.map) DTFL.map.resize();
    window.dispatchEvent(new CustomEvent("dtfl:view", { detail: view }));
  }
  tabs.forEach(function (tab, i) {
    tab.addEventListener("click", function () { selectTab(tab, false); });
    tab.addEventListener("keydown", function (e) {
      var next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (next === undefined) return;
      e.preventDefault();
      selectTab(tabs[(next + tabs.length) % tabs.length], true);
    });
  });
  DTFL.selectView = function (view) { selectTab(document.getElementById("tab-" + view), false); };

  // --- scenario switch ---
  DTFL.setScenario = function (id) {
    DTFL.scenario = id;
    document.querySelectorAll(".legend-layer[data-scenario]").forEach(function (row) {
      row.hidden = row.dataset.scenario !== id;
    });
    updateVisibility();
    window.dispatchEvent(new CustomEvent("dtfl:scenario", { detail: id }));
  };
  document.querySelectorAll("input[name=scenario]").forEach(function (radio) {
    radio.addEventListener("change", function () { if (radio.checked) DTFL.setScenario(radio.value); });
  });

  // --- 2D map ---
  function shown(layer) {
    var box = document.querySelector('input[data-layer="' + CSS.escape(layer.id) + '"]');
    var on = box ? box.checked : layer.visible;
    return on && (!layer.scenario || layer.scenario === DTFL.scenario);
  }
  function updateVisibility() {
    if (!DTFL.map || !DTFL.site) return;
    DTFL.site.layers.forEach(function (layer) {
      if (DTFL.map.getLayer(layer.id)) DTFL.map.setLayoutProperty(layer.id, "visibility", shown(layer) ? "visible" : "none");
    });
  }
  function mapStyle(site) {
    var style = { version: 8, sources: {}, layers: [{ id: "background", type: "background", paint: { "background-color": "#f2efe9" } }] };
    site.layers.slice().reverse().forEach(function (layer) {
      var source = "src-" + layer.id;
      var visibility = shown(layer) ? "visible" : "none";
      if (layer.kind === "image") {
        style.sources[source] = { type: "image", url: "data/" + layer.file, coordinates: layer.corners };
        style.layers.push({ id: layer.id, type: "raster", source: source, layout: { visibility: visibility }, paint: { "raster-fade-duration": 0 } });
      } else {
        style.sources[source] = { type: "geojson", data: "data/" + layer.file };
        style.layers.push({ id: layer.id, type: layer.kind, source: source, layout: { visibility: visibility }, paint: layer.paint });
      }
    });
    return style;
  }
  function popup(e) {
    var feature = e.features && e.features[0];
    if (!feature) return;
    var dl = document.createElement("dl");
    Object.keys(feature.properties).slice(0, 10).forEach(function (key) {
      var value = feature.properties[key];
      if (value === null || value === "" || value === undefined || key.charAt(0) === "_") return;
      var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = key;
      dd.textContent = String(value);
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    new maplibregl.Popup({ maxWidth: "18rem" }).setLngLat(e.lngLat).setDOMContent(dl).addTo(DTFL.map);
  }
  function initMap(site) {
    if (!window.maplibregl) return;
    var b = site.bounds;
    var map = (DTFL.map = new maplibregl.Map({
      container: "map", style: mapStyle(site), bounds: [[b[0], b[1]], [b[2], b[3]]],
      fitBoundsOptions: { padding: 16 }, attributionControl: false, maxPitch: 0, dragRotate: false,
    }));
    map.getCanvas().setAttribute("aria-label", document.getElementById("map").getAttribute("aria-label"));
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
    map.addControl(new maplibregl.ScaleControl({ unit: "metric" }));
    map.once("idle", function () { DTFL.marks.firstMap = performance.now(); document.body.dataset.map = "ready"; });
    site.layers.forEach(function (layer) {
      if (layer.kind === "image") return;
      map.on("click", layer.id, popup);
    });
  }
  document.querySelectorAll("input[data-layer]").forEach(function (box) { box.addEventListener("change", updateVisibility); });

  fetch("data/site.json")
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (site) {
      DTFL.site = site;
      DTFL.scenario = site.scenarios.length ? site.scenarios[0].id : "";
      DTFL.setScenario(DTFL.scenario);
      initMap(site);
      window.dispatchEvent(new CustomEvent("dtfl:site", { detail: site }));
      var start = (location.hash || "").replace("#", "");
      if (start === "3d" || start === "origin") DTFL.selectView(start);
    })
    .catch(function () { if (location.protocol !== "file:") DTFL.notice(S.fileUrl); });
})();
