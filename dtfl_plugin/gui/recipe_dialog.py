"""GUI feature: the recipe package / verify / open dialogs. Thin: logic lives in the room's core modules."""

from __future__ import annotations


class RecipeFeature:
    def __init__(self, iface, plugin) -> None:
        self.iface = iface
        self.plugin = plugin

    def init_gui(self) -> None:
        pass

    def unload(self) -> None:
        pass
