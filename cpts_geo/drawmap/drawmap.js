// The drawing map (Streamlit components v2, see cpts_geo/drawmap/__init__.py): Leaflet from the app's
// static/ folder, the IRIS of the area drawn once, the selection kept here so that a click colours the
// zone at once; the selection (list of IRIS codes, with a sequence number) goes back to Python, which
// stays the reference: what it sends back is applied unless the user has clicked since.
// Every text of the payload is HTML already escaped by cpts_geo.webmap.

const areas = window.__cptsAreas || (window.__cptsAreas = new Map());   // area id → payload, kept across reruns
const optionalLayers = window.__cptsLayers || (window.__cptsLayers = new Map());   // optional layer id → payload
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

function html(text) {
  const box = document.createElement("div");
  box.innerHTML = text;   // escaped by cpts_geo.webmap
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
    this.viewRequest = null;
    this.paint = null;   // {add: bool} while the mouse paints
    this.rectangle = null;   // {start: LatLng, shape: L.Rectangle} while Shift + drag draws a selection box
    this.optional = new Map();   // optional layer id shown → {group, legend, fill}
    this.fill = null;   // commune → fill colour of the IRIS, while an optional layer colours them
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
    this.map.on("zoomend", () => this.showByZoom());
    this.listeners = [["mouseup", () => { this.endBox(); this.paint = null; this.map.dragging.enable(); }],
                      ["keydown", event => this.key(event)]];
    for (const [type, listener] of this.listeners) document.addEventListener(type, listener);
    // Shift + drag, from outside the zones too (a press on a zone goes to press())
    this.map.on("mousedown", event => { if (event.originalEvent.shiftKey) this.startBox(event); });
    this.box.addEventListener("mousemove", event => this.moveBox(event));
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

  // A zone's style; while an optional layer fills the IRIS (APL), every zone shows its commune's colour and
  // the selection is outlined.
  style(code) {
    const selected = this.selected.has(code), style = selected ? this.styles.selected : this.styles.iris;
    if (!this.fill) return style;
    const fill = {fillColor: this.fill[this.communeByCode.get(code)] || "#bdbdbd", fillOpacity: 0.7};
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
    this.map.fitBounds(area.bounds);
    this.showByZoom();
  }

  tooltip(p) {
    return this.tooltipFields.map(([field, alias]) => `<b>${alias}</b> : ${p[field]}`).join("<br>");
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
    const labels = (spec.labels || []).map(([lat, lng, text]) => L.marker([lat, lng], {
      interactive: false, keyboard: false,
      icon: L.divIcon({className: "cpts-label", html: `<span style="color:${spec.style.color}">${text}</span>`,
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
      this.optional.set(id, {group, legend: this.legend(payload.legend).addTo(this.map), fill: payload.iris_fill});
    }
    const fills = [...this.optional.values()].map(shown => shown.fill).filter(Boolean);
    const fill = fills.length ? Object.assign({}, ...fills) : null;
    if (fill || this.fill) {
      this.fill = fill;
      if (this.iris) this.iris.setStyle(feature => this.style(feature.properties.code));
    }
  }

  legend(spec) {
    const control = this.L.control({position: "bottomright"});
    control.onAdd = () => {
      const box = this.L.DomUtil.create("div", "cpts-legend");
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
    };
    return control;
  }

  showByZoom() {
    const zoom = this.map.getZoom();
    for (const [minZoom, layer, group] of this.zoomed) {
      if (zoom >= minZoom && !group.hasLayer(layer)) group.addLayer(layer);
      if (zoom < minZoom && group.hasLayer(layer)) group.removeLayer(layer);
    }
  }

  hover(code, layer) {
    layer.setStyle({weight: 2.5});
    if (this.paint) this.apply([code], this.paint.add);
  }

  // A press on a zone: toggles it (or its commune, in commune mode or with Alt); while the button is held in a
  // painting tool, the zones under the cursor get the same change. Shift + press starts a selection box.
  press(code, event) {
    if (event.originalEvent.shiftKey) {
      this.startBox(event);
      return;
    }
    const whole = this.mode === "commune" || event.originalEvent.altKey;
    const codes = whole ? this.byCommune.get(this.communeOf(code)) : [code];
    const add = !codes.every(c => this.selected.has(c));
    this.apply(codes, add);
    if (this.tool === "paint") {
      this.paint = {add};
      this.map.dragging.disable();
      this.L.DomEvent.stop(event);
    }
  }

  // Shift + drag: a box; on release, the zones whose centre is in it are all added, or all removed if they
  // were all selected (in commune mode, their whole communes).
  startBox(event) {
    this.L.DomEvent.stop(event);
    this.map.dragging.disable();
    const start = event.latlng;
    this.rectangle = {start, shape: this.L.rectangle(this.L.latLngBounds(start, start), {
      color: this.styles.selected.color, weight: 1.5, dashArray: "5 4", fillOpacity: 0.08, interactive: false,
    }).addTo(this.map)};
  }

  moveBox(event) {
    if (!this.rectangle) return;
    this.rectangle.shape.setBounds(this.L.latLngBounds(this.rectangle.start, this.map.mouseEventToLatLng(event)));
  }

  endBox() {
    if (!this.rectangle) return;
    const bounds = this.rectangle.shape.getBounds();
    this.rectangle.shape.remove();
    this.rectangle = null;
    let codes = [...this.byCode].filter(([, layer]) => bounds.contains(layer.getBounds().getCenter()))
      .map(([code]) => code);
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
    if (data.area) areas.set(data.area_id, data.area);
    if (data.area_id !== this.areaId) {
      const area = areas.get(data.area_id);
      if (!area) {   // sent to an earlier map of the page: ask Python again
        this.component.setTriggerValue("missing_area", data.area_id);
        return;
      }
      this.areaId = data.area_id;
      this.setArea(area);
    }
    if (data.seq >= this.seq) {   // else the user has clicked since Python's answer: keep the map's state
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
    }
    if (data.view && data.view.request !== this.viewRequest) {
      this.viewRequest = data.view.request;
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
