"""Processing algorithms of this room, one per file; the provider reads ALGORITHMS."""

from .bathtub_flooding import BathtubFloodingAlgorithm
from .remote_execute import RemoteExecuteAlgorithm
from .remote_refresh import RemoteRefreshAlgorithm
from .remote_server import RemoteServerAlgorithm

ALGORITHMS: list = [BathtubFloodingAlgorithm, RemoteExecuteAlgorithm, RemoteRefreshAlgorithm, RemoteServerAlgorithm]
