r"""Weight-space sampler: the reference. Draw every W, b explicitly and run the network.

.. math::
   z^1 = W^1 x + b^1,\qquad z^l = W^l\phi_l(z^{l-1}) + b^l,\qquad
   W^l_{ij}\sim\mathcal N(0, \sigma_{w,l}^2/n_{l-1}),\ b^l_i\sim\mathcal N(0,\sigma_{b,l}^2)

(lattice paper eq. 6–8 with J_D = 0; ``docs/conventions.md``). Feed-forward networks draw layer l's
(W^l, b^l) from ``fold_in(key_j, l)``; a *recurrent* network draws one (W, b) from ``fold_in(key_j, 1)``
and applies it at every step (so it needs width = input_dim). Any widths, per-layer activations and
variances, one input or M inputs (z has shape (N_l, M)).

Cost per layer and network: O(N_l · N_{l-1}) Gaussian draws plus an O(N_l · N_{l-1} · M) product — the
draws dominate, which is why :mod:`~nnft.sampling.lattice` is ~N/2 times faster for one input.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..spec import NetworkSpec
from ._plan import Plan, layer_key, propagate

Array = jnp.ndarray

__all__ = ["layer_weights", "network_weights", "weights_network_fn"]


def layer_weights(key: Array, width: int, fan_in: int, sw2, sb2, dtype) -> tuple[Array, Array]:
    """(W, b) of one layer: W (width, fan_in) ~ N(0, σw²/fan_in), b (width,) ~ N(0, σb²), from one normal draw."""
    g = jax.random.normal(key, (width, fan_in + 1), dtype)  # one draw: [W | b], standardised
    w = jnp.sqrt(sw2 / fan_in).astype(dtype) * g[:, :fan_in]
    b = jnp.sqrt(sb2).astype(dtype) * g[:, fan_in]
    return w, b


def network_weights(network: NetworkSpec, net_key: Array, *, dtype="float32") -> list[tuple[Array, Array]]:
    """The (W^l, b^l), l = 1..L, that the weight-space sampler uses for the network with key ``net_key``.

    For a recurrent network every entry is the same (W, b). Meant for tests and inspection.
    """
    dt = jnp.dtype(dtype)
    widths, sw, sb = network.widths, network.sw2s, network.sb2s
    if network.architecture == "recurrent":
        wb = layer_weights(layer_key(net_key, 1), widths[0], network.input_dim, jnp.asarray(sw[0], dt), jnp.asarray(sb[0], dt), dt)
        return [wb] * network.depth
    fan_ins = (network.input_dim,) + widths[:-1]
    return [
        layer_weights(layer_key(net_key, l + 1), widths[l], fan_ins[l], jnp.asarray(sw[l], dt), jnp.asarray(sb[l], dt), dt)
        for l in range(network.depth)
    ]


def weights_network_fn(plan: Plan):
    """f(net_key, x (M, d), sw (L,), sb (L,), qs (L, M), aux) -> records of one network (aux unused)."""
    dt = plan.jdtype

    def f(net_key, x, sw, sb, qs, aux=None):
        if plan.recurrent:
            w, b = layer_weights(layer_key(net_key, 1), plan.widths[0], plan.input_dim, sw[0], sb[0], dt)

            def layer_fn(phi, fan_in, width, sw_l, sb_l, key):
                return w @ phi + b[:, None]

        else:

            def layer_fn(phi, fan_in, width, sw_l, sb_l, key):
                w, b = layer_weights(key, width, fan_in, sw_l, sb_l, dt)
                return w @ phi + b[:, None]

        return propagate(plan, net_key, x, sw, sb, qs, layer_fn)

    return f
