"""Peer adapters: cornac, LensKit, implicit and Surprise models behind our interface.

Registered as ``peer:<library>.<model>``; importing this package registers them all without
importing the optional libraries (each adapter imports its library when it fits, and says
which extra to install when it is missing).
"""

from recsys.models.peers import (
    cornac_adapters,  # noqa: F401
    implicit_adapters,  # noqa: F401
    lenskit_adapters,  # noqa: F401
    spark_adapters,  # noqa: F401
    surprise_adapters,  # noqa: F401
)
from recsys.models.peers.base import (
    EXTRA_INSTALL,
    PEER_PREFIX,
    PeerRecommender,
    describe_peers,
    is_peer,
)

__all__ = ["EXTRA_INSTALL", "PEER_PREFIX", "PeerRecommender", "describe_peers", "is_peer"]
