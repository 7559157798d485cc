"""GUI feature: the 'Open 3D view of this area' action. Thin: logic lives in the room's core modules."""

from __future__ import annotations


class View3DFeature:
    def __init__(self, iface, plugin) -> None:
        self.iface = iface
        self.plugin = plugin

    def init_gui(self) -> None:
        pass

    def unload(self) -> None:
        pass
