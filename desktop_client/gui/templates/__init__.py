"""Template manager UI on top of ``desktop_client.templates``."""

from desktop_client.gui.templates.manager import TemplateManager, TemplateManagerDialog, template_summary
from desktop_client.gui.templates.preview import TemplatePreview, layout_pixmap

__all__ = ["TemplateManager", "TemplateManagerDialog", "TemplatePreview", "layout_pixmap", "template_summary"]
