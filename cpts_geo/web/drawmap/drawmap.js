// The drawing map (Streamlit components v2, see cpts_geo/web/drawmap/__init__.py): Leaflet from the app's
// static/ folder, the IRIS of the area drawn once, the selection kept here so that a click colours the
// zone at once; the selection (list of IRIS codes, with a sequence number) goes back to Python, which
// stays the reference: what it sends back is applied unless the user has clicked since.
// Every text of the payload is HTML already escaped by cpts_geo.web.webmap.

const areas = window.__cptsAreas || (window.__cptsAreas = new Map());   // area id → payload, kept across reruns
const optionalLayers = window.__cptsLayers || (window.__cptsLayers = new Map());   // optional layer id → payload
// The view of each area ({center, zoom}) and the last view request done: a rerun of the whole page may mount the map
// again (a new name…), which then keeps the user's view instead of framing the area or the last request again.
const views = window.__cptsViews || (window.__cptsViews = {byArea: new Map(), request: null});
const maps = new WeakMap();   // parent element → map state

function loadLeaflet() {
  if (!window.__cptsLeaflet) {
    const base = new URL("app/static/leaflet/", document.baseURI);
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = new URL("leaflet.css", base).href;
    document.head.appendChild(css);
    window.__cptsLeaflet = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = new URL("leaflet.js", base).href;
      script.onload = () => resolve(window.L);
      script.onerror = () => reject(new Error("Leaflet introuvable dans static/"));
      document.head.appendChild(script);
    });
  }
  return window.__cptsLeaflet;
}

// Whether a point is inside a polygon (ray casting on longitude / latitude: the lasso is small enough).
function insidePolygon(point, polygon) {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i], b = polygon[j];
    if ((a.lat > point.lat) !== (b.lat > point.lat)
        && point.lng < (b.lng - a.lng) * (point.lat - a.lat) / (b.lat - a.lat) + a.lng) inside = !inside;
  }
  return inside;
}

function html(text) {
  const box = document.createElement("div");
  box.innerHTML = text;   // escaped by cpts_geo.web.webmap
  return box;
}

class DrawMap {
  constructor(parent, component) {
    this.component = component;
    this.box = document.createElement("div");
    this.box.className = "cpts-drawmap";
    parent.appendChild(this.box);
    this.selected = new Set();
    this.seq = 0;
    this.areaId = null;
    this.overlayKey = null;
    this.paint = null;   // {add, changed} while the mouse paints: the stroke is sent once, on release
    this.gesture = null;   // {shape, extend(LatLng), contains(LatLng)} while Shift + drag (box) or Ctrl + drag (lasso) selects
    this.optional = new Map();   // optional layer id shown → {group, fill, hover}
    this.fills = null;   // [IRIS or commune code → fill colour], latest switched on first, while layers colour the IRIS
    this.legendOpen = null;   // whether the legends are unfolded (null: by the map's width)
    this.labelCount = 0;   // labels made so far: the rank of a label among those of its kind (see placeLabels)
    this.overlayLabels = false;   // whether the overlays shown have labels
  }

  init(L, data) {
    this.L = L;
    this.box.style.height = `${data.height}px`;
    this.map = L.map(this.box, {maxZoom: 18, boxZoom: false, doubleClickZoom: false});
    window.cptsDrawMap = this.map;
    const tiles = L.tileLayer(data.tiles, {attribution: data.attribution, maxZoom: 18});
    tiles.once("tileerror", () => {
      const notice = L.control({position: "bottomleft"});
      notice.onAdd = () => {
        const box = L.DomUtil.create("div", "cpts-tile-error");
        box.textContent = data.tile_error;
        return box;
      };
      notice.addTo(this.map);
    });
    tiles.addTo(this.map);
    L.control.scale({imperial: false}).addTo(this.map);
    this.map.createPane("cptsPoints").style.zIndex = 450;   // dots above every zone and overlay
    this.areaGroup = L.layerGroup().addTo(this.map);
    this.optionalGroup = L.layerGroup().addTo(this.map);
    this.overlayGroup = L.layerGroup().addTo(this.map);
    this.zoomed = [];   // layers shown from a zoom level
    this.map.on("zoomend", () => {
      this.showByZoom();
      this.placeLabels();
    });
    this.map.on("moveend", () => {
      if (this.areaId) views.byArea.set(this.areaId, {center: this.map.getCenter(), zoom: this.map.getZoom()});
    });
    this.listeners = [["mouseup", () => { this.endGesture(); this.endPaint(); this.map.dragging.enable(); }],
                      ["keydown", event => this.key(event)]];
    for (const [type, listener] of this.listeners) document.addEventListener(type, listener);
    // Shift + drag or Ctrl + drag (or the lasso tool), from outside the zones too (a press on a zone goes to press())
    this.map.on("mousedown", event => this.startGesture(event));
    this.box.addEventListener("mousemove", event => {
      if (this.gesture) this.gesture.extend(this.map.mouseEventToLatLng(event));
    });
    this.legends = this.legendBox().addTo(this.map);
  }

  // Ctrl+Z / Ctrl+Y (or Ctrl+Shift+Z) anywhere in the page but a text field: undo / redo, done by Python.
  key(event) {
    if (!(event.ctrlKey || event.metaKey) || event.target.closest("input, textarea, [contenteditable]")) return;
    const letter = event.key.toLowerCase();
    const action = letter === "z" && !event.shiftKey ? "undo" : letter === "y" || letter === "z" ? "redo" : null;
    if (action) {
      event.preventDefault();
      this.component.setTriggerValue("key", action);
    }
  }

  destroy() {
    for (const [type, listener] of this.listeners || []) document.removeEventListener(type, listener);
    if (this.map) this.map.remove();
  }

  // A zone's style; while optional layers fill the IRIS (APL, density), every zone shows its colour in the latest
  // switched on, and the selection is outlined.
  style(code) {
    const selected = this.selected.has(code), style = selected ? this.styles.selected : this.styles.iris;
    if (!this.fills) return style;
    const commune = this.communeByCode.get(code), colours = this.fills.find(fill => fill[code] || fill[commune]);
    const fill = {fillColor: colours ? colours[code] || colours[commune] : "#bdbdbd", fillOpacity: 0.7};
    return selected ? {...style, ...fill, weight: 3} : {...style, ...fill};
  }

  setArea(area) {
    const L = this.L;
    this.areaGroup.clearLayers();
    this.showOptional([]);   // optional layers belong to an area
    this.zoomed = [];
    this.styles = area.styles;
    this.communeByCode = new Map(area.iris.features.map(f => [f.properties.code, f.properties.code_insee]));
    this.byCode = new Map();
    this.byCommune = new Map();
    this.iris = L.geoJSON(area.iris, {
      style: feature => this.style(feature.properties.code),
      onEachFeature: (feature, layer) => {
        const {code, code_insee: commune} = feature.properties;
        this.byCode.set(code, layer);
        if (!this.byCommune.has(commune)) this.byCommune.set(commune, []);
        this.byCommune.get(commune).push(code);
        layer.on("mousedown", event => this.press(code, event));
        layer.on("mouseover", () => this.hover(code, layer));
        layer.on("mouseout", () => layer.setStyle({weight: this.style(code).weight}));
      },
    }).bindTooltip(layer => html(this.tooltip(layer.feature.properties)), {sticky: true});
    this.areaGroup.addLayer(this.iris);
    for (const spec of area.layers) this.addLayer(spec, this.areaGroup);
    this.areaBounds = this.L.latLngBounds(area.bounds);
    const view = views.byArea.get(this.areaId);
    if (view) this.map.setView(view.center, view.zoom, {animate: false}); else this.map.fitBounds(this.areaBounds);
    this.keepAreaClear();
    this.showByZoom();
    this.placeLabels();
  }

  // While the whole area is in view, the open legend hides none of it (La Réunion, Martinique…: an island fills the
  // map up to its lower right corner): the area is framed again on the left of the legend.
  keepAreaClear() {
    const box = this.legends.getContainer();
    if (!this.areaBounds || box.hidden || !this.legendOpen
        || !this.map.getBounds().pad(0.05).contains(this.areaBounds)) return;
    const map = this.box.getBoundingClientRect(), legend = box.getBoundingClientRect();
    const corner = this.map.latLngToContainerPoint(this.areaBounds.getSouthEast());
    if (corner.x > legend.left - map.left && corner.y > legend.top - map.top) {
      this.map.fitBounds(this.areaBounds, {paddingBottomRight: [map.right - legend.left + 10, 0], animate: false});
    }
  }

  // The IRIS's fields, then what the optional layers shown say of it or of its commune (APL, density).
  tooltip(p) {
    const lines = this.tooltipFields.map(([field, alias]) => `<b>${alias}</b> : ${p[field]}`);
    for (const {hover} of this.optional.values()) {
      const line = hover && (hover[p.code] || hover[p.code_insee]);
      if (line) lines.push(line);
    }
    return lines.join("<br>");
  }

  addLayer(spec, group) {
    const L = this.L;
    const layer = L.geoJSON(spec.features, {
      interactive: Boolean(spec.interactive),
      style: feature => ({...spec.style, ...(feature.properties && feature.properties.style)}),
      pointToLayer: (feature, latlng) => L.circleMarker(latlng, {radius: spec.point_radius || 5, pane: "cptsPoints"}),
      onEachFeature: (feature, item) => {
        if (feature.properties && feature.properties.tooltip) item.bindTooltip(html(feature.properties.tooltip));
      },
    });
    // the labels of the selection's outline and neighbours first, then the area's (most populated communes first)
    const rank = (group === this.overlayGroup ? 0 : 1e9) + this.labelCount;
    this.labelCount += (spec.labels || []).length;
    const labels = (spec.labels || []).map(([lat, lng, text, colour], index) => L.marker([lat, lng], {
      interactive: false, keyboard: false, labelRank: rank + index,
      icon: L.divIcon({className: "cpts-label", html: `<span style="color:${colour || spec.style.color}">${text}</span>`,
                       iconSize: [0, 0]}),
    }));
    const all = L.layerGroup([layer, ...labels]);
    if (spec.min_zoom) {
      this.zoomed.push([spec.min_zoom, all, group]);
    } else {
      group.addLayer(all);
    }
  }

  // Show the optional layers of ``ids`` (payloads kept in optionalLayers), each with its legend; hide the others.
  showOptional(ids) {
    for (const [id, shown] of this.optional) {
      if (ids.includes(id)) continue;
      this.optionalGroup.removeLayer(shown.group);
      shown.legend.remove();
      this.optional.delete(id);
    }
    for (const id of ids) {
      if (this.optional.has(id)) continue;
      const payload = optionalLayers.get(id), group = this.L.layerGroup();
      for (const spec of payload.layers) this.addLayer(spec, group);
      this.optionalGroup.addLayer(group);
      const legend = this.legend(payload.legend);
      this.legends.list.append(legend);
      this.optional.set(id, {group, legend, fill: payload.iris_fill, hover: payload.iris_hover});
    }
    this.legends.getContainer().hidden = !this.optional.size;
    if (this.optional.size) this.legends.show(this.legendOpen ?? this.box.clientWidth >= 700);
    this.keepAreaClear();
    const fills = [...this.optional.values()].map(shown => shown.fill).filter(Boolean).reverse();
    if (fills.length || this.fills) {
      this.fills = fills.length ? fills : null;
      if (this.iris) this.iris.setStyle(feature => this.style(feature.properties.code));
    }
  }

  // The legends of the optional layers, in one box under a « Légende » button that folds them (folded when the first
  // legend shows on a map narrower than 700 px, so that they do not hide it; then as the user left them).
  legendBox() {
    const control = this.L.control({position: "bottomright"});
    control.onAdd = () => {
      const box = this.L.DomUtil.create("div", "cpts-legends"), button = document.createElement("button");
      button.type = "button";
      button.className = "cpts-legend-toggle";
      control.list = document.createElement("div");
      control.show = open => {
        this.legendOpen = open;
        control.list.hidden = !open;
        button.textContent = open ? "Légende ▾" : "Légende ▸";
        button.setAttribute("aria-expanded", String(open));
      };
      button.addEventListener("click", () => {
        control.show(!this.legendOpen);
        this.keepAreaClear();
      });
      this.L.DomEvent.disableClickPropagation(box);
      box.append(button, control.list);
      box.hidden = true;
      return box;
    };
    return control;
  }

  legend(spec) {
    const box = document.createElement("div");
    box.className = "cpts-legend";
    const title = document.createElement("div");
    title.className = "cpts-legend-title";
    title.append(...html(spec.title).childNodes);
    box.append(title);
    for (const [colour, label] of spec.items) {
      const row = document.createElement("div"), swatch = document.createElement("span");
      swatch.className = spec.points ? "cpts-swatch cpts-swatch-point" : "cpts-swatch";
      swatch.style.background = colour;
      row.append(swatch, ...html(label).childNodes);
      box.append(row);
    }
    if (spec.note) {
      const note = document.createElement("div");
      note.className = "cpts-legend-note";
      note.append(...html(spec.note).childNodes);
      box.append(note);
    }
    return box;
  }

  showByZoom() {
    const zoom = this.map.getZoom();
    for (const [minZoom, layer, group] of this.zoomed) {
      if (zoom >= minZoom && !group.hasLayer(layer)) group.addLayer(layer);
      if (zoom < minZoom && group.hasLayer(layer)) group.removeLayer(layer);
    }
  }

  // Labels never cover one another: of two that would, the first in rank is shown (a piece or a neighbouring CPTS
  // before a commune, a more populated commune before a smaller one). Positions are read first, then written.
  placeLabels() {
    const labels = [];
    this.map.eachLayer(layer => {
      if (layer.options.labelRank !== undefined && layer._icon) labels.push(layer);
    });
    labels.sort((a, b) => a.options.labelRank - b.options.labelRank);
    const rects = labels.map(label => label._icon.firstChild.getBoundingClientRect()), placed = [];
    labels.forEach((label, index) => {
      const r = rects[index];
      const free = !placed.some(p => r.left < p.right && p.left < r.right && r.top < p.bottom && p.top < r.bottom);
      if (free) placed.push(r);
      label._icon.style.visibility = free ? "" : "hidden";
    });
  }

  hover(code, layer) {
    layer.setStyle({weight: 2.5});
    if (this.paint) this.apply([code], this.paint.add);
  }

  // A press on a zone: toggles it (or its commune, in commune mode or with Alt); while the button is held in a
  // painting tool, the zones under the cursor get the same change. Shift or Ctrl + press (or the lasso tool) starts
  // a selection gesture instead.
  press(code, event) {
    if (this.startGesture(event, code)) return;
    this.toggle(code, event);
  }

  toggle(code, event) {
    const whole = this.mode === "commune" || event.originalEvent.altKey;
    const codes = whole ? this.byCommune.get(this.communeOf(code)) : [code];
    const add = !codes.every(c => this.selected.has(c));
    if (this.tool === "paint") {
      this.paint = {add, changed: false};
      this.startDrawing();
      this.map.dragging.disable();
      this.L.DomEvent.stop(event);
    }
    this.apply(codes, add);
  }

  // The end of a paint stroke: its zones go to Python as one change (one step that « Annuler » undoes).
  endPaint() {
    const stroke = this.paint;
    this.paint = null;
    this.stopDrawing();
    if (stroke && stroke.changed) this.send();
  }

  // While a stroke or a lasso is drawn, the hover tooltips are hidden (they would follow the cursor over the zones).
  startDrawing() {
    this.box.classList.add("cpts-drawing");
    this.map.eachLayer(layer => layer.closeTooltip && layer.closeTooltip());
  }

  stopDrawing() {
    this.box.classList.remove("cpts-drawing");
  }

  // Shift + drag: a box; Ctrl + drag, or a drag with the lasso tool: a free shape (lasso). On release, the zones
  // whose centre is in it are all added, or all removed if they were all selected (in commune mode, their whole
  // communes). Returns whether a gesture started (``code``: the zone pressed, if any).
  startGesture(event, code = null) {
    const {shiftKey, ctrlKey, metaKey} = event.originalEvent;
    const lasso = ctrlKey || metaKey || this.tool === "lasso";
    if (this.gesture || !(shiftKey || lasso)) return false;
    this.L.DomEvent.stop(event);
    this.map.dragging.disable();
    this.startDrawing();
    const start = event.latlng, L = this.L, style = {
      color: this.styles.selected.color, weight: 1.5, dashArray: "5 4", fillOpacity: 0.08, interactive: false};
    if (shiftKey) {
      const shape = L.rectangle(L.latLngBounds(start, start), style).addTo(this.map);
      this.gesture = {shape, extend: point => shape.setBounds(L.latLngBounds(start, point)),
                      contains: point => shape.getBounds().contains(point)};
    } else {
      const points = [start], shape = L.polygon(points, style).addTo(this.map);
      this.gesture = {shape, extend: point => { points.push(point); shape.setLatLngs(points); },
                      contains: point => points.length > 2 && insidePolygon(point, points),
                      // with the lasso tool, a press and release without drawing is a click on the zone
                      click: () => points.length < 3 && code !== null && (this.toggle(code, event), true)};
    }
    return true;
  }

  endGesture() {
    if (!this.gesture) return;
    const {shape, contains, click} = this.gesture;
    shape.remove();
    this.gesture = null;
    this.stopDrawing();
    if (click && click()) return;
    let codes = [...this.byCode].filter(([, layer]) => contains(layer.getBounds().getCenter())).map(([code]) => code);
    if (this.mode === "commune") codes = [...new Set(codes.flatMap(code => this.byCommune.get(this.communeOf(code))))];
    if (codes.length) this.apply(codes, !codes.every(code => this.selected.has(code)));
  }

  communeOf(code) {
    return this.byCode.get(code).feature.properties.code_insee;
  }

  apply(codes, add) {
    if (this.mode === "commune" && this.paint) codes = this.byCommune.get(this.communeOf(codes[0]));
    let changed = false;
    for (const code of codes) {
      if (this.selected.has(code) === add) continue;
      if (add) this.selected.add(code); else this.selected.delete(code);
      this.byCode.get(code).setStyle(this.style(code));
      changed = true;
    }
    if (!changed) return;
    if (this.paint) this.paint.changed = true; else this.send();
  }

  send() {
    this.seq += 1;
    this.component.setStateValue("selection", {codes: [...this.selected].sort(), seq: this.seq});
  }

  setSelection(codes) {
    const next = new Set(codes);
    const changed = [...this.selected, ...next].filter(code => this.selected.has(code) !== next.has(code));
    this.selected = next;
    for (const code of changed) {
      const layer = this.byCode.get(code);
      if (layer) layer.setStyle(this.style(code));
    }
  }

  update(data) {
    this.mode = data.mode;
    this.tool = data.tool;
    this.tooltipFields = data.tooltip_fields;
    if (data.area) areas.set(data.area_id, JSON.parse(data.area));   // JSON text, serialized once per server
    if (data.area_id !== this.areaId) {
      const area = areas.get(data.area_id);
      if (!area) {   // sent to an earlier map of the page: ask Python again
        this.component.setTriggerValue("missing_area", data.area_id);
        return;
      }
      this.areaId = data.area_id;
      this.setArea(area);
    }
    if (data.seq >= this.seq && !this.paint) {   // else the user has clicked since Python's answer, or paints
      this.seq = data.seq;
      this.setSelection(data.selection);
    }
    for (const [id, payload] of Object.entries(data.layer_payloads || {})) optionalLayers.set(id, payload);
    const shown = data.layers_shown || [];
    if (shown.some(id => !optionalLayers.has(id))) {   // sent to an earlier map of the page: ask Python again
      this.component.setTriggerValue("missing_area", this.areaId);
    }
    this.showOptional(shown.filter(id => optionalLayers.has(id)));
    const overlayKey = JSON.stringify(data.overlays);
    if (overlayKey !== this.overlayKey) {
      this.overlayKey = overlayKey;
      this.overlayGroup.clearLayers();
      for (const spec of data.overlays) this.addLayer(spec, this.overlayGroup);
      this.showByZoom();
      // labels to place again only when overlays bring or took some (a piece, a neighbouring CPTS), not at each click
      const labelled = data.overlays.some(spec => spec.labels.length);
      if (labelled || this.overlayLabels) this.placeLabels();
      this.overlayLabels = labelled;
    }
    if (data.view && data.view.request !== views.request) {
      views.request = data.view.request;
      this.map.fitBounds(data.view.bounds, {maxZoom: 15});
    }
  }
}

export default function (component) {
  const {data, parentElement, setStateValue, setTriggerValue} = component;
  let drawMap = maps.get(parentElement);
  if (!drawMap) {
    drawMap = new DrawMap(parentElement, {setStateValue, setTriggerValue});
    maps.set(parentElement, drawMap);
  }
  drawMap.component = {setStateValue, setTriggerValue};
  drawMap.latest = data;
  loadLeaflet().then(L => {
    if (!drawMap.map) drawMap.init(L, data);
    if (drawMap.latest === data) drawMap.update(data);
  });
  return () => {
    drawMap.destroy();
    maps.delete(parentElement);
  };
}
