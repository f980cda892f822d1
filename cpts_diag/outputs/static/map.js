/* The web maps of cpts_diag (cpts_diag/outputs/maps): feature layers decoded from compact arrays, and the
   French controls, view switch and zoom buttons of the legend. Inlined once in each offline page by
   maps.offline.map_html. Layers register in window.cptsDiag.layers[role] (read by the browser tests). */
window.cptsDiag = window.cptsDiag || {layers: {}};

/* A GeoJSON layer of `map` from features [style index (one per view), tooltip, polygons of delta-encoded
   integer rings] scaled by d.k; `styles` is a list of views (lists of styles); each tooltip [heading,
   value...] is built with textContent (no user text is parsed as HTML), its rows named by `labels`. */
window.cptsDiag.featureLayer = function (map, role, d, styles, labels, interactive, highlight) {
    var view = 0;
    function ring(r) {
        var x = 0, y = 0, out = [];
        for (var i = 0; i < r.length; i += 2) {
            x += r[i]; y += r[i + 1];
            out.push([x / d.k, y / d.k]);
        }
        if (out.length) { out.push(out[0]); }
        return out;
    }
    var layer = L.geoJSON({type: "FeatureCollection", features: d.f.map(function (a) {
        return {type: "Feature", properties: {s: a[0], t: a[1]},
                geometry: {type: "MultiPolygon", coordinates: a[2].map(function (p) { return p.map(ring); })}};
    })}, {
        interactive: interactive,
        style: function (f) {
            var s = f.properties.s;
            return styles[view][Array.isArray(s) ? s[view] : s];
        },
        onEachFeature: function (f, feature) {
            if (f.properties.t) {
                feature.bindTooltip(function () {
                    var t = f.properties.t;
                    var div = document.createElement("div"), b = document.createElement("b");
                    b.textContent = t[0];
                    div.appendChild(b);
                    if (t.length > 1) {
                        var table = document.createElement("table");
                        for (var i = 1; i < t.length; i++) {
                            var tr = table.insertRow(), th = document.createElement("th"),
                                td = document.createElement("td");
                            th.textContent = labels[i - 1] || "";
                            td.textContent = t[i];
                            tr.appendChild(th);
                            tr.appendChild(td);
                        }
                        div.appendChild(table);
                    }
                    return div;
                }, {sticky: true, className: "cpts-tip"});
            }
            if (highlight) {
                feature.on("mouseover", function () { this.setStyle({weight: 2.5}); });
                feature.on("mouseout", function () { layer.resetStyle(this); });
            }
        }
    });
    if (styles.length > 1) {
        layer.cptsView = function (v) { view = v; layer.setStyle(layer.options.style); };
    }
    window.cptsDiag.map = map;
    window.cptsDiag.layers[role] = layer;
    return layer;
};

/* French zoom and scale controls, the fictitious-data banner, the legend's view switch and zoom buttons. */
window.cptsDiag.decorate = function (map, fictitious) {
    L.control.zoom({position: "topleft", zoomInTitle: "Zoom avant", zoomOutTitle: "Zoom arrière"}).addTo(map);
    L.control.scale({imperial: false, position: "bottomleft"}).addTo(map);
    if (map.attributionControl) { map.attributionControl.setPrefix("Leaflet"); }
    if (fictitious) { document.body.classList.add("cpts-fictitious"); }
    window.cptsDiag.map = map;
    document.querySelectorAll(".cpts-switch input").forEach(function (input) {
        input.addEventListener("change", function () {
            var v = parseInt(input.value, 10);
            Object.values(window.cptsDiag.layers).forEach(function (layer) {
                if (layer.cptsView) { layer.cptsView(v); }
            });
            document.querySelectorAll(".cpts-view").forEach(function (g) {
                g.hidden = parseInt(g.getAttribute("data-view"), 10) !== v;
            });
            var title = document.querySelector(".cpts-title");
            if (title && input.getAttribute("data-title")) {
                title.textContent = input.getAttribute("data-title");
            }
        });
    });
    document.querySelectorAll(".cpts-zoom").forEach(function (b) {
        b.addEventListener("click", function () {
            map.fitBounds(JSON.parse(b.getAttribute("data-bounds")),
                          {paddingTopLeft: [12, 48], paddingBottomRight: [12, 12]});
        });
    });
};
