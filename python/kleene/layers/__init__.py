"""Drop-in PyTorch modules built on :mod:`kleene.triton_kernels`.

Importing this package imports torch; ``import kleene`` does not.
"""

from .gated import GatedLinearRNN
from .lru import LRU
from .mamba import Mamba, MambaCache
from .rglru import RGLRU

__all__ = ["GatedLinearRNN", "LRU", "Mamba", "MambaCache", "RGLRU"]
