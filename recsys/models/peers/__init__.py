"""Peer adapters: cornac, LensKit, implicit, Spark and Surprise models behind our interface.

Registered as ``peer:<library>.<model>``; the registry imports an adapter's module when its
model is first created (:data:`recsys.models.registry.MODULES`), and no adapter imports an
optional library before it fits (each says which extra to install when it is missing).
"""

from recsys.models.peers.base import (
    EXTRA_INSTALL,
    PEER_PREFIX,
    PeerRecommender,
    describe_peers,
    is_peer,
)

__all__ = ["EXTRA_INSTALL", "PEER_PREFIX", "PeerRecommender", "describe_peers", "is_peer"]
