"""Processing algorithms of the publish room, one per file; the provider reads ALGORITHMS."""


def _algorithms() -> list:
    from .publish_web import PublishWebAlgorithm

    return [PublishWebAlgorithm]


def __getattr__(name: str):
    if name == "ALGORITHMS":
        return _algorithms()
    raise AttributeError(name)
