"""nnft — statistical field theory of random neural networks.

Theory (mean field, NNGP kernels, lattice models, 1/N corrections, replica theory) and exact
simulation of random-network ensembles, with one-command reproductions of the field's papers.

Importing nnft enables JAX 64-bit mode (``jax_enable_x64``): the theory needs double precision
(fixed points to 1e-8, critical lines to 1e-5). Samplers choose their dtype explicitly
(float32 by default) so simulations stay fast; see ``docs/conventions.md``.
"""

from __future__ import annotations

import jax as _jax

_jax.config.update("jax_enable_x64", True)

from .activations import ACTIVATION_NAMES, Activation, get_activation  # noqa: E402
from .errors import NNFTInputError  # noqa: E402

__version__ = "0.1.0"

__all__ = ["Activation", "ACTIVATION_NAMES", "NNFTInputError", "get_activation", "__version__"]
