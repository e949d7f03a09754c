#!/usr/bin/env python3
"""Turns Natural Earth's land outline (TopoJSON, from the npm package
`world-atlas@2`: `land-110m.json`) into `crates/pictor-web/assets/world.svg`,
one path in the equirectangular projection: x = longitude, y = -latitude,
so the map page's view boxes are plain degrees.

Run once, from the repository root, after `npm pack world-atlas@2` and
unpacking it:  python3 tools/world_svg.py package/land-110m.json
(see crates/pictor-web/assets/PROVENANCE.md). Standard library only.
"""

import json
import sys


def arcs_of(topology):
    """Each arc as absolute [lon, lat] points (TopoJSON quantises and delta-encodes them)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(arcs, indexes):
    """A ring from arc indexes; a negative index ~i is arc i reversed. Shared end points are dropped."""
    points = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        points.extend(arc[1:] if points else arc)
    return points


def path_of(points):
    """One closed subpath, to 0.01 degrees (about a kilometre), repeated points dropped."""
    out, last = [], None
    for lon, lat in points:
        point = (round(lon, 2), round(-lat, 2))
        if point != last:
            out.append("%g %g" % point)
            last = point
    return "M" + "L".join(out) + "Z" if len(out) > 2 else ""


def main(source):
    topology = json.load(open(source))
    arcs = arcs_of(topology)
    subpaths = []
    for geometry in topology["objects"]["land"]["geometries"]:
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        for polygon in polygons:
            subpaths.extend(path_of(ring(arcs, r)) for r in polygon)
    d = "".join(subpaths)
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="-180 -90 360 180" width="360" height="180">'
        "<style>path{fill:#d5dde5}"
        "@media (prefers-color-scheme:dark){path{fill:#3a424c}}</style>"
        '<title>The land of the world (Natural Earth, 1:110m)</title>'
        '<path fill-rule="evenodd" d="%s"/></svg>\n' % d
    )
    open("crates/pictor-web/assets/world.svg", "w").write(svg)
    print("world.svg: %d bytes, %d subpaths" % (len(svg), len(subpaths)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "package/land-110m.json")
