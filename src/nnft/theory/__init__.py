"""Theory modules: mean-field kernels at large width, lattice models, 1/N corrections, replica theory.

Submodules are imported explicitly (``from nnft.theory import replica``); nothing heavy is imported here.
"""
