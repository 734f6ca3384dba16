"""The live panel (imports ipywidgets and bqplot: load it only when a panel is shown)."""

from .panel import Panel

__all__ = ["Panel"]
