"""One exception type per room. Messages are already translated and say what to do."""

from __future__ import annotations


class DtflError(Exception):
    """An error a user can meet: ``str(err)`` is the translated message, never a traceback."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail  # technical context for logs (URL, status, file), not shown first

    def __str__(self) -> str:
        return self.message


class NetError(DtflError):
    """HTTP failed: unreachable, timeout, HTTP error status, cancelled."""

    def __init__(self, message: str, *, detail: str = "", status: int | None = None) -> None:
        super().__init__(message, detail=detail)
        self.status = status


class CatalogueError(DtflError):
    pass


class LayerError(DtflError):
    pass


class ModelError(DtflError):
    pass


class RecipeError(DtflError):
    pass


class ProvenanceError(DtflError):
    pass


class PublishError(DtflError):
    pass
