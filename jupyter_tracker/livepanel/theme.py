"""The panel's stylesheet: theme colours, and the static image hidden where the widgets render.

It travels in a stock ``HTML`` widget (a ``<style>`` element; no JavaScript),
so it exists exactly where the panel's widgets render:

- colours come from JupyterLab's CSS variables (``--jp-ui-font-color1``...),
  with light fallbacks elsewhere, so the charts read well in Light and Dark;
- the output that follows the panel in its cell (the static image of the
  final charts, see :mod:`.snapshot`) is hidden once one of the panel's
  charts has rendered, so a live JupyterLab (or a notebook whose saved widget
  state renders) shows the panel once, while a renderer without widgets
  (nbconvert without state, GitHub, nbviewer), or one that renders the stock
  widgets but cannot load bqplot (nbconvert's HTML with widget state: bqplot's
  front end is not on the CDN it uses), shows the image.
"""

from __future__ import annotations

__all__ = ["stylesheet"]


def stylesheet(panel_class: str, root: str = "tracker-panel", extra: str = "") -> str:
    """The ``<style>`` element for the view whose root carries ``panel_class`` (and ``root``:
    the panel's class, or the compare view's); ``extra`` rules are added to it."""
    return f"""<style>
.{root} {{
  --tracker-fg: var(--jp-ui-font-color1, rgba(0, 0, 0, 0.87));
  --tracker-fg-dim: var(--jp-ui-font-color2, rgba(0, 0, 0, 0.6));
  --tracker-grid: var(--jp-border-color2, #e0e0e0);
  --tracker-axis: var(--jp-border-color1, #bdbdbd);
  --tracker-warn: var(--jp-warn-color0, #b35900);
  --tracker-bg: var(--jp-layout-color0, #ffffff);
  color: var(--tracker-fg);
  font-size: var(--jp-ui-font-size1, 13px);
}}
.{root} .bqplot.figure {{
  --bq-background: transparent;
  --bq-plotarea-background-fill: transparent;
  --bq-axis-tick-text-fill: var(--tracker-fg);
  --bq-axis-tick-text-font: 11px sans-serif;
  --bq-axislabel-fill: var(--tracker-fg-dim);
  --bq-axislabel-font: 11px sans-serif;
  --bq-mainheading-fill: var(--tracker-fg);
  --bq-mainheading-font: 600 12px sans-serif;
  --bq-mainheading-font-size: 12px;
  --bq-content-font-color: var(--tracker-fg);
  --bq-grid-color: var(--tracker-grid);
  --bq-axis-border-color: var(--tracker-axis);
  --bq-axis-path-stroke: var(--tracker-axis);
  --bq-axis-rect-stroke: var(--tracker-axis);
  --bq-axis-tick-stroke: var(--tracker-grid);
  --bq-axis-tick-short-stroke: var(--tracker-axis);
  --bq-mark-tooltip-background-color: var(--tracker-bg);
}}
.{root} .bqplot > svg .axis text.axislabel {{ text-anchor: middle; }}
.{root} .tracker-dim {{ color: var(--tracker-fg-dim); }}
.{root} .tracker-warn {{ color: var(--tracker-warn); }}
.{root} .tracker-note {{ font-size: 11px; color: var(--tracker-fg-dim); }}
.{root} .tracker-history summary {{ cursor: pointer; }}
.{root} .tracker-history ul {{ margin: 2px 0 4px 0; padding-left: 18px; font-size: 11px; }}
.{root} .tracker-summary table {{ border-collapse: collapse; font-size: 12px; }}
.{root} .tracker-summary td, .{root} .tracker-summary th {{ padding: 1px 10px 1px 0; text-align: right; }}
.{root} .tracker-summary td:first-child, .{root} .tracker-summary th:first-child {{ text-align: left; }}
.{root} .tracker-table-cells {{ border-collapse: collapse; font-size: 12px; }}
.{root} .tracker-table-cells td, .{root} .tracker-table-cells th {{
  padding: 1px 10px 1px 0; text-align: left; border-bottom: 1px solid var(--tracker-grid); }}
.{root} .tracker-media, .{root} .tracker-table {{ margin: 4px 0 8px 0; }}
.{root} .tracker-media-image {{ max-width: none; image-rendering: pixelated; }}
.{root} .jupyter-widget-Collapse-contents {{ padding: 2px 6px 6px 6px; }}
.{root} .jupyter-widget-Collapse-header {{ padding: 4px 8px; }}
.jp-OutputArea-child:has(.{panel_class} .bqplot.figure) + .jp-OutputArea-child,
.output_area:has(.{panel_class} .bqplot.figure) + .output_area {{ display: none; }}
{extra}
</style>"""
