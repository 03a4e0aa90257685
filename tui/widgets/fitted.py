"""A widget whose text is laid out for its width (bars, columns, what fits on a line).

Textual measures a widget's height by rendering it before the widget learns its new width, so a
text built for ``content_size.width`` is measured at the old width after a resize, and the panel
keeps a stale height (a blank row, or a scrollbar) until something redraws it. A ``FittedText``
builds its text for the width it is measured at."""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget


class FittedText(Widget):
    """Subclasses write :meth:`text`; ``fallback_width`` serves before the first layout."""

    DEFAULT_CSS = "FittedText { height: auto; }"
    fallback_width = 80

    def text(self, width: int) -> Text:
        raise NotImplementedError

    def render(self) -> RenderableType:
        return self.text(self.content_size.width or self.fallback_width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if not width:
            return 0
        return len(self.text(width).wrap(self.app.console, width))
