"""Web (folium, offline) and printed (matplotlib) maps of CPTS territories, one module per job, every map drawn from
one :class:`~.spec.MapSpec`.

Maps are sent to ARS delegations who open them offline on administration networks and print them, hence:
web maps embed Leaflet (from the ``xstatic-leaflet`` package) and no other resource; geometries are simplified
as a coverage (neighbours keep sharing their borders) and coordinates rounded; every text a user reads is French
and escaped; masked values are drawn in their own grey hatched class, never as zero; fictitious data carry a
visible red banner.
"""
