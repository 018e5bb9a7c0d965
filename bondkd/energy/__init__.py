"""Energy: how strongly a later step leans on an earlier one, per pair, in [0, 1].

`models` loads the causal LM and the embedder once per process, `engine` and `kernels`
read step attention in one bounded-memory forward, `attention`, `semantic` and
`coherence` are the three components, `pairs` picks the pairs and `combine` weighs them.

May import: base, steps, quantities.
"""
