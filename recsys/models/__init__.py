"""Every model family behind one interface; importing this package registers them all."""

from recsys.models import baselines  # noqa: F401
from recsys.models import vae  # noqa: F401
from recsys.models import implicit_mf  # noqa: F401
from recsys.models import bias  # noqa: F401
from recsys.models import ease  # noqa: F401
from recsys.models import knn  # noqa: F401
from recsys.models import rp3beta  # noqa: F401
from recsys.models import surprise_models  # noqa: F401
from recsys.models import content  # noqa: F401
from recsys.models import hybrid  # noqa: F401
from recsys.models.base import Capability, Explanation, Recommender
from recsys.models.registry import available_models, create_model, get_model_class

__all__ = [
    "Capability",
    "Explanation",
    "Recommender",
    "available_models",
    "create_model",
    "get_model_class",
]
