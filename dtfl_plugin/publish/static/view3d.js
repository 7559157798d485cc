/* DTFL published twin: the 3D view (three.js). Terrain from the DEM grid, the map and the flood depth draped
   on it, buildings as real 3D faces or extruded footprints, coloured by the water against their facade. */
(function () {
  "use strict";
  var DTFL = window.DTFL, S = DTFL.strings, T = window.THREE;
  var site, renderer, scene, camera, controls, buildingMesh, floodMesh, data, zbase = 0;
  var ranges = [], triangleOwner = [], selected = -1, started = false;
  var PICKED = [1.0, 0.82, 0.0];
  function rgb(hex) { var n = parseInt(hex.slice(1), 16); return [(n >> 16) / 255, ((n >> 8) & 255) / 255, (n & 255) / 255]; }

  function render() { if (renderer) renderer.render(scene, camera); }
  function get(url, kind) {
    return fetch("data/" + url).then(function (r) { if (!r.ok) throw new Error(url + ": " + r.status); return r[kind](); });
  }
  function texture(url) {
    return new Promise(function (resolve) {
      new T.TextureLoader().load("data/" + url, function (t) { t.colorSpace = T.SRGBColorSpace; resolve(t); }, undefined, function () { resolve(null); });
    });
  }

  function terrain(grid, heights, drape) {
    var geometry = new T.PlaneGeometry(grid.width, grid.height, grid.nx - 1, grid.ny - 1);
    geometry.rotateX(-Math.PI / 2);
    var pos = geometry.attributes.position;
    for (var i = 0; i < pos.count; i++) pos.setY(i, heights[i] - zbase);
    geometry.computeVertexNormals();
    var material = drape ? new T.MeshLambertMaterial({ map: drape }) : new T.MeshLambertMaterial({ color: 0xc8d3b4 });
    scene.add(new T.Mesh(geometry, material));
    return geometry;
  }
  function flatTerrain(width, height) {
    var geometry = new T.PlaneGeometry(width, height, 1, 1);
    geometry.rotateX(-Math.PI / 2);
    scene.add(new T.Mesh(geometry, new T.MeshLambertMaterial({ color: 0xc8d3b4 })));
    return geometry;
  }

  // --- buildings: one merged mesh; ranges[i] = [first vertex, vertex count] of building i ---
  function v3(x, y, z) { return [x, z - zbase, -y]; }
  function triangulate(points2d, holes2d) {
    return T.ShapeUtils.triangulateShape(points2d, holes2d);
  }
  function addFace(out, rings) {
    var outer = rings[0];
    if (!outer || outer.length < 3) return;
    var n = [0, 0, 0];  // Newell normal: which axis to drop when flattening
    for (var i = 0; i < outer.length; i++) {
      var a = outer[i], b = outer[(i + 1) % outer.length];
      n[0] += (a[1] - b[1]) * (a[2] + b[2]); n[1] += (a[2] - b[2]) * (a[0] + b[0]); n[2] += (a[0] - b[0]) * (a[1] + b[1]);
    }
    var drop = Math.abs(n[2]) >= Math.abs(n[0]) && Math.abs(n[2]) >= Math.abs(n[1]) ? 2 : Math.abs(n[0]) >= Math.abs(n[1]) ? 0 : 1;
    var keep = [0, 1, 2].filter(function (k) { return k !== drop; });
    function flat(ring) { return ring.map(function (p) { return new T.Vector2(p[keep[0]], p[keep[1]]); }); }
    var all = rings.reduce(function (acc, r) { return acc.concat(r); }, []);
    triangulate(flat(outer), rings.slice(1).map(flat)).forEach(function (tri) {
      tri.forEach(function (k) { var p = all[k]; out.push.apply(out, v3(p[0], p[1], p[2])); });
    });
  }
  function addExtruded(out, rings, base, top) {
    rings.forEach(function (ring) {
      for (var i = 0; i < ring.length; i++) {
        var a = ring[i], b = ring[(i + 1) % ring.length];
        out.push.apply(out, v3(a[0], a[1], base).concat(v3(b[0], b[1], base), v3(b[0], b[1], top)));
        out.push.apply(out, v3(a[0], a[1], base).concat(v3(b[0], b[1], top), v3(a[0], a[1], top)));
      }
    });
    var roof = rings.map(function (ring) { return ring.map(function (p) { return [p[0], p[1], top]; }); });
    addFace(out, roof);
  }
  function buildings(items) {
    var positions = [];
    items.forEach(function (item, index) {
      var start = positions.length / 3;
      if (item.f) item.f.forEach(function (face) { addFace(positions, face); });
      else item.p.forEach(function (polygon) { addExtruded(positions, polygon, item.b, item.t); });
      var count = positions.length / 3 - start;
      ranges.push([start, count]);
      for (var t = 0; t < count / 3; t++) triangleOwner.push(index);
    });
    var geometry = new T.BufferGeometry();
    geometry.setAttribute("position", new T.Float32BufferAttribute(positions, 3));
    geometry.setAttribute("color", new T.Float32BufferAttribute(new Float32Array(positions.length), 3));
    geometry.computeVertexNormals();
    buildingMesh = new T.Mesh(geometry, new T.MeshLambertMaterial({ vertexColors: true, side: T.DoubleSide }));
    scene.add(buildingMesh);
  }
  function facadeValue(item) {
    var values = item.d && item.d[DTFL.scenario];
    return values && typeof values[0] === "number" ? values[0] : null;
  }
  function colourOf(index) {
    // classes from site.json (the legend under the view shows the same): [upper limit in m, colour, label]
    if (index === selected) return PICKED;
    var classes = site.scene.facade_classes, depth = facadeValue(data.items[index]) || 0;
    for (var i = 0; i < classes.length; i++) if (classes[i][0] === null || depth < classes[i][0]) return rgb(classes[i][1]);
    return rgb(classes[classes.length - 1][1]);
  }
  function recolour() {
    if (!buildingMesh) return;
    var colours = buildingMesh.geometry.attributes.color;
    ranges.forEach(function (range, index) {
      var c = colourOf(index);
      for (var v = range[0]; v < range[0] + range[1]; v++) colours.setXYZ(v, c[0], c[1], c[2]);
    });
    colours.needsUpdate = true;
  }

  // --- selection and the building panel ---
  function label(index) { return S.building + " " + (index + 1); }
  function metres(value) { return value < 0.005 ? S.dry : value.toFixed(2).replace(".", site.lang === "nl" ? "," : ".") + " " + S.m; }
  function showInfo(index) {
    var box = document.getElementById("building-info");
    box.textContent = "";
    var item = data.items[index];
    var h = document.createElement("p");
    h.innerHTML = "<strong></strong>";
    h.firstChild.textContent = label(index);
    box.appendChild(h);
    var fields = site.scene.scenario_fields || [];
    if (fields.length) {
      var depth = facadeValue(item), p = document.createElement("p");
      p.className = "facade" + (depth === null || depth < 0.005 ? " dry" : "");
      p.textContent = S.facade + ": " + (depth === null ? S.none : metres(depth));
      box.appendChild(p);
    }
    var dl = document.createElement("dl");
    Object.keys(item.a || {}).forEach(function (name) {
      var v = item.a[name];
      if (v === null || v === "" || v === undefined) return;
      var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = name;
      dd.textContent = typeof v === "number" ? String(Math.round(v * 100) / 100) : String(v);
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    box.appendChild(dl);
  }
  function select(index, focusCamera) {
    selected = index;
    recolour();
    showInfo(index);
    document.body.dataset.building = String(index);
    if (focusCamera) {
      var range = ranges[index], pos = buildingMesh.geometry.attributes.position, c = new T.Vector3(), n = 0;
      for (var v = range[0]; v < range[0] + range[1]; v++) { c.x += pos.getX(v); c.y += pos.getY(v); c.z += pos.getZ(v); n++; }
      if (n) { c.divideScalar(n); var shift = c.clone().sub(controls.target); controls.target.add(shift); camera.position.add(shift); controls.update(); }
    }
    render();
  }
  function buildingList() {
    var box = document.getElementById("building-list");
    if (!box) return;
    box.textContent = "";
    if (!data) return;
    var wet = [];
    data.items.forEach(function (item, i) { var d = facadeValue(item); if (d !== null && d >= 0.005) wet.push([d, i]); });
    wet.sort(function (a, b) { return b[0] - a[0]; });
    if (!wet.length) { var p = document.createElement("p"); p.textContent = (site.scene.scenario_fields || []).length ? S.noBuildings : ""; box.appendChild(p); return; }
    var ul = document.createElement("ul");
    wet.slice(0, 60).forEach(function (pair) {
      var li = document.createElement("li"), b = document.createElement("button");
      b.type = "button";
      b.textContent = label(pair[1]) + ": " + metres(pair[0]);
      b.addEventListener("click", function () { select(pair[1], true); });
      li.appendChild(b);
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }

  // --- interaction: click/tap picks a building, keys turn and zoom ---
  function pick(event) {
    if (!buildingMesh) return;
    var rect = renderer.domElement.getBoundingClientRect();
    var ndc = new T.Vector2(((event.clientX - rect.left) / rect.width) * 2 - 1, -((event.clientY - rect.top) / rect.height) * 2 + 1);
    var ray = new T.Raycaster();
    ray.setFromCamera(ndc, camera);
    var hit = ray.intersectObject(buildingMesh, false)[0];
    if (hit) select(triangleOwner[hit.faceIndex], false);
  }
  function keys(e) {
    var offset = camera.position.clone().sub(controls.target), up = new T.Vector3(0, 1, 0), step = Math.PI / 24;
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") offset.applyAxisAngle(up, e.key === "ArrowLeft" ? -step : step);
    else if (e.key === "ArrowUp" || e.key === "ArrowDown") {
      var right = offset.clone().cross(up).normalize(), next = offset.clone().applyAxisAngle(right, e.key === "ArrowUp" ? step : -step);
      if (next.y > 5 && next.clone().normalize().y < 0.99) offset = next;
    } else if (e.key === "+" || e.key === "=") offset.multiplyScalar(0.85);
    else if (e.key === "-") offset.multiplyScalar(1.15);
    else return;
    e.preventDefault();
    camera.position.copy(controls.target).add(offset);
    controls.update();
    render();
  }
  function setFlood(id) {
    if (!floodMesh) return;
    var tex = floodTextures[id];
    floodMesh.visible = !!tex;
    if (tex) { floodMesh.material.map = tex; floodMesh.material.needsUpdate = true; }
  }
  var floodTextures = {};

  function resize() {
    var box = document.getElementById("scene");
    if (!renderer || !box.clientWidth) return;
    renderer.setSize(box.clientWidth, box.clientHeight, false);
    camera.aspect = box.clientWidth / box.clientHeight;
    camera.updateProjectionMatrix();
    render();
  }
  function makeRenderer(box) {
    try {
      renderer = new T.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    } catch (err) {
      DTFL.notice(S.noWebgl);
      return false;
    }
    renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    box.appendChild(renderer.domElement);
    renderer.domElement.setAttribute("aria-hidden", "true");
    return true;
  }
  function start() {
    site = site || DTFL.site;  // the site may have arrived before this script ran
    if (started || !site) { resize(); return; }
    started = true;
    var box = document.getElementById("scene"), scn = site.scene;
    if (!makeRenderer(box)) return;
    scene = new T.Scene();
    scene.background = new T.Color(0xdfe9f3);
    scene.add(new T.HemisphereLight(0xffffff, 0x8d8d7a, 1.6));
    var sun = new T.DirectionalLight(0xffffff, 1.4);
    sun.position.set(-0.5, 1, 0.35);
    scene.add(sun);
    var size = Math.max(scn.width, scn.height);
    camera = new T.PerspectiveCamera(45, 1, Math.max(0.5, size / 2000), size * 20);
    controls = new T.OrbitControls(camera, renderer.domElement);
    controls.maxPolarAngle = Math.PI * 0.48;
    controls.addEventListener("change", render);
    Promise.all(load()).then(function (parts) {
      var heights = parts[0] ? new Float32Array(parts[0]) : null;
      zbase = scn.terrain ? scn.terrain.zmin : 0;
      var ground = heights ? terrain(scn.terrain, heights, parts[1]) : flatTerrain(scn.width, scn.height);
      var floods = Object.keys(scn.flood || {});
      return Promise.all(floods.map(function (id) { return texture(scn.flood[id]); })).then(function (textures) {
        floods.forEach(function (id, i) { floodTextures[id] = textures[i]; });
        if (floods.length) {
          var material = new T.MeshBasicMaterial({ transparent: true, depthWrite: false, polygonOffset: true, polygonOffsetFactor: -4, polygonOffsetUnits: -4 });
          floodMesh = new T.Mesh(ground, material);
          floodMesh.renderOrder = 1;
          scene.add(floodMesh);
          setFlood(DTFL.scenario);
        }
        data = parts[2];
        if (data && data.items.length) buildings(data.items);
        recolour();
        buildingList();
        var target = new T.Vector3(0, scn.terrain ? (scn.terrain.zmax - zbase) / 2 : 0, 0);
        controls.target.copy(target);
        camera.position.set(-size * 0.35, size * 0.55, size * 0.75);
        controls.update();
        resize();
        DTFL.marks.first3d = performance.now();
        document.body.dataset.scene = "ready";
      });
    }).catch(function (err) { DTFL.notice(S.noWebgl + " (" + err.message + ")"); });
    var down = null;
    renderer.domElement.addEventListener("pointerdown", function (e) { down = [e.clientX, e.clientY]; });
    renderer.domElement.addEventListener("pointerup", function (e) {
      if (down && Math.abs(e.clientX - down[0]) + Math.abs(e.clientY - down[1]) < 6) pick(e);
    });
    box.addEventListener("keydown", keys);
    window.addEventListener("resize", resize);
  }
  function load() {
    var scn = site.scene;
    return [
      scn.terrain ? get(scn.terrain.file, "arrayBuffer") : Promise.resolve(null),
      scn.drape ? texture(scn.drape) : Promise.resolve(null),
      scn.buildings ? get(scn.buildings, "json") : Promise.resolve(null),
    ];
  }

  window.addEventListener("dtfl:site", function (e) { site = e.detail; if (!document.getElementById("view-3d").hidden) start(); });
  window.addEventListener("dtfl:view", function (e) { if (e.detail === "3d") start(); });
  // The site (and a #3d start) may have come before this script ran: catch up.
  if (DTFL.site && !document.getElementById("view-3d").hidden) start();
  window.addEventListener("dtfl:scenario", function (e) {
    setFlood(e.detail);
    recolour();
    if (selected >= 0 && data) showInfo(selected);
    buildingList();
    render();
  });
  // Where building i's roof is on screen (client pixels): lets a test click it like a person does.
  function screenPoint(index) {
    var range = ranges[index], pos = buildingMesh.geometry.attributes.position, c = new T.Vector3(), top = -1e9;
    for (var v = range[0]; v < range[0] + range[1]; v++) { c.x += pos.getX(v); c.z += pos.getZ(v); top = Math.max(top, pos.getY(v)); }
    c.x /= range[1]; c.z /= range[1]; c.y = top;
    c.project(camera);
    var rect = renderer.domElement.getBoundingClientRect();
    return { x: rect.left + (c.x + 1) / 2 * rect.width, y: rect.top + (1 - c.y) / 2 * rect.height };
  }
  DTFL.view3d = {
    select: function (i) { select(i, true); }, screenPoint: screenPoint,
    count: function () { return data ? data.items.length : 0; },
    facade: function (i) { return facadeValue(data.items[i]); },
  };
})();
