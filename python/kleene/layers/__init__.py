"""Drop-in PyTorch modules built on :mod:`kleene.triton_kernels`.

Importing this package imports torch; ``import kleene`` does not.
"""

from .mamba import Mamba, MambaCache  # noqa: F401
