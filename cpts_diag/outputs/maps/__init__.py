"""Web (folium, offline) and printed (matplotlib) maps of CPTS territories, one module per job.

* :mod:`.classes`: colours, legend labels and the classes of a choropleth (:class:`~.classes.Classification`);
* :mod:`.spec`: what a map shows (:class:`~.spec.MapSpec`), given alike to the web and the printed maps;
* :mod:`.geometry`: projection, simplification for the web, outlines, the frame of a territory;
* :mod:`.layout`: where things go on a map (main part, insets, panels, label boxes);
* :mod:`.elements`: the folium elements (feature layers, legend, decorations) of the web maps;
* :mod:`.web`: the web maps (a territory's communes, a région, the proposals of a check);
* :mod:`.offline`: the standalone offline page (Leaflet and ``static/map.js`` inlined);
* :mod:`.printed`: the printed map.

Maps are sent to ARS delegations who open them offline on administration networks and print them, hence:
web maps embed Leaflet (from the ``xstatic-leaflet`` package) and no other resource; geometries are simplified
as a coverage (neighbours keep sharing their borders) and coordinates rounded; every text a user reads is French
and escaped; masked values are drawn in their own grey hatched class, never as zero; fictitious data carry a
visible red banner.
"""
